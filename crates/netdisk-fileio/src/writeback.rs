//! Starting the disk writes of a file while it is still being written.
//!
//! A transfer ends with an fsync. Left alone, the kernel keeps the whole
//! file dirty in the page cache (up to 10% of memory) and that fsync then
//! writes all of it while the peer waits. Starting the writeback of each
//! finished window as we go overlaps the disk with the network. We do not
//! wait for it (measured: waiting throttles the transfer to the disk's
//! worst moments and costs more than it saves). The durability point is
//! still the caller's fsync; this only moves the work earlier.
//!
//! With [`PageCache::DropBehind`] the windows two behind the one just
//! submitted are also dropped from the page cache (their writeback has had
//! a window's time to finish; pages still dirty or under writeback are
//! skipped by the kernel, never lost). A download then holds a few windows
//! of cache instead of the whole file, and its writes land in pages just
//! freed. That matters on virtual machines, where memory the guest has not
//! touched lately is backed by the host only on first write: measured
//! here, writing a file into such memory ran at 0.6-0.8 GB/s against
//! 2-4 GB/s into recycled pages (see docs/PERFORMANCE.md).
//! Linux only (`sync_file_range`, `posix_fadvise`); elsewhere a no-op.

use std::fs::File;

/// Bytes per writeback window.
const WINDOW: u64 = 8 * 1024 * 1024;

/// What a written file's pages should do once they are on their way to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageCache {
    /// Keep them cached: the server, whose files are read back soon
    /// (a download after an upload reads from memory).
    Keep,
    /// Drop them from the cache behind the writeback: a client's download,
    /// which would otherwise fill memory with a file nobody reads yet.
    DropBehind,
}

pub(crate) struct Writeback {
    cache: PageCache,
    /// File offset where the current, not yet submitted window starts.
    window_start: u64,
    /// Bytes written in the current window.
    pending: u64,
}

impl Writeback {
    pub(crate) fn new(file: &File, cache: PageCache) -> Writeback {
        use std::io::Seek;
        let mut handle = file;
        Writeback {
            cache,
            window_start: handle.stream_position().unwrap_or(0),
            pending: 0,
        }
    }

    /// Records `len` more bytes written at the file's position.
    pub(crate) fn wrote(&mut self, file: &File, len: u64) {
        self.pending += len;
        if self.pending < WINDOW {
            return;
        }
        let (start, len) = (self.window_start, self.pending);
        self.window_start += len;
        self.pending = 0;
        submit(file, start, len);
        if self.cache == PageCache::DropBehind {
            if let Some(behind) = start.checked_sub(2 * WINDOW) {
                drop_cached(file, behind, WINDOW);
            }
        }
    }
}

/// Starts the disk writes of everything written to `file` so far, without
/// waiting for them: a batch of files made durable together (one
/// `syncfs`) then finds most of its bytes already on their way, written
/// while the next files were. The durability point is still the caller's.
pub fn start_writeback(file: &File) {
    submit(file, 0, 0);
}

/// The descriptor and byte range for a Linux call on part of `file`, or
/// `None` for a range the kernel's types cannot hold (then the call is
/// skipped: both calls below only move work or memory, never data).
#[cfg(target_os = "linux")]
fn raw_range(
    file: &File,
    start: u64,
    len: u64,
) -> Option<(std::os::fd::RawFd, libc::off64_t, libc::off64_t)> {
    use std::os::fd::AsRawFd;
    let offset = libc::off64_t::try_from(start).ok()?;
    let len = libc::off64_t::try_from(len).ok()?;
    Some((file.as_raw_fd(), offset, len))
}

#[cfg(target_os = "linux")]
fn submit(file: &File, start: u64, len: u64) {
    let Some((fd, offset, nbytes)) = raw_range(file, start, len) else {
        return;
    };
    // SAFETY: sync_file_range only reads its integer arguments; `fd` is a
    // descriptor `file` keeps open for the duration of the call. Its result
    // is ignored: the caller's fsync is what makes the file durable, and
    // that reports any write error.
    unsafe {
        libc::sync_file_range(fd, offset, nbytes, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(target_os = "linux")]
fn drop_cached(file: &File, start: u64, len: u64) {
    let Some((fd, offset, len)) = raw_range(file, start, len) else {
        return;
    };
    // SAFETY: posix_fadvise only reads its integer arguments; `fd` is open
    // for the call. It is advice: the kernel evicts only clean pages, and a
    // failure changes nothing but how much stays cached.
    unsafe {
        libc::posix_fadvise(fd, offset, len, libc::POSIX_FADV_DONTNEED);
    }
}

#[cfg(not(target_os = "linux"))]
fn submit(_file: &File, _start: u64, _len: u64) {}

#[cfg(not(target_os = "linux"))]
fn drop_cached(_file: &File, _start: u64, _len: u64) {}

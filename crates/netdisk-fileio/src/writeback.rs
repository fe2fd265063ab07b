//! Starting the disk writes of a file while it is still being written.
//!
//! A transfer ends with an fsync. Left alone, the kernel keeps the whole
//! file dirty in the page cache (up to 10% of memory) and that fsync then
//! writes all of it while the peer waits. Starting the writeback of each
//! finished window as we go overlaps the disk with the network. We do not
//! wait for it (measured: waiting throttles the transfer to the disk's
//! worst moments and costs more than it saves). The durability point is
//! still the caller's fsync; this only moves the work earlier.
//! Linux only (`sync_file_range`); elsewhere a no-op.

use std::fs::File;

/// Bytes per writeback window.
const WINDOW: u64 = 8 * 1024 * 1024;

pub(crate) struct Writeback {
    /// File offset where the current, not yet submitted window starts.
    window_start: u64,
    /// Bytes written in the current window.
    pending: u64,
}

impl Writeback {
    pub(crate) fn new(file: &File) -> Writeback {
        use std::io::Seek;
        let mut handle = file;
        Writeback {
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
    }
}

#[cfg(target_os = "linux")]
fn submit(file: &File, start: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let (Ok(offset), Ok(nbytes)) = (libc::off64_t::try_from(start), libc::off64_t::try_from(len))
    else {
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

#[cfg(not(target_os = "linux"))]
fn submit(_file: &File, _start: u64, _len: u64) {}

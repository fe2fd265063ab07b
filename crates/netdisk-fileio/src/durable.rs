//! Durability for many files at once.

use std::io;
use std::os::fd::AsFd;

/// Writes back everything dirty on the file system that holds `fd` and
/// waits for it (`syncfs`): one call makes a whole batch of new files
/// durable, where an fsync per file would force a journal commit each.
/// Since Linux 5.8 it reports write-back errors of that file system.
/// Elsewhere it is `Unsupported`; callers then fsync file by file.
#[cfg(target_os = "linux")]
pub fn sync_filesystem(fd: impl AsFd) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: syncfs takes a descriptor, which `fd` keeps open for the call.
    if unsafe { libc::syncfs(fd.as_fd().as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
pub fn sync_filesystem(_fd: impl AsFd) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// True where [`sync_filesystem`] works.
pub const SYNCS_FILESYSTEMS: bool = cfg!(target_os = "linux");

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn syncs_through_a_readable_handle_and_reports_an_unusable_one() {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let handle = std::fs::File::open(dir.path()).expect("open dir");
        sync_filesystem(&handle).expect("syncfs");
        // An O_PATH handle (what cap-std's open_dir gives) is refused:
        // callers must open a readable one.
        let path_only = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open(dir.path())
            .expect("O_PATH open");
        let err = sync_filesystem(&path_only).expect_err("EBADF");
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    }
}

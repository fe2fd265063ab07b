//! A file's or directory's dead properties (WebDAV PROPPATCH), kept as
//! the engine encoded them in one extended attribute of the inode
//! (`user.netdisk.props`), like the hash record: renamed with the file,
//! removed with it, and made durable by an fsync of the inode. A symlink
//! or special file has none (it is never opened).

use super::home::{io_err, LocalHome};
use crate::error::{ErrorKind, StoreError};
use cap_std::fs::OpenOptionsExt;
use netdisk_proto::HomePath;
use xattr::FileExt;

const NAME: &str = "user.netdisk.props";

impl LocalHome {
    /// Opens the file or directory itself (never through a final
    /// symlink, never blocking on a FIFO) to read or write its record
    /// or its time.
    pub(super) fn open_for_record(&self, path: &HomePath) -> Result<std::fs::File, StoreError> {
        let meta = self
            .dir
            .symlink_metadata(path.relative())
            .map_err(io_err(path))?;
        let kind_flag = if meta.is_dir() {
            libc::O_DIRECTORY
        } else if meta.is_file() {
            0
        } else {
            return Err(StoreError::new(
                ErrorKind::Invalid,
                format!("{path}: properties only on files and directories"),
            ));
        };
        let file = self
            .dir
            .open_with(
                path.relative(),
                cap_std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | kind_flag),
            )
            .map_err(io_err(path))?;
        Ok(file.into_std())
    }

    pub(crate) fn properties(&self, path: &HomePath) -> Result<Option<Vec<u8>>, StoreError> {
        let file = self.open_for_record(path)?;
        match file.get_xattr(NAME) {
            Ok(value) => Ok(value),
            // No user extended attributes here: nothing was ever recorded.
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => Ok(None),
            Err(e) => Err(StoreError::from_io(&e, &path.to_string())),
        }
    }

    pub(crate) fn set_properties(
        &self,
        path: &HomePath,
        encoded: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let file = self.open_for_record(path)?;
        let written = match encoded {
            Some(value) => file.set_xattr(NAME, value),
            None => match file.remove_xattr(NAME) {
                Err(e) if e.raw_os_error() == Some(libc::ENODATA) => Ok(()),
                other => other,
            },
        };
        written.map_err(|e| match e.raw_os_error() {
            Some(libc::ENOTSUP) => StoreError::new(
                ErrorKind::Invalid,
                format!("{path}: this server's file system keeps no properties"),
            ),
            // Over what the file system keeps per inode.
            Some(libc::ENOSPC) | Some(libc::E2BIG) | Some(libc::ERANGE) => StoreError::new(
                ErrorKind::DiskFull,
                format!("{path}: no room for more properties"),
            ),
            _ => StoreError::from_io(&e, &path.to_string()),
        })?;
        file.sync_all().map_err(io_err(path))
    }
}

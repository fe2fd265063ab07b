//! What a transfer keeps besides the bytes: the modification time always,
//! the permission bits when asked (`Client::set_preserve_mode`).

use netdisk_proto::request::MODE_MASK;
use netdisk_proto::time::{from_epoch_secs, to_epoch_secs};
use std::os::unix::fs::PermissionsExt;

/// A file's time and (when kept) mode, as the protocol carries them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Attributes {
    pub(crate) modified: Option<i64>,
    pub(crate) mode: Option<u32>,
}

impl Attributes {
    /// Those of a local file, for an upload.
    pub(crate) fn of_local(meta: &std::fs::Metadata, preserve_mode: bool) -> Attributes {
        Attributes {
            modified: meta.modified().ok().and_then(to_epoch_secs),
            mode: preserve_mode.then(|| meta.permissions().mode() & MODE_MASK),
        }
    }

    /// Those the server sent with a download; its mode only if kept.
    pub(crate) fn from_server(
        modified: Option<i64>,
        mode: Option<u32>,
        preserve_mode: bool,
    ) -> Attributes {
        Attributes {
            modified,
            mode: mode.filter(|_| preserve_mode),
        }
    }

    /// Gives them to a downloaded file, after its last write (which would
    /// move the time) and before it is synced.
    pub(crate) fn apply(&self, file: &std::fs::File) -> std::io::Result<()> {
        if let Some(time) = self.modified.and_then(from_epoch_secs) {
            file.set_modified(time)?;
        }
        if let Some(mode) = self.mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode & MODE_MASK))?;
        }
        Ok(())
    }
}

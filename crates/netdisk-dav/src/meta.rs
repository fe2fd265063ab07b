//! What dav-server is told of a file or directory: the store's entry,
//! and for a file the BLAKE3 recorded at its commit, whose first 128
//! bits are its ETag (else, for a file changed behind the server's back,
//! size and time). Not all 256: clients keep `If:` headers, which carry
//! the ETag twice beside a lock token, in 200-byte buffers (litmus and
//! its neon library cut longer ones, which then fail to parse).

use dav_server::fs::{DavMetaData, FsError, FsResult};
use netdisk_proto::{Entry, EntryKind};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 128 bits of the BLAKE3, in hex.
const ETAG_HEX_DIGITS: usize = 32;

#[derive(Debug, Clone)]
pub(crate) struct EntryMeta {
    pub(crate) entry: Entry,
    pub(crate) blake3: Option<String>,
}

impl EntryMeta {
    pub(crate) fn new(entry: Entry, blake3: Option<String>) -> EntryMeta {
        EntryMeta { entry, blake3 }
    }
}

impl DavMetaData for EntryMeta {
    fn len(&self) -> u64 {
        self.entry.size
    }

    fn modified(&self) -> FsResult<SystemTime> {
        let seconds = self.entry.modified.ok_or(FsError::NotImplemented)?;
        let seconds = u64::try_from(seconds).map_err(|_| FsError::NotImplemented)?;
        Ok(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    fn is_dir(&self) -> bool {
        self.entry.kind == EntryKind::Dir
    }

    fn is_file(&self) -> bool {
        self.entry.kind == EntryKind::File
    }

    fn is_symlink(&self) -> bool {
        self.entry.kind == EntryKind::Symlink
    }

    fn etag(&self) -> Option<String> {
        if let Some(hash) = &self.blake3 {
            return Some(hash.chars().take(ETAG_HEX_DIGITS).collect());
        }
        let modified = self.entry.modified?;
        Some(match self.entry.kind {
            EntryKind::File => format!("{:x}-{:x}", self.entry.size, modified),
            _ => format!("{modified:x}"),
        })
    }

    fn executable(&self) -> FsResult<bool> {
        let mode = self.entry.mode.ok_or(FsError::NotImplemented)?;
        Ok(mode & 0o100 != 0)
    }
}

//! One directory entry, as `ls` and `stat` report it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// Sockets, FIFOs, devices: listed but never transferred.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The last path component (for `stat`, the name of the path asked about).
    pub name: String,
    pub kind: EntryKind,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Last modification, seconds since the Unix epoch (UTC); absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    /// Permission bits (`0o644` is 420), for a file or directory; absent
    /// when unknown. What `put -p` sent, or what the server's file has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

impl Entry {
    /// An entry from what a file system says of a file, with the
    /// protocol's rules: a directory's size is 0, only files and
    /// directories have a mode (its permission bits), times in seconds.
    pub fn describe(
        name: String,
        kind: EntryKind,
        len: u64,
        modified: Option<std::time::SystemTime>,
        mode: u32,
    ) -> Entry {
        let has_mode = matches!(kind, EntryKind::File | EntryKind::Dir);
        Entry {
            name,
            kind,
            size: if kind == EntryKind::Dir { 0 } else { len },
            modified: modified.and_then(crate::time::to_epoch_secs),
            mode: has_mode.then_some(mode & crate::request::MODE_MASK),
        }
    }
}

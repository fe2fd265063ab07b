//! Requests a logged-in client sends. Each carries an `id` that the
//! response echoes. Paths follow the rules in [`crate::path`].

use serde::{Deserialize, Serialize};

/// Print the session's current directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pwd {
    pub id: u64,
}

/// Change the session's current directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cd {
    pub id: u64,
    pub path: String,
}

/// List a directory (the current one when `path` is absent), sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ls {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Describe one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub id: u64,
    pub path: String,
}

/// Create a directory; with `parents`, also missing parents and no error if it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mkdir {
    pub id: u64,
    pub path: String,
    #[serde(default)]
    pub parents: bool,
}

/// Remove a file (or a symlink). Directories are refused with `is_a_directory`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rm {
    pub id: u64,
    pub path: String,
}

/// Remove an empty directory (`not_empty` otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rmdir {
    pub id: u64,
    pub path: String,
}

/// Rename or move within the home. An existing file at `to` is replaced;
/// when `to` is an existing directory the source moves inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mv {
    pub id: u64,
    pub from: String,
    pub to: String,
}

/// Report disk usage of the home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Df {
    pub id: u64,
}

/// Start an upload of `size` bytes to `path` (a file path, not a directory).
/// The server answers `put_ready` or `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Put {
    pub id: u64,
    pub path: String,
    pub size: u64,
}

/// The upload's bytes: exactly `size` raw bytes follow this header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutData {
    pub id: u64,
    pub size: u64,
}

/// End of an upload: the BLAKE3 hash (64 lowercase hex digits) of the whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutEnd {
    pub id: u64,
    pub blake3: String,
}

/// Download a file. The server answers `get_data` (with the bytes) then `get_end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Get {
    pub id: u64,
    pub path: String,
}

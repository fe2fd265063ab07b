//! Requests a logged-in client sends. Each carries an `id` that the
//! response echoes. Paths follow the rules in [`crate::path`].

use serde::{Deserialize, Serialize};

/// Print the session's current directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pwd {
    pub id: u64,
}

/// Change the session's current directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cd {
    pub id: u64,
    pub path: String,
}

/// List a directory (the current one when `path` is absent), sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ls {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Describe one path. With `blake3`, the answer also carries a file's
/// BLAKE3 hash (the server may have to read the whole file for it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub id: u64,
    pub path: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blake3: bool,
}

/// Create a directory; with `parents`, also missing parents and no error if it exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mkdir {
    pub id: u64,
    pub path: String,
    #[serde(default)]
    pub parents: bool,
}

/// Remove a file (or a symlink). Directories are refused with
/// `is_a_directory`, unless `recursive`: then the directory and everything
/// in it go (symlinks inside are removed, never followed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rm {
    pub id: u64,
    pub path: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recursive: bool,
}

/// Remove an empty directory (`not_empty` otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rmdir {
    pub id: u64,
    pub path: String,
}

/// Rename or move within the home. An existing file at `to` is replaced;
/// when `to` is an existing directory the source moves inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mv {
    pub id: u64,
    pub from: String,
    pub to: String,
}

/// List the user's kept partial uploads (interrupted resumable `put`s):
/// answered by `partial_list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partials {
    pub id: u64,
}

/// Discard the kept partial upload to `path` (the target the interrupted
/// `put` named) and free its bytes. `not_found` if there is none, `busy`
/// if an upload is writing it now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialRm {
    pub id: u64,
    pub path: String,
}

/// Make a share link to a file or folder (answered by `share`): anyone
/// with its token reaches that file or folder over the HTTP gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareAdd {
    pub id: u64,
    pub path: String,
    /// Visitors must give this password first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Seconds from now until the link ends; absent: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Downloads the link allows; absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_downloads: Option<u64>,
    /// A folder only: visitors may add files, not see any.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub upload_only: bool,
}

/// List the user's share links (answered by `share_list`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shares {
    pub id: u64,
}

/// Revoke share link `share` (its id): it answers "not found" from then on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRm {
    pub id: u64,
    pub share: i64,
}

/// Make a personal API token for the HTTP API (answered by `token`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAdd {
    pub id: u64,
    /// What it is for ("ci"): 1 to 100 printable characters.
    pub name: String,
    /// Seconds from now until it expires; absent: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// List the user's API tokens (answered by `token_list`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub id: u64,
}

/// Revoke API token `token` (its id; a login's token ends its whole login).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRm {
    pub id: u64,
    pub token: i64,
}

/// List the user's trash (answered by `trash_list`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trash {
    pub id: u64,
}

/// Put a trash item back (answered by `restored`): the one named `item`,
/// or else the newest deleted from `path`. It goes where it was, or to
/// `to`, never over anything (`exists`); missing parents are made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrashRestore {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// Delete trash items for good (answered by `purged`): the ones in
/// `items`, or those deleted more than `older_than` seconds ago, or
/// (`all`) every one. Exactly one of the three.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrashPurge {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

/// List a file's old versions, newest first (answered by `version_list`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    pub id: u64,
    pub path: String,
}

/// Make old version `version` of `path` the file again (answered by
/// `restored`); what it replaces becomes the newest old version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRestore {
    pub id: u64,
    pub path: String,
    pub version: String,
}

/// Delete old versions of `path` for good (answered by `purged`): one
/// (`version`), or all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionsPurge {
    pub id: u64,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Report disk usage of the home.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Df {
    pub id: u64,
}

/// Start an upload of `size` bytes to `path` (a file path, not a directory).
/// The server answers `put_ready` or `error`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Put {
    pub id: u64,
    pub path: String,
    pub size: u64,
    /// The source file's modification time (seconds since the epoch):
    /// the stored file gets it, and with `size` it identifies the version
    /// a kept partial upload belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    /// Permission bits for the stored file (see [`MODE_MASK`]); absent:
    /// the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Keep the bytes of an interrupted upload, and continue a kept one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
}

/// The upload's bytes: exactly `size` raw bytes follow this header. They
/// belong at `offset` in the file: either the `offset` of `put_ready`
/// (continue) or 0 (start over); `offset + size` is the `put`'s size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutData {
    pub id: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
    pub size: u64,
}

pub(crate) fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// End of an upload: the BLAKE3 hash (64 lowercase hex digits) of the whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutEnd {
    pub id: u64,
    pub blake3: String,
}

/// Upload a whole small file in one frame: exactly `size` raw bytes follow
/// this header, and `blake3` is their hash. The server answers `put_done`
/// or `error` (after reading the body either way). Not resumable; at most
/// [`PUT_SMALL_MAX`] bytes. A client may send many of these without waiting
/// for the answers: the server commits them in batches (one durability
/// step for many files) and answers each, in order, once it is durable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutSmall {
    pub id: u64,
    pub path: String,
    pub size: u64,
    pub blake3: String,
    /// As in [`Put`]: the stored file's modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    /// As in [`Put`]: the stored file's permission bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

/// The permission bits an upload may set: read, write and execute for
/// owner, group and others (no set-id or sticky bits). The server always
/// keeps the owner's read bit, so it can serve the file back.
pub const MODE_MASK: u32 = 0o777;

/// The largest body a `put_small` may carry (1 MiB); larger files use `put`.
pub const PUT_SMALL_MAX: u64 = 1024 * 1024;

/// Download a file. The server answers `get_data` (with the bytes) then `get_end`.
///
/// To continue an interrupted download, the client sends how many bytes
/// it kept (`offset`), their BLAKE3 (`prefix_blake3`), and the `size` and
/// `modified` the file had when those bytes came (from the first `get_data`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Get {
    pub id: u64,
    pub path: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_blake3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
}

//! Responses the server sends. Each echoes the `id` of its request.

use crate::entry::Entry;
use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

/// The request succeeded and has nothing to report (`mkdir`, `rm`, `rmdir`, `mv`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub id: u64,
}

/// The session's current directory, after `pwd` or `cd`: "~" or "~/a/b".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cwd {
    pub id: u64,
    pub path: String,
}

/// A directory's entries, sorted by name (byte order). A large directory
/// comes as several `listing` frames for the same request, each within
/// the header limit; all but the last have `more` set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub id: u64,
    /// The directory listed, in "~/a/b" form.
    pub path: String,
    pub entries: Vec<Entry>,
    /// More `listing` frames for this request follow.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
}

/// The answer to `stat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    pub id: u64,
    /// The path asked about, in "~/a/b" form.
    pub path: String,
    pub entry: Entry,
    /// The file's BLAKE3 (64 lowercase hex digits), when `stat.blake3`
    /// asked for it and the path is a regular file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
}

/// The answer to `df`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub id: u64,
    /// Bytes stored: files in the home plus kept partial uploads.
    pub used: u64,
    /// Bytes promised to uploads in progress (announced, not yet received).
    #[serde(default)]
    pub reserved: u64,
    /// Of `used`, the bytes of kept partial uploads (interrupted resumable
    /// ones, waiting to be continued or to expire).
    #[serde(default)]
    pub partials: u64,
    /// The user's quota in bytes; absent means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<u64>,
    /// Of `used`, the bytes of what is in the trash.
    #[serde(default)]
    pub trash: u64,
    /// Of `used`, the bytes of old versions of files.
    #[serde(default)]
    pub versions: u64,
}

/// A deleted file, symlink or whole tree, kept in the user's trash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrashItem {
    /// Names it in `trash_restore` and `trash_purge`.
    pub id: String,
    /// Where it was, in "~/a/b" form.
    pub path: String,
    pub kind: crate::EntryKind,
    /// Bytes (of all its files, for a tree); they count toward the quota.
    pub size: u64,
    /// When it was deleted, seconds since the epoch.
    pub deleted: i64,
}

/// An old version of a file: what it was before an upload or a move
/// replaced it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVersion {
    /// Names it in `version_restore` and `versions_purge`.
    pub id: String,
    pub size: u64,
    /// When it was replaced (stopped being the file), seconds since the epoch.
    pub replaced: i64,
    /// Its own modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    /// Its BLAKE3, when the store had recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
}

/// The answer to `trash`: its items, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrashList {
    pub id: u64,
    pub items: Vec<TrashItem>,
}

/// The answer to `versions`: the file's old versions, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionList {
    pub id: u64,
    /// The file, in "~/a/b" form.
    pub path: String,
    pub versions: Vec<FileVersion>,
}

/// The answer to `trash_restore` and `version_restore`: where it is now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    pub id: u64,
    /// In "~/a/b" form.
    pub path: String,
}

/// The answer to `trash_purge` and `versions_purge`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    pub id: u64,
    /// How many items or versions were deleted.
    pub items: u64,
    /// Their bytes, which no longer count toward the quota.
    pub bytes: u64,
}

/// One share link, as its owner sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareLink {
    /// Its id, for `share_rm`.
    pub share: i64,
    /// The secret that opens it: the page is `/s/TOKEN` on the HTTP gateway.
    pub token: String,
    /// What it shares, in "~/a/b" form.
    pub path: String,
    /// "file" or "dir".
    pub kind: String,
    pub has_password: bool,
    pub upload_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_downloads: Option<u64>,
    pub downloads: u64,
    /// Seconds since the epoch.
    pub created: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
}

/// The answer to `share_add`: the new link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareMade {
    pub id: u64,
    pub link: ShareLink,
    /// The port of this server's HTTP gateway, which serves the link's
    /// page; absent when it runs none (the link works once one runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_port: Option<u16>,
}

/// The answer to `shares`: the user's links, newest first, ended ones too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareList {
    pub id: u64,
    pub shares: Vec<ShareLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_port: Option<u16>,
}

/// One API token, as listed: never its secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Its id, for `token_rm`.
    pub token: i64,
    pub name: String,
    /// "session" (a login's) or "personal".
    pub kind: String,
    pub created: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
}

/// The answer to `token_add`: the token's secret, shown this once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenMade {
    pub id: u64,
    /// Its id, for `token_rm`.
    pub token: i64,
    /// The bearer token ("ndt_..."): the server keeps only its hash.
    pub secret: String,
}

/// The answer to `tokens`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenList {
    pub id: u64,
    pub tokens: Vec<TokenInfo>,
}

/// The answer to `partials`: every kept partial upload of the user,
/// sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialList {
    pub id: u64,
    pub partials: Vec<PartialUpload>,
}

/// One kept partial upload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialUpload {
    /// The upload's target, in "~/a/b" form.
    pub path: String,
    /// The whole file's size, as the interrupted `put` announced it.
    pub size: u64,
    /// Bytes kept so far (they count toward the quota).
    pub kept: u64,
    /// The source's modification time the `put` announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    /// When the server will discard it unless it is continued (seconds
    /// since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// An upload is writing it right now.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub active: bool,
}

/// The server accepts an upload; send `put_data` with the bytes from `offset` on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutReady {
    pub id: u64,
    /// Bytes the server kept from an earlier, interrupted upload of this
    /// version of the file (0 when there are none, or `put.resume` was false).
    pub offset: u64,
    /// BLAKE3 of those `offset` bytes, for the client to compare with its
    /// own first `offset` bytes before continuing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_blake3: Option<String>,
    /// Why kept bytes were discarded (the source changed), if they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted: Option<String>,
}

/// The upload is verified, durable and visible under its name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutDone {
    pub id: u64,
    /// Where the file now is, in "~/a/b" form.
    pub path: String,
    pub size: u64,
    pub blake3: String,
}

/// A download's bytes: exactly `size` raw bytes follow this header,
/// starting at `offset` in the file (the file is `offset + size` bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetData {
    pub id: u64,
    #[serde(default, skip_serializing_if = "crate::request::is_zero")]
    pub offset: u64,
    pub size: u64,
    /// The file's modification time, to identify this version on resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    /// The file's permission bits, for a client that keeps them (`get -p`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Why the client's kept bytes cannot be used, when it offered some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted: Option<String>,
    /// The whole file's BLAKE3, when the server recorded it at the commit
    /// and can send it before the bytes; `get_end` then repeats it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
}

/// End of a download: the BLAKE3 hash of the bytes sent, for the client to check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetEnd {
    pub id: u64,
    pub blake3: String,
}

/// The request failed. `id` is absent when the failure is not tied to a
/// request (a malformed frame, a timeout, the server shutting down).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub code: ErrorCode,
    pub message: String,
}

//! Responses the server sends. Each echoes the `id` of its request.

use crate::entry::Entry;
use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

/// The request succeeded and has nothing to report (`mkdir`, `rm`, `rmdir`, `mv`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub id: u64,
}

/// The session's current directory, after `pwd` or `cd`: "~" or "~/a/b".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cwd {
    pub id: u64,
    pub path: String,
}

/// A directory's entries, sorted by name (byte order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub id: u64,
    /// The directory listed, in "~/a/b" form.
    pub path: String,
    pub entries: Vec<Entry>,
}

/// The answer to `stat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    pub id: u64,
    /// The path asked about, in "~/a/b" form.
    pub path: String,
    pub entry: Entry,
}

/// The answer to `df`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub id: u64,
    /// Bytes stored in the home.
    pub used: u64,
    /// The user's quota in bytes; absent means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<u64>,
}

/// The server accepts an upload; send `put_data` with the bytes from `offset` on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutReady {
    pub id: u64,
    /// Bytes the server already holds; always 0 in protocol version 1.
    pub offset: u64,
}

/// The upload is verified, durable and visible under its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutDone {
    pub id: u64,
    /// Where the file now is, in "~/a/b" form.
    pub path: String,
    pub size: u64,
    pub blake3: String,
}

/// A download's bytes: exactly `size` raw bytes follow this header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetData {
    pub id: u64,
    pub size: u64,
}

/// End of a download: the BLAKE3 hash of the bytes sent, for the client to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

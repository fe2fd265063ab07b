//! Stable machine-readable error codes carried by `error` frames.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a request failed. The JSON form (`snake_case`) is part of the protocol
/// and never changes meaning; clients match on it, humans read the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame or request was malformed or not allowed at this point.
    BadRequest,
    /// Login failed: unknown user or wrong password (never says which).
    AuthFailed,
    /// The peer speaks a protocol version this side does not.
    UnsupportedVersion,
    NotFound,
    Exists,
    NotADirectory,
    IsADirectory,
    NotEmpty,
    PermissionDenied,
    QuotaExceeded,
    /// A transfer's BLAKE3 hash did not match: nothing was committed.
    Integrity,
    /// A header, path or name exceeds a limit.
    TooLarge,
    /// The server is at its connection limit or shutting down; try later.
    Busy,
    /// The peer was too slow (handshake, login, idle session, stalled body).
    Timeout,
    /// Something went wrong on the server; the message says what.
    Internal,
    /// The server requires proof of the site key and got none, or a wrong one.
    SiteKeyRefused,
    /// Too many failed logins from this address or for this user; the
    /// message says when to try again.
    Throttled,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::BadRequest,
        ErrorCode::AuthFailed,
        ErrorCode::UnsupportedVersion,
        ErrorCode::NotFound,
        ErrorCode::Exists,
        ErrorCode::NotADirectory,
        ErrorCode::IsADirectory,
        ErrorCode::NotEmpty,
        ErrorCode::PermissionDenied,
        ErrorCode::QuotaExceeded,
        ErrorCode::Integrity,
        ErrorCode::TooLarge,
        ErrorCode::Busy,
        ErrorCode::Timeout,
        ErrorCode::Internal,
        ErrorCode::SiteKeyRefused,
        ErrorCode::Throttled,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::AuthFailed => "auth_failed",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Exists => "exists",
            ErrorCode::NotADirectory => "not_a_directory",
            ErrorCode::IsADirectory => "is_a_directory",
            ErrorCode::NotEmpty => "not_empty",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::Integrity => "integrity",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Busy => "busy",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal",
            ErrorCode::SiteKeyRefused => "site_key_refused",
            ErrorCode::Throttled => "throttled",
        }
    }

    /// A short phrase for people, used by the CLI: "no such file or directory".
    pub fn describe(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad request",
            ErrorCode::AuthFailed => "login failed",
            ErrorCode::UnsupportedVersion => "unsupported protocol version",
            ErrorCode::NotFound => "no such file or directory",
            ErrorCode::Exists => "already exists",
            ErrorCode::NotADirectory => "not a directory",
            ErrorCode::IsADirectory => "is a directory",
            ErrorCode::NotEmpty => "directory not empty",
            ErrorCode::PermissionDenied => "permission denied",
            ErrorCode::QuotaExceeded => "quota exceeded",
            ErrorCode::Integrity => "integrity check failed",
            ErrorCode::TooLarge => "too large",
            ErrorCode::Busy => "server busy",
            ErrorCode::Timeout => "timed out",
            ErrorCode::Internal => "internal server error",
            ErrorCode::SiteKeyRefused => "site key refused",
            ErrorCode::Throttled => "too many failed logins",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("serialise");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).expect("parse");
            assert_eq!(back, code);
        }
    }
}

//! Why a store operation failed: a kind a front-end translates (a wire
//! error code, an HTTP status) and a message for people.

use netdisk_proto::{ErrorCode, PathError};
use std::io;

/// What went wrong, in the store's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Exists,
    NotADirectory,
    IsADirectory,
    NotEmpty,
    PermissionDenied,
    QuotaExceeded,
    /// The bytes did not match their BLAKE3: nothing was stored.
    Integrity,
    /// A name or path is over a limit.
    NameTooLong,
    /// Someone else is writing it (a resumable upload's partial).
    Busy,
    /// The request cannot be carried out as asked (not a regular file,
    /// a move into itself, a malformed path).
    Invalid,
    /// The server's disk is full.
    DiskFull,
    /// Anything else: the message says what.
    Internal,
}

impl ErrorKind {
    /// The native protocol's code for it.
    pub fn code(self) -> ErrorCode {
        match self {
            ErrorKind::NotFound => ErrorCode::NotFound,
            ErrorKind::Exists => ErrorCode::Exists,
            ErrorKind::NotADirectory => ErrorCode::NotADirectory,
            ErrorKind::IsADirectory => ErrorCode::IsADirectory,
            ErrorKind::NotEmpty => ErrorCode::NotEmpty,
            ErrorKind::PermissionDenied => ErrorCode::PermissionDenied,
            ErrorKind::QuotaExceeded => ErrorCode::QuotaExceeded,
            ErrorKind::Integrity => ErrorCode::Integrity,
            ErrorKind::NameTooLong => ErrorCode::TooLarge,
            ErrorKind::Busy => ErrorCode::Busy,
            ErrorKind::Invalid => ErrorCode::BadRequest,
            ErrorKind::DiskFull | ErrorKind::Internal => ErrorCode::Internal,
        }
    }
}

/// A failed store operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub kind: ErrorKind,
    pub message: String,
}

impl StoreError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            message: message.into(),
        }
    }

    /// The native protocol's code for it.
    pub fn code(&self) -> ErrorCode {
        self.kind.code()
    }

    /// Maps a file-system error on `what` (a "~/..." path) to a store error.
    pub fn from_io(err: &io::Error, what: &str) -> Self {
        use io::ErrorKind as K;
        let kind = match err.kind() {
            K::NotFound => ErrorKind::NotFound,
            K::AlreadyExists => ErrorKind::Exists,
            K::PermissionDenied => ErrorKind::PermissionDenied,
            K::NotADirectory => ErrorKind::NotADirectory,
            K::IsADirectory => ErrorKind::IsADirectory,
            K::DirectoryNotEmpty => ErrorKind::NotEmpty,
            K::InvalidFilename => ErrorKind::NameTooLong,
            K::StorageFull | K::QuotaExceeded => {
                return StoreError::new(
                    ErrorKind::DiskFull,
                    format!("{what}: the server's disk is full"),
                );
            }
            // ELOOP: a symlink cycle, or O_NOFOLLOW met a symlink (FilesystemLoop is unstable).
            _ if err.raw_os_error() == Some(libc::ELOOP) => ErrorKind::PermissionDenied,
            _ => {
                tracing::warn!(path = what, error = %err, "file system error");
                return StoreError::new(ErrorKind::Internal, format!("{what}: {err}"));
            }
        };
        StoreError::new(kind, format!("{what}: {}", kind.code().describe()))
    }

    /// A worker thread died (a panic): the operation's outcome is unknown.
    pub(crate) fn worker(err: tokio::task::JoinError) -> Self {
        StoreError::new(ErrorKind::Internal, format!("worker failed: {err}"))
    }
}

impl From<PathError> for StoreError {
    fn from(err: PathError) -> Self {
        let kind = match err.code() {
            ErrorCode::PermissionDenied => ErrorKind::PermissionDenied,
            ErrorCode::TooLarge => ErrorKind::NameTooLong,
            _ => ErrorKind::Invalid,
        };
        StoreError::new(kind, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_system_errors_keep_their_meaning() {
        let cases = [
            (io::ErrorKind::NotFound.into(), ErrorCode::NotFound),
            (io::ErrorKind::StorageFull.into(), ErrorCode::Internal),
            (
                io::Error::from_raw_os_error(libc::ELOOP),
                ErrorCode::PermissionDenied,
            ),
            (
                io::Error::from_raw_os_error(libc::ENOTEMPTY),
                ErrorCode::NotEmpty,
            ),
        ];
        for (err, code) in cases {
            let mapped = StoreError::from_io(&err, "~/a");
            assert_eq!(mapped.code(), code, "{err}");
            assert!(mapped.message.starts_with("~/a: "), "{}", mapped.message);
        }
        let full = StoreError::from_io(&io::ErrorKind::StorageFull.into(), "~/a");
        assert_eq!(full.kind, ErrorKind::DiskFull);
        assert!(full.message.contains("disk is full"));
        let escaped: StoreError = PathError::EscapesHome.into();
        assert_eq!(escaped.code(), ErrorCode::PermissionDenied);
    }
}

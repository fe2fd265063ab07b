//! Errors: why the server could not start, and why a request failed.

use netdisk_proto::{ErrorCode, Message, PathError};
use std::io;

/// Why the server could not start or keep listening.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    DataDir(#[from] crate::DataDirError),
    #[error(transparent)]
    Users(#[from] crate::UserDbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: io::Error },
    #[error(transparent)]
    Tls(#[from] crate::TlsError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A request failed: becomes an `error` frame; the session goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
        }
    }

    /// Maps a file-system error on `what` (a "~/..." path) to a protocol error.
    pub fn from_io(err: &io::Error, what: &str) -> Self {
        use io::ErrorKind as K;
        let code = match err.kind() {
            K::NotFound => ErrorCode::NotFound,
            K::AlreadyExists => ErrorCode::Exists,
            K::PermissionDenied => ErrorCode::PermissionDenied,
            K::NotADirectory => ErrorCode::NotADirectory,
            K::IsADirectory => ErrorCode::IsADirectory,
            K::DirectoryNotEmpty => ErrorCode::NotEmpty,
            K::InvalidFilename => ErrorCode::TooLarge,
            K::StorageFull | K::QuotaExceeded => {
                return CommandError::new(
                    ErrorCode::Internal,
                    format!("{what}: the server's disk is full"),
                );
            }
            // ELOOP: a symlink cycle, or O_NOFOLLOW met a symlink (FilesystemLoop is unstable).
            _ if err.raw_os_error() == Some(40) => ErrorCode::PermissionDenied,
            _ => {
                tracing::warn!(path = what, error = %err, "file system error");
                return CommandError::new(ErrorCode::Internal, format!("{what}: {err}"));
            }
        };
        CommandError::new(code, format!("{what}: {}", code.describe()))
    }

    pub fn into_message(self, id: u64) -> Message {
        Message::error(Some(id), self.code, self.message)
    }
}

impl From<PathError> for CommandError {
    fn from(err: PathError) -> Self {
        CommandError::new(err.code(), err.to_string())
    }
}

//! Errors: why the server could not start, and why a request failed.

use netdisk_proto::{ErrorCode, Message, PathError};
use netdisk_store::StoreError;
use std::io;

/// Why the server could not start or keep listening.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] netdisk_store::OpenError),
    #[error(transparent)]
    Users(#[from] netdisk_store::UserDbError),
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

    pub fn into_message(self, id: u64) -> Message {
        Message::error(Some(id), self.code, self.message)
    }
}

impl From<StoreError> for CommandError {
    fn from(err: StoreError) -> Self {
        CommandError::new(err.code(), err.message)
    }
}

impl From<PathError> for CommandError {
    fn from(err: PathError) -> Self {
        CommandError::new(err.code(), err.to_string())
    }
}

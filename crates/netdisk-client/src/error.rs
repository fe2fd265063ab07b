//! Why a client operation failed, in words a person can act on.

use netdisk_proto::scram::ScramError;
use netdisk_proto::{CodecError, ErrorCode, PROTOCOL_VERSION};
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: io::Error },
    /// The server refused the request; `message` names the path and reason.
    #[error("{message}")]
    Remote { code: ErrorCode, message: String },
    #[error("server speaks protocol {0}; this client speaks protocol {PROTOCOL_VERSION}")]
    UnsupportedVersion(u32),
    #[error("login: {0}")]
    Auth(#[from] ScramError),
    #[error("integrity check failed: the server's BLAKE3 is {expected}, the bytes here hash to {actual}")]
    Integrity { expected: String, actual: String },
    #[error("{path}: {source}")]
    Local { path: PathBuf, source: io::Error },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("malformed data from the server: {0}")]
    Codec(#[from] CodecError),
    #[error("the server closed the connection")]
    Closed,
    #[error("no answer from the server within {0} s")]
    Timeout(u64),
    #[error("connection: {0}")]
    Io(#[from] io::Error),
}

impl ClientError {
    /// The protocol error code behind this failure, when there is one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Remote { code, .. } => Some(*code),
            ClientError::UnsupportedVersion(_) => Some(ErrorCode::UnsupportedVersion),
            ClientError::Integrity { .. } => Some(ErrorCode::Integrity),
            ClientError::Auth(ScramError::InvalidServerSignature) => Some(ErrorCode::AuthFailed),
            _ => None,
        }
    }

    pub(crate) fn local(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> ClientError {
        let path = path.into();
        move |source| ClientError::Local { path, source }
    }
}

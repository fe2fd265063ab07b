//! Why a client operation failed, in words a person can act on.

use netdisk_proto::scram::ScramError;
use netdisk_proto::{CodecError, ErrorCode, Fingerprint, PROTOCOL_VERSION};
use std::io;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {error}")]
    Connect { addr: String, error: io::Error },
    /// The connection was not ready (connected, TLS set up, hello read) in time.
    #[error("cannot connect to {addr}: no {stage} within {} s", .limit.as_secs_f64())]
    ConnectTimeout {
        addr: String,
        stage: &'static str,
        limit: Duration,
    },
    /// The server refused the request; `message` names the path and reason.
    #[error("{message}")]
    Remote { code: ErrorCode, message: String },
    #[error("server speaks protocol {0}; this client speaks protocol {PROTOCOL_VERSION}")]
    UnsupportedVersion(u32),
    #[error("login: {0}")]
    Auth(ScramError),
    #[error("integrity check failed: the server's BLAKE3 is {expected}, the bytes here hash to {actual}")]
    Integrity { expected: String, actual: String },
    #[error("{path}: {error}")]
    Local { path: PathBuf, error: io::Error },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("malformed data from the server: {0}")]
    Codec(CodecError),
    #[error("the server closed the connection")]
    Closed,
    #[error("no answer from the server within {0} s")]
    Timeout(u64),
    #[error("connection: {0}")]
    Io(io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the server's certificate has fingerprint {actual}, not the expected {expected}: someone may be intercepting the connection, or the server's certificate changed")]
    FingerprintMismatch {
        expected: Fingerprint,
        actual: Fingerprint,
    },
}

// The causes are part of each message above, so these conversions do not
// mark them as `source` (which would print them twice in an error chain).
impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl From<ScramError> for ClientError {
    fn from(e: ScramError) -> Self {
        ClientError::Auth(e)
    }
}

impl From<CodecError> for ClientError {
    fn from(e: CodecError) -> Self {
        match e {
            // A failed read or write is the connection, not the data.
            CodecError::Io(e) => ClientError::Io(e),
            e => ClientError::Codec(e),
        }
    }
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
        move |error| ClientError::Local { path, error }
    }
}

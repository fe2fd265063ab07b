//! The store's refusals in dav-server's terms (which picks the status:
//! 404, 403, 405/409/412, 507, ...).

use dav_server::fs::FsError;
use netdisk_store::{ErrorKind, StoreError};

pub(crate) fn fs_error(err: StoreError) -> FsError {
    match err.kind {
        ErrorKind::NotFound => FsError::NotFound,
        ErrorKind::Exists => FsError::Exists,
        ErrorKind::QuotaExceeded | ErrorKind::DiskFull => FsError::InsufficientStorage,
        ErrorKind::NameTooLong => FsError::PathTooLong,
        // Not a directory / is one / not empty / not a regular file /
        // out of the home / busy: refused as asked.
        ErrorKind::NotADirectory
        | ErrorKind::IsADirectory
        | ErrorKind::NotEmpty
        | ErrorKind::PermissionDenied
        | ErrorKind::Invalid
        | ErrorKind::Busy => FsError::Forbidden,
        ErrorKind::Integrity | ErrorKind::Internal => {
            tracing::warn!(error = %err, "WebDAV request failed in the store");
            FsError::GeneralFailure
        }
    }
}

//! Where the engine reads users' accounts: the data directory's SQLite
//! (`UserDb`), or a database several servers share. What the engine needs
//! of an account is here; managing accounts (add, passwd, quota) is the
//! CLI's, on whichever of the two holds them.
//!
//! Calls block: the engine makes them on tokio's blocking pool.

use crate::error::{ErrorKind, StoreError};
use crate::users::{RetentionOverrides, UserDb, UserDbError, UserInfo};
use netdisk_proto::scram::Verifier;

pub trait UserDirectory: Send + Sync + 'static {
    /// The stored SCRAM verifier and quota, or `None` for an unknown user.
    fn credentials(&self, name: &str) -> Result<Option<(Verifier, Option<u64>)>, StoreError>;
    /// The user's own trash and versions settings.
    fn retention_of(&self, name: &str) -> Result<RetentionOverrides, StoreError>;
    fn list(&self) -> Result<Vec<UserInfo>, StoreError>;
    fn is_empty(&self) -> Result<bool, StoreError>;
    /// A 32-byte server secret, made at random on first use and kept (the
    /// first one made wins when servers race).
    fn secret(&self, name: &str) -> Result<[u8; 32], StoreError>;
}

fn internal(error: UserDbError) -> StoreError {
    StoreError::new(ErrorKind::Internal, error.to_string())
}

impl UserDirectory for UserDb {
    fn credentials(&self, name: &str) -> Result<Option<(Verifier, Option<u64>)>, StoreError> {
        UserDb::credentials(self, name).map_err(internal)
    }

    fn retention_of(&self, name: &str) -> Result<RetentionOverrides, StoreError> {
        UserDb::retention_of(self, name).map_err(internal)
    }

    fn list(&self) -> Result<Vec<UserInfo>, StoreError> {
        UserDb::list(self).map_err(internal)
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        UserDb::is_empty(self).map_err(internal)
    }

    fn secret(&self, name: &str) -> Result<[u8; 32], StoreError> {
        UserDb::secret(self, name).map_err(internal)
    }
}

//! The engine's `UserDirectory` over the catalog's user database, so
//! every server logs users in against the same accounts.

use crate::catalog::Catalog;
use netdisk_proto::scram::Verifier;
use netdisk_store::{RetentionOverrides, StoreError, UserDirectory, UserInfo};
use tokio::runtime::Handle;

pub struct CatalogUsers {
    catalog: Catalog,
    /// The server's runtime, which the engine's blocking threads wait on.
    runtime: Handle,
}

impl CatalogUsers {
    pub fn new(catalog: Catalog, runtime: Handle) -> CatalogUsers {
        CatalogUsers { catalog, runtime }
    }
}

impl UserDirectory for CatalogUsers {
    fn credentials(&self, name: &str) -> Result<Option<(Verifier, Option<u64>)>, StoreError> {
        self.runtime.block_on(self.catalog.credentials(name))
    }

    fn retention_of(&self, name: &str) -> Result<RetentionOverrides, StoreError> {
        self.runtime.block_on(self.catalog.retention_of(name))
    }

    fn list(&self) -> Result<Vec<UserInfo>, StoreError> {
        self.runtime.block_on(self.catalog.list_users())
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        self.runtime.block_on(self.catalog.is_empty())
    }

    fn secret(&self, name: &str) -> Result<[u8; 32], StoreError> {
        self.runtime.block_on(self.catalog.secret(name))
    }
}

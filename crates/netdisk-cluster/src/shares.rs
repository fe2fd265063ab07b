//! The engine's `ShareBook` over the catalog: a link made through one
//! server opens on every server.

use crate::catalog::Catalog;
use netdisk_store::{LinkPassword, NewShare, Share, ShareBook, StoreError};
use tokio::runtime::Handle;

pub struct CatalogShares {
    catalog: Catalog,
    /// The server's runtime, which the engine's blocking threads wait on.
    runtime: Handle,
}

impl CatalogShares {
    pub fn new(catalog: Catalog, runtime: Handle) -> CatalogShares {
        CatalogShares { catalog, runtime }
    }
}

impl ShareBook for CatalogShares {
    fn insert(&self, link: NewShare, forget_before: i64) -> Result<Share, StoreError> {
        self.runtime
            .block_on(self.catalog.insert_share(link, forget_before))
    }

    fn list(&self, user: &str) -> Result<Vec<Share>, StoreError> {
        self.runtime.block_on(self.catalog.shares_of(user))
    }

    fn remove(&self, user: &str, id: i64) -> Result<bool, StoreError> {
        self.runtime.block_on(self.catalog.remove_share(user, id))
    }

    fn find(&self, token: &str) -> Result<Option<Share>, StoreError> {
        self.runtime.block_on(self.catalog.find_share(token))
    }

    fn count_download(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        self.runtime
            .block_on(self.catalog.count_share_download(id, at))
    }

    fn password_of(&self, id: i64) -> Result<Option<LinkPassword>, StoreError> {
        self.runtime.block_on(self.catalog.share_password(id))
    }
}

//! The engine's `FailureRecords` over the catalog: failed logins counted
//! where every server sees them, so a lockout holds on all of them.

use crate::catalog::Catalog;
use netdisk_store::{BoxFuture, FailureRecords, StoreError};

pub struct CatalogFailures {
    catalog: Catalog,
}

impl CatalogFailures {
    pub fn new(catalog: Catalog) -> CatalogFailures {
        CatalogFailures { catalog }
    }
}

impl FailureRecords for CatalogFailures {
    fn add_failure(
        &self,
        keys: &[String],
        now: u64,
        forget_before: u64,
    ) -> BoxFuture<'static, Result<u32, StoreError>> {
        let (catalog, keys) = (self.catalog.clone(), keys.to_vec());
        Box::pin(async move { catalog.add_login_failure(&keys, now, forget_before).await })
    }

    fn locked_since(
        &self,
        keys: &[String],
        max_failures: u32,
    ) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        let (catalog, keys) = (self.catalog.clone(), keys.to_vec());
        Box::pin(async move { catalog.login_locked_since(&keys, max_failures).await })
    }

    fn clear(&self, keys: &[String]) -> BoxFuture<'static, Result<(), StoreError>> {
        let (catalog, keys) = (self.catalog.clone(), keys.to_vec());
        Box::pin(async move { catalog.clear_login_failures(&keys).await })
    }
}

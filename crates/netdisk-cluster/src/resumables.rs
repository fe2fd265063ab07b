//! The engine's `ResumableBook` over the catalog: a tus upload created
//! through one server goes on through any.

use crate::catalog::Catalog;
use netdisk_store::{RecordedUpload, ResumableBook, ResumableUpload, StoreError};
use tokio::runtime::Handle;

pub struct CatalogResumables {
    catalog: Catalog,
    /// The server's runtime, which the engine's blocking threads wait on.
    runtime: Handle,
}

impl CatalogResumables {
    pub fn new(catalog: Catalog, runtime: Handle) -> CatalogResumables {
        CatalogResumables { catalog, runtime }
    }
}

impl ResumableBook for CatalogResumables {
    fn record(&self, user: &str, upload: &ResumableUpload, created: i64) -> Result<(), StoreError> {
        self.runtime
            .block_on(self.catalog.record_resumable(user, upload, created))
    }

    fn find(&self, user: &str, id: &str) -> Result<Option<RecordedUpload>, StoreError> {
        self.runtime.block_on(self.catalog.find_resumable(user, id))
    }

    fn forget(&self, user: &str, id: &str) -> Result<(), StoreError> {
        self.runtime
            .block_on(self.catalog.forget_resumable(user, id))
    }
}

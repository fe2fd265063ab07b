//! The local file-system back-end: each home a directory under
//! `ROOT/homes/`, its uploads in progress under `ROOT/staging/`, reached
//! only through cap-std handles (see `home.rs`), hashes kept in extended
//! attributes (see `hash_record.rs`).

mod hash_record;
mod home;
mod property_record;
mod staging;

use crate::backend::{Backend, FileStamp, HashLookup, Home, Prepared, SmallFile};
use crate::claims::{ActiveClaim, ActivePartials, PartialRelease};
use crate::data_dir::DataDir;
use crate::error::StoreError;
use home::{LocalHome, OpenHomes};
use netdisk_proto::response::PartialUpload;
use netdisk_proto::{Entry, HomePath};
use std::sync::Arc;
use std::time::Duration;

pub struct LocalBackend {
    data: DataDir,
    homes: OpenHomes,
}

impl LocalBackend {
    pub fn new(data: DataDir) -> LocalBackend {
        LocalBackend {
            data,
            homes: OpenHomes::default(),
        }
    }
}

impl Backend for LocalBackend {
    fn open_home(&self, user: &str) -> Result<Arc<dyn Home>, StoreError> {
        let failed = |e: &dyn std::fmt::Display| {
            StoreError::new(
                crate::ErrorKind::Internal,
                format!("cannot open the home of {user}: {e}"),
            )
        };
        self.data.create_home(user).map_err(|e| failed(&e))?;
        let home = self
            .homes
            .open(user, &self.data.home(user), &self.data.staging(user))
            .map_err(|e| failed(&e))?;
        Ok(Arc::new(home))
    }

    fn sweep(
        &self,
        max_age: Duration,
        active: &ActivePartials,
        at_startup: bool,
    ) -> Vec<(String, u64)> {
        staging::sweep(
            &self.data.root().join("staging"),
            max_age,
            active,
            at_startup,
        )
    }
}

// The methods live in home.rs (names) and staging.rs (uploads); a trait
// has one impl block, so it hands over to them.
impl Home for LocalHome {
    fn entry(&self, path: &HomePath) -> Result<Entry, StoreError> {
        LocalHome::entry(self, path)
    }

    fn is_dir(&self, path: &HomePath) -> bool {
        LocalHome::is_dir(self, path)
    }

    fn require_dir(&self, path: &HomePath) -> Result<(), StoreError> {
        LocalHome::require_dir(self, path)
    }

    fn list_at_most(
        &self,
        path: &HomePath,
        limit: usize,
    ) -> Result<Option<Vec<Entry>>, StoreError> {
        LocalHome::list_at_most(self, path, limit)
    }

    fn mkdir(&self, path: &HomePath, parents: bool) -> Result<(), StoreError> {
        LocalHome::mkdir(self, path, parents)
    }

    fn remove_file(&self, path: &HomePath) -> Result<u64, StoreError> {
        LocalHome::remove_file(self, path)
    }

    fn remove_tree(&self, path: &HomePath) -> Result<u64, StoreError> {
        LocalHome::remove_tree(self, path)
    }

    fn remove_dir(&self, path: &HomePath) -> Result<(), StoreError> {
        LocalHome::remove_dir(self, path)
    }

    fn rename(&self, from: &HomePath, to: &HomePath) -> Result<(), StoreError> {
        LocalHome::rename(self, from, to)
    }

    fn file_size(&self, path: &HomePath) -> u64 {
        LocalHome::file_size(self, path)
    }

    fn usage(&self) -> Result<u64, StoreError> {
        LocalHome::usage(self)
    }

    fn open_file(&self, path: &HomePath) -> Result<(std::fs::File, Entry), StoreError> {
        LocalHome::open_file(self, path)
    }

    fn set_modified(&self, path: &HomePath, modified: i64) -> Result<(), StoreError> {
        LocalHome::set_modified(self, path, modified)
    }

    fn properties(&self, path: &HomePath) -> Result<Option<Vec<u8>>, StoreError> {
        LocalHome::properties(self, path)
    }

    fn set_properties(&self, path: &HomePath, encoded: Option<&[u8]>) -> Result<(), StoreError> {
        LocalHome::set_properties(self, path, encoded)
    }

    fn stored_hash(&self, file: &std::fs::File) -> HashLookup {
        hash_record::read(file)
    }

    fn record_hash(&self, file: &std::fs::File, before: &FileStamp, blake3: &str) {
        hash_record::write_if_unchanged(file, before, blake3);
    }

    fn prepare_upload(
        &self,
        target: &HomePath,
        size: u64,
        modified: Option<i64>,
        claim: Option<ActiveClaim>,
    ) -> Result<Prepared, StoreError> {
        LocalHome::prepare_upload(self, target, size, modified, claim)
    }

    fn kept_partial_bytes(&self) -> u64 {
        LocalHome::kept_partial_bytes(self)
    }

    fn kept_partials(
        &self,
        partials: &PartialRelease,
        ttl: Duration,
    ) -> Result<Vec<PartialUpload>, StoreError> {
        LocalHome::kept_partials(self, partials, ttl)
    }

    fn discard_partial(
        &self,
        target: &HomePath,
        partials: &PartialRelease,
    ) -> Result<u64, StoreError> {
        LocalHome::discard_partial(self, target, partials)
    }

    fn commit_small_batch(
        &self,
        files: Vec<SmallFile>,
        partials: &PartialRelease,
    ) -> Vec<Result<u64, StoreError>> {
        LocalHome::commit_small_batch(self, files, partials)
    }
}

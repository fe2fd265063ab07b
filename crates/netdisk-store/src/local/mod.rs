//! The local file-system back-end: each home a directory under
//! `ROOT/homes/`, its uploads in progress under `ROOT/staging/`, reached
//! only through cap-std handles (see `home.rs`), hashes and WebDAV
//! properties kept in extended attributes (`hash_record.rs`,
//! `property_record.rs`), the trash and old versions under `ROOT/kept/`
//! (`kept.rs`).

mod hash_record;
mod home;
mod kept;
mod property_record;
mod staging;

use crate::backend::{
    Backend, FileBytes, FileStamp, HashLookup, Home, KeptBytes, Prepared, SmallFile,
};
use crate::claims::{ActiveClaim, ActivePartials, PartialRelease};
use crate::data_dir::DataDir;
use crate::error::StoreError;
use home::{HomePaths, LocalHome, OpenHomes};
use netdisk_proto::response::{FileVersion, PartialUpload, TrashItem};
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
        let (home, staging, kept) = (
            self.data.home(user),
            self.data.staging(user),
            self.data.kept(user),
        );
        let paths = HomePaths {
            home: &home,
            staging: &staging,
            kept: &kept,
        };
        let home = self.homes.open(user, paths).map_err(|e| failed(&e))?;
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

    fn rename(
        &self,
        from: &HomePath,
        to: &HomePath,
        keep_versions: Option<u32>,
    ) -> Result<u64, StoreError> {
        let Some(keep) = keep_versions else {
            let replaced = self.file_size(to);
            LocalHome::rename(self, from, to)?;
            return Ok(replaced);
        };
        // As an upload's commit: linked in first, so the replaced file is
        // never in neither place.
        let version = self.keep_version(to)?;
        if let Err(err) = LocalHome::rename(self, from, to) {
            if let Some(id) = version {
                self.drop_version(to, &id);
            }
            return Err(err);
        }
        match version {
            Some(_) => self.trim_versions(to, keep),
            None => Ok(0),
        }
    }

    fn file_size(&self, path: &HomePath) -> u64 {
        LocalHome::file_size(self, path)
    }

    fn usage(&self) -> Result<u64, StoreError> {
        LocalHome::usage(self)
    }

    fn open_file(&self, path: &HomePath) -> Result<(FileBytes, Entry), StoreError> {
        let (file, entry) = LocalHome::open_file(self, path)?;
        Ok((FileBytes::Local(file), entry))
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

    fn trash(&self, path: &HomePath) -> Result<TrashItem, StoreError> {
        LocalHome::trash(self, path)
    }

    fn trash_items(&self) -> Result<Vec<TrashItem>, StoreError> {
        LocalHome::trash_items(self)
    }

    fn restore_trash(&self, id: &str, to: &HomePath) -> Result<(), StoreError> {
        LocalHome::restore_trash(self, id, to)
    }

    fn purge_trash(&self, id: &str) -> Result<u64, StoreError> {
        LocalHome::purge_trash(self, id)
    }

    fn trim_versions(&self, path: &HomePath, keep: u32) -> Result<u64, StoreError> {
        LocalHome::trim_versions(self, path, keep)
    }

    fn versions(&self, path: &HomePath) -> Result<Vec<FileVersion>, StoreError> {
        LocalHome::versions(self, path)
    }

    fn open_version(&self, path: &HomePath, id: &str) -> Result<FileBytes, StoreError> {
        LocalHome::open_version(self, path, id).map(FileBytes::Local)
    }

    fn purge_version(&self, path: &HomePath, id: &str) -> Result<u64, StoreError> {
        LocalHome::purge_version(self, path, id)
    }

    fn kept_bytes(&self) -> Result<KeptBytes, StoreError> {
        LocalHome::kept_bytes(self)
    }

    fn release_oldest(&self, wanted: u64, versions_too: bool) -> Result<u64, StoreError> {
        LocalHome::release_oldest(self, wanted, versions_too)
    }

    fn expire_trash(&self, before: i64) -> Result<u64, StoreError> {
        LocalHome::expire_trash(self, before)
    }

    fn sweep_kept(&self) {
        LocalHome::sweep_kept(self)
    }
}

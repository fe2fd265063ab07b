//! A user's home over the catalog and the object store: the engine's
//! `Home`, for any number of servers at once. Names, sizes, hashes, the
//! trash and old versions are catalog rows (a removal or a rename moves
//! rows, never bytes); a file's bytes are one immutable object.
//!
//! The engine calls a `Home` on its blocking pool (this one says it does
//! not answer at once), so each call waits here for its catalog or
//! object-store round trip on the server's runtime.

use crate::backend::Shared;
use crate::catalog::{Claimed, KeptPart, KeptUpload, PartialSource};
use crate::object_ranges::ObjectRanges;
use crate::objects::ObjectKey;
use crate::part_hasher::PartHasher;
use crate::part_writer::{part_size_for, PartWriter};
use crate::partial::{abort_kept, discard_partial, PartialRecord};
use crate::staged::{ObjectStaged, Resumable, StagedObject};
use netdisk_proto::response::{FileVersion, PartialUpload, TrashItem};
use netdisk_proto::{Entry, EntryKind, HomePath};
use netdisk_store::{
    ActiveClaim, ErrorKind, Existing, FileBytes, FileStamp, HashLookup, Home, KeptBytes,
    PartialRelease, Prepared, SmallFile, StoreError, StreamedFile,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct ClusterHome {
    pub(crate) shared: Shared,
    pub(crate) owner: String,
}

impl ClusterHome {
    /// Waits for `work` on the server's runtime (from a blocking thread).
    fn wait<T>(&self, work: impl Future<Output = T>) -> T {
        self.shared.runtime.block_on(work)
    }

    /// What replacing `path` with an uploaded file would free: the size of
    /// the file there; a directory cannot be replaced.
    fn replaced_size(&self, path: &HomePath) -> Result<u64, StoreError> {
        match self.entry(path) {
            Ok(entry) if entry.kind == EntryKind::Dir => Err(StoreError::new(
                ErrorKind::IsADirectory,
                format!("{path}: is a directory"),
            )),
            Ok(entry) => Ok(entry.size),
            Err(err) if err.kind == ErrorKind::NotFound => Ok(0),
            Err(err) => Err(err),
        }
    }
}

fn keep_or_replace(keep_versions: Option<u32>) -> Existing {
    keep_versions.map_or(Existing::Replace, Existing::KeepVersions)
}

impl Home for ClusterHome {
    fn answers_at_once(&self) -> bool {
        false
    }

    fn entry(&self, path: &HomePath) -> Result<Entry, StoreError> {
        Ok(self
            .wait(self.shared.catalog.entry(&self.owner, path))?
            .entry)
    }

    fn is_dir(&self, path: &HomePath) -> bool {
        matches!(self.entry(path), Ok(entry) if entry.kind == EntryKind::Dir)
    }

    fn require_dir(&self, path: &HomePath) -> Result<(), StoreError> {
        match self.entry(path)?.kind {
            EntryKind::Dir => Ok(()),
            _ => Err(StoreError::new(
                ErrorKind::NotADirectory,
                format!("{path}: not a directory"),
            )),
        }
    }

    fn list_at_most(
        &self,
        path: &HomePath,
        limit: usize,
    ) -> Result<Option<Vec<Entry>>, StoreError> {
        // A directory, the usual case, in one round trip; a file is described.
        let rows = match self.wait(self.shared.catalog.list(&self.owner, path)) {
            Ok(rows) => rows,
            Err(err) if err.kind == ErrorKind::NotADirectory => {
                return Ok(Some(vec![self.entry(path)?]))
            }
            Err(err) => return Err(err),
        };
        if rows.len() > limit {
            return Ok(None);
        }
        Ok(Some(rows.into_iter().map(|row| row.entry).collect()))
    }

    fn mkdir(&self, path: &HomePath, parents: bool) -> Result<(), StoreError> {
        self.wait(self.shared.catalog.mkdir(&self.owner, path, parents))
    }

    fn remove_file(&self, path: &HomePath) -> Result<u64, StoreError> {
        Ok(self
            .wait(self.shared.catalog.remove_file(&self.owner, path))?
            .bytes)
    }

    fn remove_tree(&self, path: &HomePath) -> Result<u64, StoreError> {
        self.wait(self.shared.catalog.remove_tree(&self.owner, path))
    }

    fn remove_dir(&self, path: &HomePath) -> Result<(), StoreError> {
        self.wait(self.shared.catalog.rmdir(&self.owner, path))
    }

    fn rename(
        &self,
        from: &HomePath,
        to: &HomePath,
        keep_versions: Option<u32>,
    ) -> Result<u64, StoreError> {
        let existing = keep_or_replace(keep_versions);
        Ok(self
            .wait(self.shared.catalog.rename(&self.owner, from, to, existing))?
            .bytes)
    }

    fn trash(&self, path: &HomePath) -> Result<TrashItem, StoreError> {
        self.wait(self.shared.catalog.trash(&self.owner, path))
    }

    fn trash_items(&self) -> Result<Vec<TrashItem>, StoreError> {
        self.wait(self.shared.catalog.trash_items(&self.owner))
    }

    fn restore_trash(&self, id: &str, to: &HomePath) -> Result<(), StoreError> {
        self.wait(self.shared.catalog.restore_trash(&self.owner, id, to))
    }

    fn purge_trash(&self, id: &str) -> Result<u64, StoreError> {
        self.wait(self.shared.catalog.purge_trash(&self.owner, id))
    }

    fn trim_versions(&self, path: &HomePath, keep: u32) -> Result<u64, StoreError> {
        self.wait(self.shared.catalog.trim_versions(&self.owner, path, keep))
    }

    fn versions(&self, path: &HomePath) -> Result<Vec<FileVersion>, StoreError> {
        self.wait(self.shared.catalog.versions(&self.owner, path))
    }

    fn open_version(&self, path: &HomePath, id: &str) -> Result<FileBytes, StoreError> {
        let kept = self.wait(self.shared.catalog.version(&self.owner, path, id))?;
        Ok(FileBytes::Streamed(self.streamed(
            kept.object,
            kept.version.blake3.unwrap_or_default(),
        )))
    }

    fn purge_version(&self, path: &HomePath, id: &str) -> Result<u64, StoreError> {
        self.wait(self.shared.catalog.purge_version(&self.owner, path, id))
    }

    fn kept_bytes(&self) -> Result<KeptBytes, StoreError> {
        self.wait(self.shared.catalog.kept_bytes(&self.owner))
    }

    fn release_oldest(&self, wanted: u64, versions_too: bool) -> Result<u64, StoreError> {
        self.wait(
            self.shared
                .catalog
                .release_oldest(&self.owner, wanted, versions_too),
        )
    }

    fn expire_trash(&self, before: i64) -> Result<u64, StoreError> {
        self.wait(self.shared.catalog.expire_trash(&self.owner, before))
    }

    /// Each change is one transaction: a crash leaves nothing half made.
    fn sweep_kept(&self) {}

    fn file_size(&self, path: &HomePath) -> u64 {
        match self.entry(path) {
            Ok(entry) if entry.kind == EntryKind::File => entry.size,
            _ => 0,
        }
    }

    /// The account's `used` less the trash, old versions and kept partials.
    fn usage(&self) -> Result<u64, StoreError> {
        let usage = self.wait(self.shared.catalog.usage(&self.owner))?;
        let kept = self.kept_bytes()?;
        Ok(usage
            .used
            .saturating_sub(kept.trash + kept.versions + self.kept_partial_bytes()))
    }

    fn open_file(&self, path: &HomePath) -> Result<(FileBytes, Entry), StoreError> {
        let row = self.wait(self.shared.catalog.entry(&self.owner, path))?;
        let (Some(object), Some(blake3)) = (row.object, row.blake3) else {
            return Err(StoreError::new(
                ErrorKind::IsADirectory,
                format!("{path}: is a directory"),
            ));
        };
        Ok((
            FileBytes::Streamed(self.streamed(object, blake3)),
            row.entry,
        ))
    }

    /// Every file here is streamed with the hash recorded at its commit.
    fn stored_hash(&self, _file: &std::fs::File) -> HashLookup {
        HashLookup::Missing(FileStamp::unknown())
    }

    fn record_hash(&self, _file: &std::fs::File, _before: &FileStamp, _blake3: &str) {}

    fn set_modified(&self, path: &HomePath, modified: i64) -> Result<(), StoreError> {
        self.wait(
            self.shared
                .catalog
                .set_modified(&self.owner, path, modified),
        )
    }

    fn properties(&self, path: &HomePath) -> Result<Option<Vec<u8>>, StoreError> {
        self.wait(self.shared.catalog.properties(&self.owner, path))
    }

    fn set_properties(&self, path: &HomePath, encoded: Option<&[u8]>) -> Result<(), StoreError> {
        self.wait(
            self.shared
                .catalog
                .set_properties(&self.owner, path, encoded),
        )
    }

    /// A fresh object, or with a `claim` (a resumable upload) the kept
    /// partial of this version of the source, recorded by whichever
    /// server wrote it, taken for this server.
    fn prepare_upload(
        &self,
        target: &HomePath,
        size: u64,
        modified: Option<i64>,
        claim: Option<ActiveClaim>,
    ) -> Result<Prepared, StoreError> {
        self.require_dir(&target.parent())?;
        let replacing = self.replaced_size(target)?;
        let part_size = part_size_for(size);
        // Nothing asked of the store yet: a file under one part is one PUT.
        let fresh = || {
            (
                PartWriter::deferred(self.shared.objects.clone(), ObjectKey::fresh(), part_size),
                PartHasher::new(part_size),
            )
        };
        let staged_object = StagedObject {
            shared: self.shared.clone(),
            owner: self.owner.clone(),
        };
        let Some(claim) = claim else {
            let (writer, hasher) = fresh();
            return Ok(prepared(
                ObjectStaged::new(staged_object, writer, hasher, None),
                replacing,
            ));
        };
        let record = PartialRecord {
            shared: self.shared.clone(),
            owner: self.owner.clone(),
            target: target.clone(),
            source: PartialSource { size, modified },
        };
        let (mut writer, mut hasher) = fresh();
        let mut restarted = None;
        let mut discarded = 0;
        match self.wait(record.claim())? {
            Claimed::Fresh { stale } => {
                if let Some(stale) = stale {
                    // Forgotten already: its parts go off the client's path.
                    let shared = self.shared.clone();
                    self.shared
                        .runtime
                        .spawn(async move { abort_kept(&shared, &stale).await });
                    restarted = Some(
                        "the source changed (size or modification time) since the kept bytes were sent"
                            .into(),
                    );
                }
            }
            Claimed::Resume { kept, parts } => match usable(&kept, &parts, part_size, size) {
                true => {
                    hasher = PartHasher::resumed(
                        part_size,
                        parts.iter().map(|part| part.hash).collect(),
                    );
                    writer = PartWriter::resume(
                        self.shared.objects.clone(),
                        kept.object,
                        kept.upload,
                        part_size,
                        parts.into_iter().map(|part| part.part).collect(),
                    );
                }
                false => {
                    discarded = self.wait(record.discard())?.unwrap_or(0);
                    restarted = Some("the kept parts do not fit this upload".into());
                }
            },
        }
        let offset = writer.confirmed();
        let prefix_blake3 = (offset > 0).then(|| hasher.finalize_hex());
        let resumable = Resumable {
            _lease: record.hold(),
            record,
            _claim: claim,
        };
        let mut ready = prepared(
            ObjectStaged::new(staged_object, writer, hasher, Some(resumable)),
            replacing,
        );
        ready.offset = offset;
        ready.prefix_blake3 = prefix_blake3;
        ready.restarted = restarted;
        ready.discarded = discarded;
        Ok(ready)
    }

    fn kept_partial_bytes(&self) -> u64 {
        match self.wait(self.shared.catalog.partials(&self.owner)) {
            Ok(partials) => partials.iter().map(|partial| partial.kept).sum(),
            Err(_) => 0,
        }
    }

    fn kept_partials(
        &self,
        _partials: &PartialRelease,
        ttl: Duration,
    ) -> Result<Vec<PartialUpload>, StoreError> {
        let kept = self.wait(self.shared.catalog.partials(&self.owner))?;
        Ok(kept
            .into_iter()
            .filter_map(|partial| {
                let path = HomePath::home().resolve(&partial.target).ok()?;
                Some(PartialUpload {
                    path: path.to_string(),
                    size: partial.size,
                    kept: partial.kept,
                    modified: partial.modified,
                    expires: Some(partial.updated + ttl.as_secs() as i64),
                    active: partial.held,
                })
            })
            .collect())
    }

    fn discard_partial(
        &self,
        target: &HomePath,
        _partials: &PartialRelease,
    ) -> Result<u64, StoreError> {
        self.wait(discard_partial(&self.shared, &self.owner, target))?
            .ok_or_else(|| {
                StoreError::new(
                    ErrorKind::NotFound,
                    format!("{target}: no interrupted upload is kept for it"),
                )
            })
    }

    /// Every file's object written at once (each one request), then each
    /// committed in its own transaction; results in the files' order.
    fn commit_small_batch(
        &self,
        files: Vec<SmallFile>,
        _partials: &PartialRelease,
    ) -> Vec<Result<u64, StoreError>> {
        let placed = StagedObject {
            shared: self.shared.clone(),
            owner: self.owner.clone(),
        };
        self.wait(futures_util::future::join_all(
            files.into_iter().map(|file| placed.commit_small(file)),
        ))
    }
}

/// The engine's view of a staged upload with nothing kept yet.
fn prepared(staged: ObjectStaged, replacing: u64) -> Prepared {
    Prepared {
        staged: Box::new(staged),
        offset: 0,
        prefix_blake3: None,
        restarted: None,
        discarded: 0,
        replacing,
    }
}

/// Whether kept parts can be gone on from: parts 0, 1, ... in order, each
/// of this upload's part size, no more than the file.
fn usable(kept: &KeptUpload, parts: &[KeptPart], part_size: usize, size: u64) -> bool {
    kept.part_size == part_size
        && parts
            .iter()
            .enumerate()
            .all(|(index, kept)| kept.part.index == index && kept.part.size == part_size as u64)
        && parts.len() as u64 * part_size as u64 <= size
}

impl ClusterHome {
    fn streamed(&self, object: ObjectKey, blake3: String) -> StreamedFile {
        StreamedFile {
            blake3,
            ranges: Arc::new(ObjectRanges::new(
                self.shared.objects.clone(),
                object,
                self.shared.runtime.clone(),
            )),
        }
    }
}

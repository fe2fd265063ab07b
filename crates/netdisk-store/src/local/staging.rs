//! Uploads before they are verified: staging files outside the home.
//!
//! A plain upload writes to a random name and is removed if it does not
//! complete. A resumable upload (`put.resume`) writes to a name derived
//! from its target (`r-KEY.part`) beside a small JSON sidecar
//! (`r-KEY.meta`: target, size, source modification time), and is kept
//! when the connection is cut, so the same `put` can continue it later,
//! even after a server restart. Kept partials count toward the quota and
//! expire after a while (see `sweep`).

use super::hash_record;
use super::home::{io_err, LocalHome};
use crate::backend::{
    BodyWriter, BodyWritten, BoxFuture, Existing, Prepared, RoomTicket, SmallFile,
    SourceAttributes, Staged,
};
use crate::claims::{partial_name, ActiveClaim, ActivePartials, PartialRelease, RESUMABLE};
use crate::error::{ErrorKind, StoreError};
use crate::hashing::hash_prefix;
use bytes::Bytes;
use cap_std::fs::OpenOptions;
use netdisk_fileio::{FileSink, PageCache};
use netdisk_proto::response::PartialUpload;
use netdisk_proto::HomePath;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::io::{self, Seek, SeekFrom};
use std::time::{Duration, SystemTime};

// Resumable staging files start with RESUMABLE; anything else in staging
// is a plain upload.
const PART: &str = ".part";
const META: &str = ".meta";

/// What a kept partial upload was for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PartialMeta {
    target: String,
    size: u64,
    modified: Option<i64>,
}

/// An upload's staging file. Dropped uncommitted, it is removed, unless it
/// is a resumable partial whose bytes are worth keeping.
pub(crate) struct LocalStaged {
    home: LocalHome,
    /// The staging file, open for writing (closed early in a small batch
    /// synced with syncfs, which holds no descriptor per file).
    file: Option<std::fs::File>,
    name: String,
    meta: Option<String>,
    /// Keep the file for a later resume when dropped uncommitted.
    keep: bool,
    committed: bool,
    /// BLAKE3 state over the kept bytes of a resumed partial, until its
    /// body takes it.
    prefix: Option<blake3::Hasher>,
    _claim: Option<ActiveClaim>,
}

impl Staged for LocalStaged {
    fn written(&self) -> u64 {
        self.home
            .staging
            .metadata(&self.name)
            .map(|m| m.len())
            .unwrap_or(0)
    }

    fn set_keep(&mut self, keep: bool) {
        self.keep = keep;
    }

    fn keeps(&self) -> bool {
        self.keep
    }

    /// Every byte written stays.
    fn kept(&mut self) -> u64 {
        self.written()
    }

    fn take_body(
        &mut self,
        start: u64,
        hash_only: bool,
        _room: Option<RoomTicket>,
    ) -> io::Result<Box<dyn BodyWriter>> {
        let hasher = match self.prefix.take() {
            Some(prefix) if prefix.count() == start => prefix,
            _ if start == 0 => blake3::Hasher::new(),
            _ => {
                return Err(io::Error::other(format!(
                    "a body from byte {start} does not follow the kept bytes"
                )))
            }
        };
        // Bytes kept after `start` go even for a refused body: the client
        // started over, so they are no longer its file's.
        self.cut_back(start)?;
        let file = self.open_file()?.try_clone()?;
        Ok(Box::new(LocalBody(if hash_only {
            FileSink::hash_only(file, hasher)
        } else {
            FileSink::start(file, hasher, PageCache::Keep)
        })))
    }

    fn cut_back(&mut self, len: u64) -> io::Result<()> {
        let mut file = self.open_file()?;
        if file.metadata()?.len() > len {
            file.set_len(len)?;
        }
        file.seek(SeekFrom::Start(len)).map(drop)
    }

    fn commit(
        self: Box<Self>,
        attributes: SourceAttributes,
        blake3: &str,
        target: &HomePath,
        partials: &PartialRelease,
        existing: Existing,
        _room: Option<RoomTicket>,
    ) -> Result<u64, StoreError> {
        let file = self
            .open_file()
            .map_err(|e| StoreError::from_io(&e, "upload"))?;
        finish_staged(file, &attributes, blake3)
            .and_then(|()| file.sync_all())
            .map_err(|e| StoreError::from_io(&e, "upload"))?;
        let home = self.home.clone();
        home.commit_upload(*self, target, partials, existing)
    }
}

impl LocalStaged {
    fn open_file(&self) -> io::Result<&std::fs::File> {
        self.file
            .as_ref()
            .ok_or_else(|| io::Error::other("the staging file was closed"))
    }
}

/// A body written to the staging file by a thread of its own.
struct LocalBody(FileSink);

impl BodyWriter for LocalBody {
    fn push(&mut self, chunk: Bytes) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(self.0.push(chunk))
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, io::Result<BodyWritten>> {
        Box::pin(async move {
            let written = self.0.finish().await?;
            Ok(BodyWritten {
                blake3: written.hasher.finalize().to_hex().to_string(),
                count: written.hasher.count(),
                error: written.error,
            })
        })
    }
}

impl Drop for LocalStaged {
    fn drop(&mut self) {
        if self.committed || self.keep {
            return;
        }
        for name in std::iter::once(&self.name).chain(self.meta.as_ref()) {
            if let Err(e) = self.home.staging.remove_file(name) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(file = %name, error = %e, "could not remove staging file");
                }
            }
        }
    }
}

/// Batches of at most this many files are synced file by file; larger
/// ones with one `syncfs`.
const FSYNC_EACH_MAX: usize = 2;
/// Small-upload bodies from this size on have their disk writes started
/// as soon as they are staged (`write_small`).
const WRITEBACK_EARLY_MIN: usize = 64 * 1024;

/// Gives a written staging file its source's attributes and its hash
/// record, in the order that works: the time first (the record is of the
/// final time), the mode last (a read-only mode refuses the record).
fn finish_staged(
    file: &std::fs::File,
    attributes: &SourceAttributes,
    blake3: &str,
) -> io::Result<()> {
    attributes.set_modified(file)?;
    hash_record::write(file, blake3);
    attributes.set_mode(file)
}

fn random_name() -> String {
    let mut random = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut random);
    random
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        + PART
}

fn staging_err(e: io::Error) -> StoreError {
    StoreError::from_io(&e, "staging file")
}

impl LocalHome {
    /// Checks that `target` can receive an upload and prepares its staging
    /// file: a fresh one, or for `resume` the kept partial of this version
    /// of the file, positioned after its bytes.
    pub(crate) fn prepare_upload(
        &self,
        target: &HomePath,
        size: u64,
        modified: Option<i64>,
        claim: Option<ActiveClaim>,
    ) -> Result<Prepared, StoreError> {
        refuse_the_home(target)?;
        self.require_dir(&target.parent())?;
        // Checked again when the upload is placed (`place_upload`).
        let replacing = self.replaced_size(target)?;
        let Some(claim) = claim else {
            return Ok(Prepared {
                staged: Box::new(self.create_plain_staging()?),
                offset: 0,
                prefix_blake3: None,
                restarted: None,
                discarded: 0,
                replacing,
            });
        };
        let key = partial_name(target);
        let (part, meta_name) = (format!("{key}{PART}"), format!("{key}{META}"));
        let wanted = PartialMeta {
            target: target.to_string(),
            size,
            modified,
        };
        let kept: Option<PartialMeta> = self
            .staging
            .read_to_string(&meta_name)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        let existing_len = self.staging.metadata(&part).map(|m| m.len()).ok();
        let mut file = self
            .staging
            .open_with(
                &part,
                OpenOptions::new().read(true).write(true).create(true),
            )
            .map_err(staging_err)?
            .into_std();
        let mut restarted = None;
        let mut discarded = 0;
        let mut offset = 0;
        let mut prefix = None;
        match (kept, existing_len) {
            (Some(meta), Some(len)) if meta == wanted && len <= size => {
                prefix = Some(hash_prefix(&mut file, len).map_err(staging_err)?);
                offset = len;
            }
            (_, Some(len)) if len > 0 => {
                restarted = Some(
                    "the source changed (size or modification time) since the kept bytes were sent"
                        .into(),
                );
                discarded = len;
            }
            _ => {}
        }
        if offset == 0 {
            file.set_len(0).map_err(staging_err)?;
            let json = serde_json::to_string(&wanted)
                .map_err(|e| StoreError::new(ErrorKind::Internal, e.to_string()))?;
            self.staging.write(&meta_name, json).map_err(staging_err)?;
        }
        file.seek(SeekFrom::Start(offset)).map_err(staging_err)?;
        Ok(Prepared {
            staged: Box::new(LocalStaged {
                home: self.clone(),
                file: Some(file),
                name: part,
                meta: Some(meta_name),
                keep: true,
                committed: false,
                prefix: prefix.clone(),
                _claim: Some(claim),
            }),
            offset,
            prefix_blake3: prefix
                .filter(|_| offset > 0)
                .map(|prefix| prefix.finalize().to_hex().to_string()),
            restarted,
            discarded,
            replacing,
        })
    }

    /// A new staging file under a random name, removed unless committed.
    fn create_plain_staging(&self) -> Result<LocalStaged, StoreError> {
        let name = random_name();
        let file = self
            .staging
            .open_with(&name, OpenOptions::new().write(true).create_new(true))
            .map_err(staging_err)?;
        Ok(LocalStaged {
            home: self.clone(),
            file: Some(file.into_std()),
            name,
            meta: None,
            keep: false,
            committed: false,
            prefix: None,
            _claim: None,
        })
    }

    /// Moves a complete, synced upload into place and makes the rename
    /// durable. Returns the bytes that left the disk: the file it replaced
    /// and a kept partial of the same target (see `release_partial`).
    fn commit_upload(
        &self,
        staged: LocalStaged,
        target: &HomePath,
        partials: &PartialRelease,
        existing: Existing,
    ) -> Result<u64, StoreError> {
        let freed = self.place(staged, target, existing)?;
        self.sync_dir(&target.parent())?;
        Ok(freed + self.release_partial(target, partials))
    }

    /// Puts a complete, synced upload at its target, doing with a file
    /// there what `existing` says (not yet durable: see `sync_dir`).
    /// Returns the bytes that left the disk.
    fn place(
        &self,
        staged: LocalStaged,
        target: &HomePath,
        existing: Existing,
    ) -> Result<u64, StoreError> {
        match existing {
            Existing::Refuse => self.place_new(staged, target),
            Existing::Replace => self.place_upload(staged, target),
            Existing::KeepVersions(keep) => {
                // Linked in before the rename: the old file is in the home,
                // or a version, or (for an instant) both; never in neither.
                let version = self.keep_version(target)?;
                match self.place_upload(staged, target) {
                    Ok(replaced) => match version {
                        Some(_) => self.trim_versions(target, keep),
                        None => Ok(replaced),
                    },
                    Err(err) => {
                        if let Some(id) = version {
                            self.drop_version(target, &id);
                        }
                        Err(err)
                    }
                }
            }
        }
    }

    /// Removes the kept partial of an earlier resumable upload to `target`,
    /// now that a complete file is there: a resume would rebuild the old
    /// attempt over it, and its bytes only held quota. A partial some
    /// session is writing (claimed) is left alone. Returns its bytes.
    fn release_partial(&self, target: &HomePath, partials: &PartialRelease) -> u64 {
        // Hashed once: this runs for every file a batch commits.
        let key = partial_name(target);
        match partials.claim_key(&key) {
            Some(_claim) => self.remove_kept(&key).ok().flatten().unwrap_or(0),
            None => 0,
        }
    }

    /// Removes the kept partial upload to `target` (`partial_rm`, a plain
    /// `put` over it) and returns its bytes: `busy` while an upload
    /// writes it, `not_found` when there is none.
    pub(crate) fn discard_partial(
        &self,
        target: &HomePath,
        partials: &PartialRelease,
    ) -> Result<u64, StoreError> {
        let key = partial_name(target);
        let Some(_claim) = partials.claim_key(&key) else {
            return Err(StoreError::new(
                ErrorKind::Busy,
                format!("{target}: an upload is writing this partial now"),
            ));
        };
        match self.remove_kept(&key) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(StoreError::new(
                ErrorKind::NotFound,
                format!("{target}: no interrupted upload is kept for it"),
            )),
            Err(e) => Err(staging_err(e)),
        }
    }

    /// Removes the partial `key` ("r-KEY"), which the caller has claimed:
    /// its bytes, or `None` when there is none.
    fn remove_kept(&self, key: &str) -> io::Result<Option<u64>> {
        let part = format!("{key}{PART}");
        let meta = match self.staging.metadata(&part) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let _ = self.staging.remove_file(format!("{key}{META}"));
        self.staging.remove_file(&part)?;
        Ok(Some(meta.len()))
    }

    /// The kept partial uploads (those whose target is on record), sorted
    /// by target; `expires` counts `ttl` from the last byte written, as
    /// the sweeper does.
    pub(crate) fn kept_partials(
        &self,
        partials: &PartialRelease,
        ttl: Duration,
    ) -> Result<Vec<PartialUpload>, StoreError> {
        let mut found = Vec::new();
        for item in self.staging.entries().map_err(staging_err)?.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let Some(key) = name
                .strip_suffix(META)
                .filter(|key| key.starts_with(RESUMABLE))
            else {
                continue;
            };
            let Some(meta) = self
                .staging
                .read_to_string(&name)
                .ok()
                .and_then(|text| serde_json::from_str::<PartialMeta>(&text).ok())
            else {
                continue;
            };
            let Ok(part) = self.staging.metadata(format!("{key}{PART}")) else {
                continue;
            };
            let expires = part
                .modified()
                .ok()
                .and_then(|time| time.into_std().checked_add(ttl))
                .and_then(netdisk_proto::time::to_epoch_secs);
            found.push(PartialUpload {
                path: meta.target,
                size: meta.size,
                kept: part.len(),
                modified: meta.modified,
                expires,
                active: partials
                    .active
                    .contains(&ActivePartials::key_of(&partials.user, key)),
            });
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }

    /// Renames a complete, synced upload over its target (not yet durable:
    /// see `sync_dir`). Returns the size of the file it replaced (0 if none).
    fn place_upload(&self, mut staged: LocalStaged, target: &HomePath) -> Result<u64, StoreError> {
        let replaced = self.replaced_size(target)?;
        self.staging
            .rename(&staged.name, &self.dir, target.relative())
            .map_err(io_err(target))?;
        staged.committed = true;
        if let Some(meta) = &staged.meta {
            let _ = self.staging.remove_file(meta);
        }
        Ok(replaced)
    }

    /// Puts a complete, synced upload at its target only if nothing is
    /// there: a hard link fails atomically on an existing name (where
    /// rename would replace it), then the staging name goes. Not yet
    /// durable: see `sync_dir`. Returns 0 (nothing replaced).
    fn place_new(&self, mut staged: LocalStaged, target: &HomePath) -> Result<u64, StoreError> {
        refuse_the_home(target)?;
        match self
            .staging
            .hard_link(&staged.name, &self.dir, target.relative())
        {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StoreError::new(
                    ErrorKind::Exists,
                    format!("{target}: already exists"),
                ))
            }
            Err(e) => return Err(io_err(target)(e)),
        }
        staged.committed = true;
        for name in std::iter::once(&staged.name).chain(staged.meta.as_ref()) {
            // A leftover is swept with the other crash leftovers.
            let _ = self.staging.remove_file(name);
        }
        Ok(0)
    }

    /// fsyncs a directory so the renames into it survive a crash. A
    /// read-only handle: cap-std's open_dir gives an O_PATH one, which
    /// fsync refuses.
    pub(super) fn sync_dir(&self, dir: &HomePath) -> Result<(), StoreError> {
        let handle = self.dir.open(dir.relative()).map_err(io_err(dir))?;
        handle.sync_all().map_err(io_err(dir))
    }

    /// Commits a batch of small uploads with one durability step: each is
    /// written to its own staging file, then the bytes of all are made
    /// durable at once (`syncfs`; an fsync each for one or two files, or
    /// where syncfs is missing), then each is renamed into place, then
    /// each directory that received one is fsync'd once. Returns, in
    /// order, the size each replaced or why it failed; one failure does
    /// not stop the others.
    pub(crate) fn commit_small_batch(
        &self,
        files: Vec<SmallFile>,
        partials: &PartialRelease,
    ) -> Vec<Result<u64, StoreError>> {
        let fsync_each = files.len() <= FSYNC_EACH_MAX || !netdisk_fileio::SYNCS_FILESYSTEMS;
        let mut written = Vec::with_capacity(files.len());
        // A batch is mostly files of one directory: check each parent once.
        let mut parents = HashMap::new();
        for file in files {
            let staged = self.write_small(&file, &mut parents, fsync_each);
            written.push((file.target, file.existing, staged));
        }
        let synced = if fsync_each {
            written
                .iter()
                .filter_map(|(_, _, staged)| staged.as_ref().ok())
                .filter_map(|staged| staged.file.as_ref())
                .try_for_each(|file| file.sync_all())
        } else {
            // A readable handle: syncfs refuses cap-std's O_PATH one.
            self.staging
                .open(".")
                .and_then(|staging| netdisk_fileio::sync_filesystem(&staging))
        };
        let mut dirs = HashSet::new();
        let placed: Vec<_> = written
            .into_iter()
            .map(|(target, existing, staged)| {
                let staged = staged?;
                if let Err(e) = &synced {
                    return Err(StoreError::from_io(e, "upload"));
                }
                let replaced = self.place(staged, &target, existing)?;
                dirs.insert(target.parent());
                Ok((target, replaced))
            })
            .collect();
        let dir_errors: Vec<_> = dirs
            .into_iter()
            .filter_map(|dir| self.sync_dir(&dir).err().map(|e| (dir, e)))
            .collect();
        placed
            .into_iter()
            .map(|result| {
                let (target, replaced) = result?;
                match dir_errors.iter().find(|(dir, _)| *dir == target.parent()) {
                    Some((_, err)) => Err(err.clone()),
                    None => Ok(replaced + self.release_partial(&target, partials)),
                }
            })
            .collect()
    }

    /// Writes one small upload to a fresh staging file. Whether the target
    /// is a directory is checked when it is placed (`place_upload`).
    fn write_small(
        &self,
        file: &SmallFile,
        parents: &mut HashMap<HomePath, Result<(), StoreError>>,
        keep_open: bool,
    ) -> Result<LocalStaged, StoreError> {
        refuse_the_home(&file.target)?;
        parents
            .entry(file.target.parent())
            .or_insert_with_key(|parent| self.require_dir(parent))
            .clone()?;
        let mut staged = self.create_plain_staging()?;
        staged
            .open_file()
            .and_then(|handle| {
                netdisk_fileio::write_in_pieces(handle, &file.body)?;
                // The batch's sync would write a medium file's bytes only
                // once all are written; started now, they go to disk while
                // the next files are written. Small ones are left for the
                // sync to write together.
                if file.body.len() >= WRITEBACK_EARLY_MIN {
                    netdisk_fileio::start_writeback(handle);
                }
                finish_staged(handle, &file.attributes, &file.blake3)
            })
            .map_err(|e| StoreError::from_io(&e, "upload"))?;
        // Kept open only to fsync it; a batch synced with syncfs holds no
        // descriptor per file.
        if !keep_open {
            staged.file = None;
        }
        Ok(staged)
    }

    /// Bytes held by kept partial uploads (they count toward the quota).
    pub(crate) fn kept_partial_bytes(&self) -> u64 {
        let Ok(items) = self.staging.entries() else {
            return 0;
        };
        items
            .flatten()
            .filter(|item| {
                let name = item.file_name().to_string_lossy().into_owned();
                name.starts_with(RESUMABLE) && name.ends_with(PART)
            })
            .filter_map(|item| item.metadata().ok())
            .map(|meta| meta.len())
            .sum()
    }
}

/// An upload may replace anything in the home but the home itself.
fn refuse_the_home(target: &HomePath) -> Result<(), StoreError> {
    if target.is_home() {
        return Err(StoreError::new(
            ErrorKind::PermissionDenied,
            "cannot replace the home directory",
        ));
    }
    Ok(())
}

/// Removes staging files older than `max_age` that no upload is writing;
/// with `max_age` zero (at start-up) every plain upload left by a crash
/// goes too. Returns, per user, the bytes of kept partials removed.
pub(crate) fn sweep(
    staging_root: &std::path::Path,
    max_age: Duration,
    active: &ActivePartials,
    at_startup: bool,
) -> Vec<(String, u64)> {
    let mut freed = Vec::new();
    let Ok(users) = std::fs::read_dir(staging_root) else {
        return freed;
    };
    let now = SystemTime::now();
    for user in users.flatten() {
        let user_name = user.file_name().to_string_lossy().into_owned();
        let Ok(files) = std::fs::read_dir(user.path()) else {
            continue;
        };
        let mut user_freed = 0;
        for file in files.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let Ok(meta) = file.metadata() else { continue };
            let resumable = name.starts_with(RESUMABLE);
            let key = name
                .trim_end_matches(PART)
                .trim_end_matches(META)
                .to_owned();
            // A sidecar is as old as its partial's last write: it was
            // written when the upload began, and a resume may go on for
            // longer than `max_age` after that.
            let last_write = if resumable && name.ends_with(META) {
                std::fs::metadata(user.path().join(format!("{key}{PART}"))).unwrap_or(meta.clone())
            } else {
                meta.clone()
            };
            let age = last_write
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            let expired = age > max_age || (at_startup && !resumable);
            // Plain uploads in progress are never in `active`; their files
            // are written continuously, so they never look old.
            if !expired || (resumable && active.contains(&ActivePartials::key_of(&user_name, &key)))
            {
                continue;
            }
            if std::fs::remove_file(file.path()).is_ok() && resumable && name.ends_with(PART) {
                user_freed += meta.len();
            }
        }
        if user_freed > 0 {
            freed.push((user_name, user_freed));
        }
    }
    freed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn sweep_removes_crash_leftovers_and_expired_partials_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = dir.path().join("alice");
        std::fs::create_dir_all(&user).expect("dir");
        std::fs::write(user.join("abc.part"), b"plain leftover").expect("write");
        std::fs::write(user.join("r-key1.part"), b"kept").expect("write");
        std::fs::write(user.join("r-key1.meta"), b"{}").expect("write");
        let active = ActivePartials::default();
        let freed = sweep(dir.path(), Duration::from_secs(3600), &active, true);
        assert!(freed.is_empty());
        assert!(
            !user.join("abc.part").exists(),
            "crash leftover removed at start-up"
        );
        assert!(user.join("r-key1.part").exists(), "fresh partial kept");
        let freed = sweep(dir.path(), Duration::ZERO, &active, false);
        assert_eq!(freed, vec![("alice".to_string(), 4)]);
        assert!(!user.join("r-key1.part").exists() && !user.join("r-key1.meta").exists());
        // A partial being written is never swept, however old.
        std::fs::write(user.join("r-key2.part"), b"busy").expect("write");
        let active = Arc::new(active);
        let _claim = active.claim("alice/r-key2".into()).expect("claim");
        assert!(
            active.claim("alice/r-key2".into()).is_none(),
            "one writer at a time"
        );
        assert!(sweep(dir.path(), Duration::ZERO, &active, false).is_empty());
        assert!(user.join("r-key2.part").exists());
        // A sidecar written when a long resume began ages with its partial.
        std::fs::write(user.join("r-key3.part"), b"recent bytes").expect("write");
        std::fs::write(user.join("r-key3.meta"), b"{}").expect("write");
        let day_ago = SystemTime::now() - Duration::from_secs(24 * 3600);
        std::fs::File::options()
            .write(true)
            .open(user.join("r-key3.meta"))
            .and_then(|f| f.set_modified(day_ago))
            .expect("age the sidecar");
        assert!(sweep(dir.path(), Duration::from_secs(3600), &active, false).is_empty());
        assert!(user.join("r-key3.meta").exists() && user.join("r-key3.part").exists());
    }
}

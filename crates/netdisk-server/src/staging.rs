//! Uploads before they are verified: staging files outside the home.
//!
//! A plain upload writes to a random name and is removed if it does not
//! complete. A resumable upload (`put.resume`) writes to a name derived
//! from its target (`r-KEY.part`) beside a small JSON sidecar
//! (`r-KEY.meta`: target, size, source modification time), and is kept
//! when the connection is cut, so the same `put` can continue it later,
//! even after a server restart. Kept partials count toward the quota and
//! expire after a while (see `sweep`).

use crate::error::CommandError;
use crate::home::{io_err, Home};
use cap_std::fs::{Dir, OpenOptions};
use netdisk_proto::response::PartialUpload;
use netdisk_proto::{ErrorCode, HomePath};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Prefix of resumable staging files; anything else in staging is a plain upload.
const RESUMABLE: &str = "r-";
const PART: &str = ".part";
const META: &str = ".meta";

/// What a kept partial upload was for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PartialMeta {
    target: String,
    size: u64,
    modified: Option<i64>,
}

/// Resumable partials being written right now (across all sessions), so
/// two sessions never write the same one and the sweeper leaves them alone.
#[derive(Default)]
pub(crate) struct ActivePartials {
    names: Mutex<HashSet<String>>,
    released: tokio::sync::Notify,
}

impl ActivePartials {
    fn names(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn claim(self: &Arc<Self>, key: String) -> Option<ActiveClaim> {
        if self.names().insert(key.clone()) {
            Some(ActiveClaim {
                active: self.clone(),
                key,
            })
        } else {
            None
        }
    }

    /// Claims `key`, waiting up to `patience` for its writer to finish:
    /// a client that retries right after its connection was cut must not
    /// lose to its own old session, which may not have noticed the cut yet.
    pub(crate) async fn claim_within(
        self: &Arc<Self>,
        key: String,
        patience: Duration,
    ) -> Option<ActiveClaim> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            // Register for the wake-up before looking, so none is missed.
            released.as_mut().enable();
            if let Some(claim) = self.claim(key.clone()) {
                return Some(claim);
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return None;
            }
        }
    }

    /// Resumable partials are named after their target.
    pub(crate) fn key_for(user: &str, target: &HomePath) -> String {
        Self::key_of(user, &partial_name(target))
    }

    /// The key of the partial with staging name `name` ("r-KEY").
    fn key_of(user: &str, name: &str) -> String {
        format!("{user}/{name}")
    }

    fn contains(&self, key: &str) -> bool {
        self.names().contains(key)
    }
}

/// Whose kept partials a commit may release, and the claims that keep
/// it off those being written.
#[derive(Clone)]
pub(crate) struct PartialRelease {
    pub(crate) active: Arc<ActivePartials>,
    pub(crate) user: String,
}

impl PartialRelease {
    /// Claims this user's partial "r-KEY", unless an upload writes it.
    fn claim_key(&self, key: &str) -> Option<ActiveClaim> {
        self.active.claim(ActivePartials::key_of(&self.user, key))
    }
}

pub(crate) struct ActiveClaim {
    active: Arc<ActivePartials>,
    key: String,
}

impl Drop for ActiveClaim {
    fn drop(&mut self) {
        self.active.names().remove(&self.key);
        self.active.released.notify_waiters();
    }
}

/// "r-KEY": the staging name of a resumable upload to `target`.
fn partial_name(target: &HomePath) -> String {
    format!(
        "{RESUMABLE}{}",
        &blake3::hash(target.relative().as_bytes()).to_hex()[..32]
    )
}

/// An upload's staging file. Dropped uncommitted, it is removed, unless it
/// is a resumable partial whose bytes are worth keeping.
pub(crate) struct Staged {
    staging: Arc<Dir>,
    name: String,
    meta: Option<String>,
    /// Keep the file for a later resume when dropped uncommitted.
    pub(crate) keep: bool,
    committed: bool,
    _claim: Option<ActiveClaim>,
}

impl Staged {
    /// Bytes in the staging file now.
    pub(crate) fn len(&self) -> u64 {
        self.staging
            .metadata(&self.name)
            .map(|m| m.len())
            .unwrap_or(0)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.committed || self.keep {
            return;
        }
        for name in std::iter::once(&self.name).chain(self.meta.as_ref()) {
            if let Err(e) = self.staging.remove_file(name) {
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

/// A small upload, received and verified, to be committed with its batch.
pub(crate) struct SmallFile {
    pub(crate) target: HomePath,
    pub(crate) body: Vec<u8>,
    pub(crate) attributes: SourceAttributes,
}

/// What an upload keeps of its source file besides the bytes: its
/// modification time, and with `put -p` its permission bits.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SourceAttributes {
    pub(crate) modified: Option<i64>,
    pub(crate) mode: Option<u32>,
}

impl SourceAttributes {
    /// Sets them on the staging file, after its last write (a write would
    /// move the time) and before its sync (which makes them durable too).
    pub(crate) fn apply(&self, file: &std::fs::File) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if let Some(mode) = self.mode {
            // The owner's read bit stays, so the server can serve it back.
            let mode = (mode & netdisk_proto::request::MODE_MASK) | 0o400;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        if let Some(time) = self.modified.and_then(netdisk_proto::time::from_epoch_secs) {
            file.set_modified(time)?;
        }
        Ok(())
    }
}

/// A staging file ready to receive bytes from `offset` on.
pub(crate) struct Prepared {
    pub(crate) staged: Staged,
    pub(crate) file: std::fs::File,
    /// Bytes kept from an earlier attempt (counted in the user's usage).
    pub(crate) offset: u64,
    /// BLAKE3 state over those bytes.
    pub(crate) hasher: blake3::Hasher,
    /// Why an earlier attempt's bytes were discarded, if they were.
    pub(crate) restarted: Option<String>,
    /// Bytes of a discarded earlier attempt (they left the disk).
    pub(crate) discarded: u64,
    /// Bytes of the file at the target now, which the commit will free.
    pub(crate) replacing: u64,
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

fn staging_err(e: io::Error) -> CommandError {
    CommandError::from_io(&e, "staging file")
}

/// Hashes the first `len` bytes of `file`, leaving it positioned at `len`.
pub(crate) fn hash_prefix(file: &mut std::fs::File, len: u64) -> io::Result<blake3::Hasher> {
    let mut hasher = blake3::Hasher::new();
    file.seek(SeekFrom::Start(0))?;
    let copied = io::copy(&mut file.take(len), &mut hasher)?;
    if copied != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(hasher)
}

impl Home {
    /// Checks that `target` can receive an upload and prepares its staging
    /// file: a fresh one, or for `resume` the kept partial of this version
    /// of the file, positioned after its bytes.
    pub(crate) fn prepare_upload(
        &self,
        target: &HomePath,
        size: u64,
        modified: Option<i64>,
        claim: Option<ActiveClaim>,
    ) -> Result<Prepared, CommandError> {
        refuse_the_home(target)?;
        self.require_dir(&target.parent())?;
        // Checked again when the upload is placed (`place_upload`).
        let replacing = self.replaced_size(target)?;
        let Some(claim) = claim else {
            let (staged, file) = self.create_plain_staging()?;
            return Ok(Prepared {
                staged,
                file,
                offset: 0,
                hasher: blake3::Hasher::new(),
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
        let mut hasher = blake3::Hasher::new();
        match (kept, existing_len) {
            (Some(meta), Some(len)) if meta == wanted && len <= size => {
                hasher = hash_prefix(&mut file, len).map_err(staging_err)?;
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
                .map_err(|e| CommandError::new(ErrorCode::Internal, e.to_string()))?;
            self.staging.write(&meta_name, json).map_err(staging_err)?;
        }
        file.seek(SeekFrom::Start(offset)).map_err(staging_err)?;
        Ok(Prepared {
            staged: Staged {
                staging: self.staging.clone(),
                name: part,
                meta: Some(meta_name),
                keep: true,
                committed: false,
                _claim: Some(claim),
            },
            file,
            offset,
            hasher,
            restarted,
            discarded,
            replacing,
        })
    }

    /// A new staging file under a random name, removed unless committed.
    fn create_plain_staging(&self) -> Result<(Staged, std::fs::File), CommandError> {
        let name = random_name();
        let file = self
            .staging
            .open_with(&name, OpenOptions::new().write(true).create_new(true))
            .map_err(staging_err)?;
        let staged = Staged {
            staging: self.staging.clone(),
            name,
            meta: None,
            keep: false,
            committed: false,
            _claim: None,
        };
        Ok((staged, file.into_std()))
    }

    /// Throws away the bytes of a resumable partial, keeping the file.
    pub(crate) fn restart_upload(file: &mut std::fs::File) -> Result<(), CommandError> {
        file.set_len(0).map_err(staging_err)?;
        file.seek(SeekFrom::Start(0))
            .map(|_| ())
            .map_err(staging_err)
    }

    /// Moves a complete, synced upload into place and makes the rename
    /// durable. Returns the bytes that left the disk: the file it replaced
    /// and a kept partial of the same target (see `release_partial`).
    pub(crate) fn commit_upload(
        &self,
        staged: Staged,
        target: &HomePath,
        partials: &PartialRelease,
    ) -> Result<u64, CommandError> {
        let replaced = self.place_upload(staged, target)?;
        self.sync_dir(&target.parent())?;
        Ok(replaced + self.release_partial(target, partials))
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
    ) -> Result<u64, CommandError> {
        let key = partial_name(target);
        let Some(_claim) = partials.claim_key(&key) else {
            return Err(CommandError::new(
                ErrorCode::Busy,
                format!("{target}: an upload is writing this partial now"),
            ));
        };
        match self.remove_kept(&key) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(CommandError::new(
                ErrorCode::NotFound,
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
    ) -> Result<Vec<PartialUpload>, CommandError> {
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
    fn place_upload(&self, mut staged: Staged, target: &HomePath) -> Result<u64, CommandError> {
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

    /// fsyncs a directory so the renames into it survive a crash. A
    /// read-only handle: cap-std's open_dir gives an O_PATH one, which
    /// fsync refuses.
    fn sync_dir(&self, dir: &HomePath) -> Result<(), CommandError> {
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
    ) -> Vec<Result<u64, CommandError>> {
        let fsync_each = files.len() <= FSYNC_EACH_MAX || !netdisk_fileio::SYNCS_FILESYSTEMS;
        let mut written = Vec::with_capacity(files.len());
        // A batch is mostly files of one directory: check each parent once.
        let mut parents = HashMap::new();
        for file in files {
            let staged = self
                .write_small(&file, &mut parents)
                .map(|(staged, handle)| {
                    // Handles are kept only to fsync them; a batch synced with
                    // syncfs holds no descriptor per file.
                    (staged, handle.filter(|_| fsync_each))
                });
            written.push((file.target, staged));
        }
        let synced = if fsync_each {
            written
                .iter()
                .filter_map(|(_, staged)| staged.as_ref().ok())
                .filter_map(|(_, handle)| handle.as_ref())
                .try_for_each(|handle| handle.sync_all())
        } else {
            // A readable handle: syncfs refuses cap-std's O_PATH one.
            self.staging
                .open(".")
                .and_then(|staging| netdisk_fileio::sync_filesystem(&staging))
        };
        let mut dirs = HashSet::new();
        let placed: Vec<_> = written
            .into_iter()
            .map(|(target, staged)| {
                let (staged, _handle) = staged?;
                if let Err(e) = &synced {
                    return Err(CommandError::from_io(e, "upload"));
                }
                let replaced = self.place_upload(staged, &target)?;
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
        parents: &mut HashMap<HomePath, Result<(), CommandError>>,
    ) -> Result<(Staged, Option<std::fs::File>), CommandError> {
        use std::io::Write;
        refuse_the_home(&file.target)?;
        parents
            .entry(file.target.parent())
            .or_insert_with_key(|parent| self.require_dir(parent))
            .clone()?;
        let (staged, mut handle) = self.create_plain_staging()?;
        handle
            .write_all(&file.body)
            .and_then(|()| file.attributes.apply(&handle))
            .map_err(|e| CommandError::from_io(&e, "upload"))?;
        Ok((staged, Some(handle)))
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
fn refuse_the_home(target: &HomePath) -> Result<(), CommandError> {
    if target.is_home() {
        return Err(CommandError::new(
            ErrorCode::PermissionDenied,
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

    #[tokio::test]
    async fn a_claim_passes_to_the_next_writer_when_released() {
        let active = Arc::new(ActivePartials::default());
        let first = active.claim("u/r-k".into()).expect("free");
        let waiter = {
            let active = active.clone();
            tokio::spawn(async move {
                active
                    .claim_within("u/r-k".into(), Duration::from_secs(30))
                    .await
                    .is_some()
            })
        };
        drop(first);
        assert!(
            waiter.await.expect("task"),
            "the waiting writer got the claim"
        );
        let _held = active.claim("u/r-k2".into()).expect("free");
        assert!(active
            .claim_within("u/r-k2".into(), Duration::from_millis(50))
            .await
            .is_none());
    }
}

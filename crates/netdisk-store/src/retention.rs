//! Nothing a user deletes or overwrites is lost by accident: `rm` moves
//! what it removes into the user's trash, and an upload or a move that
//! replaces a file keeps the old one as a version. Both live outside the
//! home, count toward the quota, and go when they expire (the trash), when
//! newer versions push them out, when the user purges them, or when an
//! upload needs their space (oldest first). Every front-end gets this from
//! the `Space` calls below and from `remove`, `rename` and uploads.

use crate::audit::Event;
use crate::backend::{Existing, FileBytes};
use crate::error::{ErrorKind, StoreError};
use crate::quota::Reservation;
use crate::space::{outcome, Space};
use crate::upload::{Committed, UploadSpec};
use crate::SourceAttributes;
use bytes::Bytes;
use netdisk_proto::response::{FileVersion, TrashItem};
use netdisk_proto::HomePath;
use std::io::{self, Read};
use std::time::Duration;
use tokio::sync::mpsc;

/// How much of what users delete and overwrite the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Deleted things stay in the trash this long; zero: `rm` deletes at once.
    pub keep_trash: Duration,
    /// Old versions kept per file; 0: an overwrite keeps none.
    pub keep_versions: u32,
    /// An upload that would pass the quota first deletes the oldest trash,
    /// then the oldest versions, to make room.
    pub free_space_from_trash: bool,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            keep_trash: Duration::from_secs(30 * 24 * 3600),
            keep_versions: 10,
            free_space_from_trash: true,
        }
    }
}

impl Retention {
    /// What an upload or a move does with the file it replaces.
    pub(crate) fn on_replace(&self) -> Existing {
        match self.keep_versions {
            0 => Existing::Replace,
            keep => Existing::KeepVersions(keep),
        }
    }

    pub(crate) fn trash_on(&self) -> bool {
        !self.keep_trash.is_zero()
    }
}

/// Which trash items a purge deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrashPurge {
    Ids(Vec<String>),
    /// Deleted longer ago than this.
    OlderThan(Duration),
    All,
}

/// A trash item named by its id, or by where it was (the newest deleted there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrashRef {
    Id(String),
    Path(HomePath),
}

/// Bytes read from an old version per write into its restoring upload.
const RESTORE_CHUNK: usize = 1 << 20;

impl Space {
    /// The trash, oldest first.
    pub async fn trash(&self) -> Result<Vec<TrashItem>, StoreError> {
        self.run(|home| home.trash_items()).await
    }

    /// Puts a trash item back where it was, or at `to`, never over
    /// anything (`exists`: restore it elsewhere with `to`, or move the
    /// other out of the way first). Missing parents are made.
    pub async fn restore_trash(
        &self,
        which: &TrashRef,
        to: Option<&HomePath>,
    ) -> Result<HomePath, StoreError> {
        let items = self.trash().await?;
        let item = match which {
            TrashRef::Id(id) => items.iter().find(|item| &item.id == id),
            TrashRef::Path(path) => {
                let shown = path.to_string();
                items.iter().rev().find(|item| item.path == shown)
            }
        }
        .ok_or_else(|| StoreError::new(ErrorKind::NotFound, "no such item in the trash"))?
        .clone();
        let target = match to {
            Some(to) => to.clone(),
            None => HomePath::home().resolve(item.path.trim_start_matches("~/"))?,
        };
        let (id, dest) = (item.id.clone(), target.clone());
        let result = self.run(move |home| home.restore_trash(&id, &dest)).await;
        self.audit(Event::TrashRestore {
            peer: self.peer,
            user: &self.user,
            id: &item.id,
            path: &target.to_string(),
            result: outcome(&result),
        });
        result.map(|()| target)
    }

    /// Deletes trash items for good; returns how many and their bytes.
    pub async fn purge_trash(&self, which: TrashPurge) -> Result<(usize, u64), StoreError> {
        let items = self.trash().await?;
        let chosen: Vec<String> = match &which {
            TrashPurge::All => items.iter().map(|item| item.id.clone()).collect(),
            TrashPurge::OlderThan(age) => {
                let before = crate::unix_now().saturating_sub(age.as_secs() as i64);
                items
                    .iter()
                    .filter(|item| item.deleted < before)
                    .map(|item| item.id.clone())
                    .collect()
            }
            TrashPurge::Ids(ids) => {
                if let Some(unknown) = ids.iter().find(|id| !items.iter().any(|i| &i.id == *id)) {
                    return Err(StoreError::new(
                        ErrorKind::NotFound,
                        format!("no item {unknown} in the trash"),
                    ));
                }
                ids.clone()
            }
        };
        let count = chosen.len();
        let freed = self
            .run(move |home| Ok(each_freeing(&chosen, |id| home.purge_trash(id))))
            .await
            .and_then(|result| self.settle_freed(result));
        self.audit(Event::TrashPurge {
            peer: self.peer,
            user: &self.user,
            items: count,
            bytes: *freed.as_ref().unwrap_or(&0),
            result: outcome(&freed),
        });
        Ok((count, freed?))
    }

    /// A file's old versions, newest first.
    pub async fn versions(&self, path: &HomePath) -> Result<Vec<FileVersion>, StoreError> {
        let path = path.clone();
        let mut versions = self.run(move |home| home.versions(&path)).await?;
        versions.reverse();
        Ok(versions)
    }

    /// Makes an old version the file again: its bytes are uploaded anew
    /// (verified against the version's BLAKE3 when it has one), so the
    /// file they replace becomes a version in turn, and the quota is
    /// checked as for any upload.
    pub async fn restore_version(
        &self,
        path: &HomePath,
        id: &str,
    ) -> Result<Committed, StoreError> {
        let result = self.restore_version_unaudited(path, id).await;
        self.audit(Event::VersionRestore {
            peer: self.peer,
            user: &self.user,
            path: &path.to_string(),
            version: id,
            result: outcome(&result),
        });
        result
    }

    async fn restore_version_unaudited(
        &self,
        path: &HomePath,
        id: &str,
    ) -> Result<Committed, StoreError> {
        let version = self
            .versions(path)
            .await?
            .into_iter()
            .find(|version| version.id == id)
            .ok_or_else(|| {
                StoreError::new(ErrorKind::NotFound, format!("{path}: no version {id}"))
            })?;
        let (source, which) = (path.clone(), id.to_owned());
        let bytes = self
            .run(move |home| home.open_version(&source, &which))
            .await?;
        let spec = UploadSpec {
            size: version.size,
            attributes: SourceAttributes {
                modified: version.modified,
                mode: None,
            },
            ..UploadSpec::default()
        };
        let mut upload = self.begin_upload(path, spec).await?;
        if let Err(e) = upload.start_body(0).await {
            upload.abandon().await;
            return Err(StoreError::from_io(&e, "restore"));
        }
        let mut chunks = read_whole(bytes, version.size);
        let mut left = version.size;
        while left > 0 {
            let chunk = match chunks.recv().await {
                Some(Ok(chunk)) if chunk.len() as u64 <= left => Ok(chunk),
                Some(Ok(_)) => Err(StoreError::new(
                    ErrorKind::Internal,
                    format!("{path}: version {id} is longer than recorded"),
                )),
                Some(Err(e)) => Err(StoreError::from_io(&e, &format!("{path}: version {id}"))),
                None => Err(StoreError::new(
                    ErrorKind::Internal,
                    format!("{path}: version {id} is shorter than recorded"),
                )),
            };
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(err) => {
                    upload.abandon().await;
                    return Err(err);
                }
            };
            left -= chunk.len() as u64;
            if let Err(e) = upload.write(chunk).await {
                upload.abandon().await;
                return Err(StoreError::from_io(&e, "restore"));
            }
        }
        match &version.blake3 {
            Some(hash) => upload.finish(hash).await,
            None => upload.finish_unhashed().await,
        }
    }

    /// Deletes old versions for good: one (`id`), or all of `path`'s;
    /// returns how many and their bytes.
    pub async fn purge_versions(
        &self,
        path: &HomePath,
        id: Option<&str>,
    ) -> Result<(usize, u64), StoreError> {
        let ids: Vec<String> = match id {
            Some(id) => vec![id.to_owned()],
            None => self
                .versions(path)
                .await?
                .into_iter()
                .map(|v| v.id)
                .collect(),
        };
        let (source, count) = (path.clone(), ids.len());
        let freed = self
            .run(move |home| Ok(each_freeing(&ids, |id| home.purge_version(&source, id))))
            .await
            .and_then(|result| self.settle_freed(result));
        self.audit(Event::VersionPurge {
            peer: self.peer,
            user: &self.user,
            path: &path.to_string(),
            items: count,
            bytes: *freed.as_ref().unwrap_or(&0),
            result: outcome(&freed),
        });
        Ok((count, freed?))
    }

    /// Books the bytes a purge freed, the whole of them even when it
    /// stopped at an error part way.
    fn settle_freed(&self, (freed, failed): (u64, Option<StoreError>)) -> Result<u64, StoreError> {
        self.store.quotas.freed(&self.user, freed);
        match failed {
            Some(err) => Err(err),
            None => Ok(freed),
        }
    }

    /// Reserves `extra` bytes for an upload over a file of `replaced`
    /// bytes (looked up only if the quota is near), which `existing` keeps
    /// as a version or frees. Near the quota, and when the settings allow,
    /// room is made from the oldest trash, then the oldest versions, then
    /// by not keeping the replaced file. Returns the reservation and what
    /// the commit does with the replaced file.
    pub(crate) async fn reserve_upload(
        &self,
        extra: u64,
        replaced: ReplacedSize<'_>,
        existing: Existing,
        quota: Option<u64>,
    ) -> Result<(Reservation, Existing), StoreError> {
        let (quotas, user) = (&self.store.quotas, self.user.as_str());
        let first = match quotas.reserve(user, extra, 0, quota).await {
            Ok(reservation) => return Ok((reservation, existing)),
            Err(full) => full,
        };
        let replaced = match replaced {
            ReplacedSize::Known(bytes) => bytes,
            ReplacedSize::LookUp(target) => self.file_size(target).await,
        };
        let credit = match existing {
            Existing::Replace => replaced,
            _ => 0,
        };
        if credit > 0 {
            if let Ok(reservation) = quotas.reserve(user, extra, credit, quota).await {
                return Ok((reservation, existing));
            }
        }
        if !self.retention.free_space_from_trash {
            return Err(first);
        }
        let short = self.shortfall(extra.saturating_sub(credit), quota).await?;
        if self.release_for(short).await > 0 {
            if let Ok(reservation) = quotas.reserve(user, extra, credit, quota).await {
                return Ok((reservation, existing));
            }
        }
        if matches!(existing, Existing::KeepVersions(_)) && replaced > 0 {
            let short = self
                .shortfall(extra.saturating_sub(replaced), quota)
                .await?;
            self.release_for(short).await;
            return quotas
                .reserve(user, extra, replaced, quota)
                .await
                .map(|reservation| (reservation, Existing::Replace));
        }
        Err(first)
    }

    /// Bytes of the regular file at `path` (0 for anything else). Bounded,
    /// like `entry`.
    async fn file_size(&self, path: &HomePath) -> u64 {
        if self.home.answers_at_once() {
            return self.home.file_size(path);
        }
        let path = path.clone();
        self.run(move |home| Ok(home.file_size(&path)))
            .await
            .unwrap_or(0)
    }

    /// Bytes over the quota that `extra` more would take the user to (0: it fits).
    async fn shortfall(&self, extra: u64, quota: Option<u64>) -> Result<u64, StoreError> {
        let account = self.store.quotas.account(&self.user).await?;
        Ok(crate::quota::shortfall(account, extra, quota))
    }

    /// Makes room for `wanted` more bytes from the trash, then from old
    /// versions, oldest first, when the settings allow; returns the bytes freed.
    pub(crate) async fn release_for(&self, wanted: u64) -> u64 {
        if !self.retention.free_space_from_trash || wanted == 0 {
            return 0;
        }
        match self
            .run(move |home| home.release_oldest(wanted, true))
            .await
        {
            Ok(freed) => {
                if freed > 0 {
                    tracing::info!(user = %self.user, bytes = freed, "old trash and versions released for an upload");
                    self.store.quotas.freed(&self.user, freed);
                }
                freed
            }
            Err(err) => {
                tracing::warn!(user = %self.user, error = %err, "could not release trash for an upload");
                0
            }
        }
    }
}

/// The size of the file an upload replaces, for `Space::reserve_upload`.
pub(crate) enum ReplacedSize<'a> {
    Known(u64),
    /// The file at this path, looked up only when needed.
    LookUp(&'a HomePath),
}

/// All `size` bytes of a kept file, in pieces, read by a task of their own.
fn read_whole(bytes: FileBytes, size: u64) -> mpsc::Receiver<io::Result<Bytes>> {
    let mut file = match bytes {
        FileBytes::Streamed(streamed) => return streamed.ranges.read(0..size),
        FileBytes::Local(file) => file,
    };
    let (sender, receiver) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let mut left = size;
        while left > 0 {
            let mut chunk = vec![0u8; left.min(RESTORE_CHUNK as u64) as usize];
            let read = file.read_exact(&mut chunk).map(|()| Bytes::from(chunk));
            let failed = read.is_err();
            left = left.saturating_sub(read.as_ref().map_or(0, |chunk| chunk.len() as u64));
            if sender.blocking_send(read).is_err() || failed {
                return;
            }
        }
    });
    receiver
}

/// Runs `purge` on each id until one fails; the bytes freed so far, and
/// the failure.
fn each_freeing(
    ids: &[String],
    mut purge: impl FnMut(&str) -> Result<u64, StoreError>,
) -> (u64, Option<StoreError>) {
    let mut freed = 0;
    for id in ids {
        match purge(id) {
            Ok(bytes) => freed += bytes,
            Err(err) => return (freed, Some(err)),
        }
    }
    (freed, None)
}

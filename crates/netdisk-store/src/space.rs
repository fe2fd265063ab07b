//! One logged-in user's view of the store: every operation a front-end
//! offers on files, with the rules that go with it (the home cannot be
//! removed or replaced, the quota, claims on partials) and the audit
//! record of each change. Paths come in already resolved (`HomePath`):
//! a front-end parses what its client sent with `HomePath::resolve`.

use crate::audit::Event;
use crate::backend::{Existing, FileBytes, HashLookup, Home};
use crate::claims::PartialRelease;
use crate::error::{ErrorKind, StoreError};
use crate::hashing::hash_file;
use crate::store::Inner;
use netdisk_proto::response::PartialUpload;
use netdisk_proto::{Entry, EntryKind, HomePath};
use std::net::SocketAddr;
use std::sync::Arc;

/// Directories up to this size are listed on the async thread (see the
/// local back-end's home.rs for why); a larger one on the blocking pool.
const INLINE_ENTRIES: usize = 128;

/// One page of a directory's listing (`Space::list_page`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub entries: Vec<Entry>,
    /// More entries follow the last of these.
    pub more: bool,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Space {
    pub(crate) user: String,
    pub(crate) peer: SocketAddr,
    pub(crate) home: Arc<dyn Home>,
    /// For commits: the user's kept partials they may release.
    pub(crate) partials: PartialRelease,
    /// What is kept of what they remove and replace (theirs, else the
    /// server's; read at each login).
    pub(crate) retention: crate::Retention,
    pub(crate) store: Arc<Inner>,
}

/// Where a user's space goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpaceUsage {
    /// Bytes in files, kept partial uploads, the trash and old versions.
    pub used: u64,
    /// Bytes promised to uploads in progress.
    pub reserved: u64,
    /// Of `used`, bytes in kept partial uploads.
    pub partials: u64,
    /// Of `used`, bytes in the trash.
    pub trash: u64,
    /// Of `used`, bytes of old versions.
    pub versions: u64,
    /// `None` is unlimited.
    pub quota: Option<u64>,
}

impl Space {
    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Runs blocking back-end work off the async threads.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Home) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let home = self.home.clone();
        tokio::task::spawn_blocking(move || work(home.as_ref()))
            .await
            .map_err(StoreError::worker)?
    }

    /// The audit log, for a front-end to record what it refused before
    /// asking the store (which records everything it is asked).
    pub fn audit_log(&self) -> &crate::AuditLog {
        &self.store.audit
    }

    pub(crate) fn audit(&self, event: Event<'_>) {
        self.store.audit.record(event);
    }

    /// Describes a path (a final symlink is described, not followed). A
    /// bounded lookup, answered on the calling thread when the back-end
    /// answers at once (the local file system), else on the blocking pool.
    pub async fn entry(&self, path: &HomePath) -> Result<Entry, StoreError> {
        if self.home.answers_at_once() {
            return self.home.entry(path);
        }
        let path = path.clone();
        self.run(move |home| home.entry(&path)).await
    }

    /// `not_a_directory` unless `path` is a directory. Bounded, like `entry`.
    pub async fn require_dir(&self, path: &HomePath) -> Result<(), StoreError> {
        if self.home.answers_at_once() {
            return self.home.require_dir(path);
        }
        let path = path.clone();
        self.run(move |home| home.require_dir(&path)).await
    }

    /// `entry`, and for a regular file its BLAKE3: the one stored at its
    /// commit when that is still true of it, else read from the file
    /// (and stored for next time).
    pub async fn stat_with_hash(
        &self,
        path: &HomePath,
    ) -> Result<(Entry, Option<String>), StoreError> {
        let path = path.clone();
        self.run(move |home| {
            let entry = home.entry(&path)?;
            if entry.kind != EntryKind::File {
                return Ok((entry, None));
            }
            let (mut file, entry) = match home.open_file(&path)? {
                (FileBytes::Local(file), entry) => (file, entry),
                (FileBytes::Streamed(streamed), entry) => {
                    return Ok((entry, Some(streamed.blake3)))
                }
            };
            let before = match home.stored_hash(&file) {
                HashLookup::Recorded(stored) => return Ok((entry, Some(stored))),
                HashLookup::Missing(before) => before,
            };
            let hash =
                hash_file(&mut file).map_err(|e| StoreError::from_io(&e, &path.to_string()))?;
            home.record_hash(&file, &before, &hash);
            Ok((entry, Some(hash)))
        })
        .await
    }

    /// `entry`, and for a regular file the BLAKE3 recorded at its commit
    /// if that is still true of it; nothing is hashed (a listing of many
    /// files stays cheap). A file changed behind the server's back has
    /// none until `stat_with_hash` or a download hashes it.
    pub async fn entry_with_recorded_hash(
        &self,
        path: &HomePath,
    ) -> Result<(Entry, Option<String>), StoreError> {
        let entry = self.entry(path).await?;
        if entry.kind != EntryKind::File {
            return Ok((entry, None));
        }
        let path = path.clone();
        self.run(move |home| {
            let described = match home.open_file(&path)? {
                (FileBytes::Local(file), entry) => match home.stored_hash(&file) {
                    HashLookup::Recorded(stored) => (entry, Some(stored)),
                    HashLookup::Missing(_) => (entry, None),
                },
                (FileBytes::Streamed(streamed), entry) => (entry, Some(streamed.blake3)),
            };
            Ok(described)
        })
        .await
    }

    /// A directory's entries sorted by name, or a file's own entry.
    pub async fn list(&self, path: &HomePath) -> Result<Vec<Entry>, StoreError> {
        if self.home.answers_at_once() {
            if let Some(entries) = self.home.list_at_most(path, INLINE_ENTRIES)? {
                return Ok(entries);
            }
        }
        let path = path.clone();
        self.run(move |home| Ok(home.list_at_most(&path, usize::MAX)?.unwrap_or_default()))
            .await
    }

    /// At most `limit` of a directory's entries in name (byte) order,
    /// starting after the name `after` (the last one of the previous
    /// page; `None` for the first page), and whether more follow. Pages
    /// are keyed by name, not position: a name added or removed between
    /// two pages never makes another one show twice or not at all.
    pub async fn list_page(
        &self,
        path: &HomePath,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        let mut entries = self.list(path).await?;
        let start = after.map_or(0, |name| {
            entries.partition_point(|entry| entry.name.as_str() <= name)
        });
        let end = start.saturating_add(limit).min(entries.len());
        let more = end < entries.len();
        entries.truncate(end);
        Ok(ListPage {
            entries: entries.split_off(start),
            more,
        })
    }

    /// Makes a directory; with `parents`, its missing parents too, and an
    /// existing directory is no error.
    pub async fn mkdir(&self, path: &HomePath, parents: bool) -> Result<(), StoreError> {
        if path.is_home() {
            return if parents {
                Ok(())
            } else {
                Err(StoreError::new(ErrorKind::Exists, "~: already exists"))
            };
        }
        let path = path.clone();
        self.run(move |home| home.mkdir(&path, parents)).await
    }

    /// Removes a file or symlink; with `recursive`, a directory and all
    /// in it. It goes to the trash (its bytes still counted) unless the
    /// trash is off; then the bytes freed leave the user's usage.
    pub async fn remove(&self, path: &HomePath, recursive: bool) -> Result<(), StoreError> {
        let result = self.remove_unaudited(path, recursive).await;
        self.audit(Event::Remove {
            peer: self.peer,
            user: &self.user,
            path: &path.to_string(),
            recursive,
            trash: result.as_ref().ok().and_then(|item| item.as_deref()),
            result: outcome(&result),
        });
        result.map(|_| ())
    }

    /// The trash item's id, when it went there.
    async fn remove_unaudited(
        &self,
        path: &HomePath,
        recursive: bool,
    ) -> Result<Option<String>, StoreError> {
        if path.is_home() {
            return Err(StoreError::new(
                ErrorKind::PermissionDenied,
                "cannot remove the home directory",
            ));
        }
        let target = path.clone();
        let to_trash = self.retention.trash_on();
        let (item, freed) = self
            .run(move |home| {
                if !recursive && home.entry(&target)?.kind == EntryKind::Dir {
                    return Err(is_a_directory(home, &target));
                }
                if to_trash {
                    return Ok((Some(home.trash(&target)?.id), 0));
                }
                let freed = if recursive {
                    home.remove_tree(&target)?
                } else {
                    home.remove_file(&target)?
                };
                Ok((None, freed))
            })
            .await?;
        self.store.quotas.freed(&self.user, freed);
        Ok(item)
    }

    /// Removes an empty directory.
    pub async fn rmdir(&self, path: &HomePath) -> Result<(), StoreError> {
        let result = if path.is_home() {
            Err(StoreError::new(
                ErrorKind::PermissionDenied,
                "cannot remove the home directory",
            ))
        } else {
            let target = path.clone();
            self.run(move |home| home.remove_dir(&target)).await
        };
        self.audit(Event::Rmdir {
            peer: self.peer,
            user: &self.user,
            path: &path.to_string(),
            result: outcome(&result),
        });
        result
    }

    /// Moves `from` to `to`, like mv(1): an existing directory at `to`
    /// receives it inside; a file at `to` is replaced (kept as its newest
    /// old version, or its bytes freed when versions are off).
    pub async fn rename(&self, from: &HomePath, to: &HomePath) -> Result<(), StoreError> {
        let result = self.rename_unaudited(from, to).await;
        self.audit(Event::Rename {
            peer: self.peer,
            user: &self.user,
            from: &from.to_string(),
            to: &to.to_string(),
            result: outcome(&result),
        });
        result
    }

    async fn rename_unaudited(&self, from: &HomePath, to: &HomePath) -> Result<(), StoreError> {
        let Some(name) = from.file_name().map(str::to_owned) else {
            return Err(StoreError::new(
                ErrorKind::PermissionDenied,
                "cannot move the home directory",
            ));
        };
        let (from, to) = (from.clone(), to.clone());
        let on_replace = self.retention.on_replace();
        let replaced = self
            .run(move |home| {
                let target = if home.is_dir(&to) {
                    to.join(&name)?
                } else {
                    to
                };
                if target == from {
                    return Ok(0);
                }
                if target.names().starts_with(from.names()) {
                    return Err(StoreError::new(
                        ErrorKind::Invalid,
                        format!("cannot move {from} into itself ({target})"),
                    ));
                }
                let keep_versions = match on_replace {
                    Existing::KeepVersions(keep) => Some(keep),
                    _ => None,
                };
                home.rename(&from, &target, keep_versions)
            })
            .await?;
        self.store.quotas.freed(&self.user, replaced);
        Ok(())
    }

    /// Sets a file's or directory's modification time (seconds since the
    /// epoch): what a client says its copy's time is (Windows' WebDAV
    /// client sends it after an upload). Audited as a `touch`.
    pub async fn set_modified(&self, path: &HomePath, modified: i64) -> Result<(), StoreError> {
        let target = path.clone();
        let result = self
            .run(move |home| home.set_modified(&target, modified))
            .await;
        self.audit(Event::Touch {
            peer: self.peer,
            user: &self.user,
            path: &path.to_string(),
            result: outcome(&result),
        });
        result
    }

    /// The user's quota now: their own, else the server's default.
    pub async fn quota(&self) -> Result<Option<u64>, StoreError> {
        self.store.quota_of(&self.user).await
    }

    pub async fn usage(&self) -> Result<SpaceUsage, StoreError> {
        let account = self.store.quotas.account(&self.user).await?;
        let (partials, kept) = self
            .run(|home| Ok((home.kept_partial_bytes(), home.kept_bytes()?)))
            .await?;
        Ok(SpaceUsage {
            used: account.used,
            reserved: account.reserved,
            partials,
            trash: kept.trash,
            versions: kept.versions,
            quota: self.quota().await?,
        })
    }

    /// The kept partial uploads, sorted by target.
    pub async fn partials(&self) -> Result<Vec<PartialUpload>, StoreError> {
        let partials = self.partials.clone();
        let ttl = self.store.config.partial_ttl;
        self.run(move |home| home.kept_partials(&partials, ttl))
            .await
    }

    /// Discards the kept partial upload to `target`, freeing its bytes.
    pub async fn discard_partial(&self, target: &HomePath) -> Result<(), StoreError> {
        let (check, partials) = (target.clone(), self.partials.clone());
        let result = self
            .run(move |home| home.discard_partial(&check, &partials))
            .await
            .map(|freed| self.store.quotas.freed(&self.user, freed));
        self.audit(Event::PartialRemove {
            peer: self.peer,
            user: &self.user,
            path: &target.to_string(),
            result: outcome(&result),
        });
        result
    }
}

/// A result as the audit log shows it: "ok" or the error code.
pub(crate) fn outcome<T>(result: &Result<T, StoreError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(err) => err.code().as_str(),
    }
}

/// `rm` of a directory without `recursive`: says which command does it.
fn is_a_directory(home: &dyn Home, path: &HomePath) -> StoreError {
    let empty = matches!(home.list_at_most(path, 0), Ok(Some(_)));
    let hint = if empty { "rmdir" } else { "rm -r" };
    StoreError::new(
        ErrorKind::IsADirectory,
        format!("{path}: is a directory (use {hint})"),
    )
}

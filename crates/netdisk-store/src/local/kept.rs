//! What the local back-end keeps of deleted and replaced files, outside
//! the home (no client path can name it), one directory per user:
//!
//! ```text
//! ROOT/kept/NAME/trash/ID/meta.json + data          a deleted file or tree
//! ROOT/kept/NAME/versions/KEY/ID/meta.json + data   an old version of a file
//! ```
//!
//! `KEY` is a hash of the file's path (its versions in one small
//! directory), `ID` the time it was kept in nanoseconds and a random
//! suffix, so names sort oldest first. Every move is one atomic rename or
//! link after the item's meta.json is durable, so a crash at any point
//! leaves the thing in the home or in the item, never in neither and
//! never half; an item left without its data, or a version whose link was
//! made but whose replacement never happened, is swept at startup.

use super::hash_record;
use super::home::{io_err, LocalHome};
use crate::backend::{HashLookup, KeptBytes};
use crate::error::{ErrorKind, StoreError};
use cap_std::fs::{Dir, MetadataExt};
use netdisk_proto::response::{FileVersion, TrashItem};
use netdisk_proto::{EntryKind, HomePath};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

const TRASH: &str = "trash";
const VERSIONS: &str = "versions";
const META: &str = "meta.json";
const DATA: &str = "data";

/// An item's meta.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    /// Relative to the home ("docs/a.txt").
    path: String,
    kind: EntryKind,
    size: u64,
    /// When it was kept, seconds since the epoch.
    at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modified: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blake3: Option<String>,
}

fn new_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:020}-{:04x}", rand::thread_rng().next_u32() & 0xffff)
}

/// An id as `new_id` makes them: anything else (a path, `..`) is refused
/// before it is used as a name.
fn valid_id(id: &str) -> Result<&str, StoreError> {
    let ok = id.len() == 25
        && id.as_bytes()[20] == b'-'
        && id[..20].bytes().all(|b| b.is_ascii_digit())
        && id[21..]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(id)
    } else {
        Err(StoreError::new(
            ErrorKind::NotFound,
            format!("no item {id:?} (ids look like 00001796606257123456-9f3a)"),
        ))
    }
}

/// The directory of a file's versions: 32 hex digits of its path's BLAKE3.
fn version_key(path: &HomePath) -> String {
    let hash = blake3::hash(path.relative().as_bytes());
    hash.to_hex()[..32].to_owned()
}

fn now() -> i64 {
    crate::users::now()
}

fn item_err(what: &str) -> impl Fn(io::Error) -> StoreError + '_ {
    move |e| StoreError::from_io(&e, what)
}

/// Syncs a directory of the kept area (the rename or link into it survives a crash).
fn sync(dir: &Dir, path: &str) -> Result<(), StoreError> {
    dir.open(path)
        .and_then(|d| d.sync_all())
        .map_err(item_err(path))
}

impl LocalHome {
    /// Writes a new item's meta.json, durably, under `parent`; returns its
    /// directory ("trash/ID").
    fn new_item(&self, parent: &str, meta: &Meta) -> Result<(String, String), StoreError> {
        let id = new_id();
        let dir = format!("{parent}/{id}");
        self.kept.create_dir_all(&dir).map_err(item_err(&dir))?;
        let json = serde_json::to_vec(meta)
            .map_err(|e| StoreError::new(ErrorKind::Internal, format!("item meta: {e}")))?;
        let mut file = self
            .kept
            .create(format!("{dir}/{META}"))
            .map_err(item_err(&dir))?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(item_err(&dir))?;
        Ok((id, dir))
    }

    fn read_meta(&self, dir: &str) -> Option<Meta> {
        let bytes = self.kept.read(format!("{dir}/{META}")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Moves what is at `path` (a file, a symlink, a whole tree) into the
    /// trash, in one rename.
    pub(crate) fn trash(&self, path: &HomePath) -> Result<TrashItem, StoreError> {
        let entry = self.entry(path)?;
        let size = match entry.kind {
            EntryKind::Dir => self.bytes_under(path)?,
            EntryKind::File => entry.size,
            _ => 0,
        };
        let meta = Meta {
            path: path.relative(),
            kind: entry.kind,
            size,
            at: now(),
            modified: entry.modified,
            blake3: None,
        };
        let (id, dir) = self.new_item(TRASH, &meta)?;
        if let Err(err) = self
            .dir
            .rename(path.relative(), &self.kept, format!("{dir}/{DATA}"))
            .map_err(io_err(path))
        {
            let _ = self.kept.remove_dir_all(&dir);
            return Err(err);
        }
        self.sync_dir(&path.parent())?;
        sync(&self.kept, &dir)?;
        Ok(trash_item(id, &meta))
    }

    /// The trash, oldest first. Items a crash left unfinished are skipped
    /// (the startup sweep removes them).
    pub(crate) fn trash_items(&self) -> Result<Vec<TrashItem>, StoreError> {
        let mut items = Vec::new();
        for id in self.item_ids(TRASH)? {
            let dir = format!("{TRASH}/{id}");
            if let (Some(meta), true) = (self.read_meta(&dir), self.has_data(&dir)) {
                items.push(trash_item(id, &meta));
            }
        }
        Ok(items)
    }

    /// The ids under `parent`, sorted (oldest first); none if it is missing.
    fn item_ids(&self, parent: &str) -> Result<Vec<String>, StoreError> {
        let entries = match self.kept.read_dir(parent) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(item_err(parent)(e)),
        };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| valid_id(name).is_ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn has_data(&self, dir: &str) -> bool {
        self.kept.symlink_metadata(format!("{dir}/{DATA}")).is_ok()
    }

    /// Moves a trash item back into the home at `to`, only onto a free
    /// name (decided atomically), making missing parents.
    pub(crate) fn restore_trash(&self, id: &str, to: &HomePath) -> Result<(), StoreError> {
        let dir = format!("{TRASH}/{}", valid_id(id)?);
        if self.read_meta(&dir).is_none() || !self.has_data(&dir) {
            return Err(StoreError::new(
                ErrorKind::NotFound,
                format!("no item {id} in the trash"),
            ));
        }
        let Some(name) = to.file_name() else {
            return Err(StoreError::new(ErrorKind::Exists, "~: already exists"));
        };
        let parent = to.parent();
        if !parent.is_home() {
            self.mkdir(&parent, true)?;
        }
        let from = self.kept.open_dir(&dir).map_err(item_err(&dir))?;
        let into = self
            .dir
            .open_dir(parent.relative())
            .map_err(io_err(&parent))?;
        rename_noreplace(&from, DATA, &into, name).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => {
                StoreError::new(ErrorKind::Exists, format!("{to}: already exists"))
            }
            _ => StoreError::from_io(&e, &to.to_string()),
        })?;
        self.sync_dir(&parent)?;
        // The item is empty now: what a crash leaves of it here is swept.
        let _ = self.kept.remove_dir_all(&dir);
        Ok(())
    }

    /// Deletes a trash item for good; returns its bytes.
    pub(crate) fn purge_trash(&self, id: &str) -> Result<u64, StoreError> {
        let dir = format!("{TRASH}/{}", valid_id(id)?);
        let Some(meta) = self.read_meta(&dir) else {
            return Err(StoreError::new(
                ErrorKind::NotFound,
                format!("no item {id} in the trash"),
            ));
        };
        self.kept.remove_dir_all(&dir).map_err(item_err(&dir))?;
        Ok(meta.size)
    }

    /// Links the regular file at `target` (about to be replaced) in as a
    /// new version of it; `None` when there is no regular, non-empty file
    /// there.
    /// Undo with `drop_version` if the replacement then fails.
    pub(crate) fn keep_version(&self, target: &HomePath) -> Result<Option<String>, StoreError> {
        let Ok(meta) = self.dir.symlink_metadata(target.relative()) else {
            return Ok(None);
        };
        // An empty file is not worth a version (Windows' WebDAV client
        // makes one before every upload).
        if !meta.is_file() || meta.len() == 0 {
            return Ok(None);
        }
        let blake3 =
            self.open_file(target)
                .ok()
                .and_then(|(file, _)| match hash_record::read(&file) {
                    HashLookup::Recorded(hash) => Some(hash),
                    HashLookup::Missing(_) => None,
                });
        let meta = Meta {
            path: target.relative(),
            kind: EntryKind::File,
            size: meta.len(),
            at: now(),
            modified: Some(meta.mtime()),
            blake3,
        };
        let parent = format!("{VERSIONS}/{}", version_key(target));
        let (id, dir) = self.new_item(&parent, &meta)?;
        if let Err(e) = self
            .dir
            .hard_link(target.relative(), &self.kept, format!("{dir}/{DATA}"))
        {
            let _ = self.kept.remove_dir_all(&dir);
            return Err(io_err(target)(e));
        }
        sync(&self.kept, &dir)?;
        Ok(Some(id))
    }

    /// Removes a version `keep_version` made, whose replacement failed.
    pub(crate) fn drop_version(&self, target: &HomePath, id: &str) {
        let dir = format!("{VERSIONS}/{}/{id}", version_key(target));
        let _ = self.kept.remove_dir_all(dir);
    }

    /// A file's old versions, oldest first.
    pub(crate) fn versions(&self, path: &HomePath) -> Result<Vec<FileVersion>, StoreError> {
        let parent = format!("{VERSIONS}/{}", version_key(path));
        let wanted = path.relative();
        let mut versions = Vec::new();
        for id in self.item_ids(&parent)? {
            let dir = format!("{parent}/{id}");
            match self.read_meta(&dir) {
                Some(meta) if meta.path == wanted && self.has_data(&dir) => {
                    versions.push(FileVersion {
                        id,
                        size: meta.size,
                        replaced: meta.at,
                        modified: meta.modified,
                        blake3: meta.blake3,
                    })
                }
                _ => {}
            }
        }
        Ok(versions)
    }

    /// Deletes all but the newest `keep` old versions of `path`; returns the bytes.
    pub(crate) fn trim_versions(&self, path: &HomePath, keep: u32) -> Result<u64, StoreError> {
        let versions = self.versions(path)?;
        let surplus = versions.len().saturating_sub(keep as usize);
        let mut freed = 0;
        for version in &versions[..surplus] {
            freed += self.purge_version(path, &version.id)?;
        }
        Ok(freed)
    }

    /// Opens an old version of `path` for reading.
    pub(crate) fn open_version(
        &self,
        path: &HomePath,
        id: &str,
    ) -> Result<std::fs::File, StoreError> {
        let dir = format!("{VERSIONS}/{}/{}", version_key(path), valid_id(id)?);
        let missing = || StoreError::new(ErrorKind::NotFound, format!("{path}: no version {id}"));
        match self.read_meta(&dir) {
            Some(meta) if meta.path == path.relative() => {}
            _ => return Err(missing()),
        }
        self.kept
            .open(format!("{dir}/{DATA}"))
            .map(|file| file.into_std())
            .map_err(|_| missing())
    }

    /// Deletes an old version of `path` for good; returns its bytes.
    pub(crate) fn purge_version(&self, path: &HomePath, id: &str) -> Result<u64, StoreError> {
        let dir = format!("{VERSIONS}/{}/{}", version_key(path), valid_id(id)?);
        match self.read_meta(&dir) {
            Some(meta) if meta.path == path.relative() => {
                self.kept.remove_dir_all(&dir).map_err(item_err(&dir))?;
                Ok(meta.size)
            }
            _ => Err(StoreError::new(
                ErrorKind::NotFound,
                format!("{path}: no version {id}"),
            )),
        }
    }

    /// Every kept item, oldest first, as (when, its directory, bytes, is
    /// trash): what freeing space and expiry walk through.
    fn all_items(&self) -> Result<Vec<(String, String, u64, bool)>, StoreError> {
        let mut all = Vec::new();
        for id in self.item_ids(TRASH)? {
            let dir = format!("{TRASH}/{id}");
            let size = self.read_meta(&dir).map_or(0, |m| m.size);
            all.push((id, dir, size, true));
        }
        let keys = match self.kept.read_dir(VERSIONS) {
            Ok(entries) => entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(_) => Vec::new(),
        };
        for key in keys {
            let parent = format!("{VERSIONS}/{key}");
            for id in self.item_ids(&parent)? {
                let dir = format!("{parent}/{id}");
                let size = self.read_meta(&dir).map_or(0, |m| m.size);
                all.push((id, dir, size, false));
            }
        }
        all.sort();
        Ok(all)
    }

    /// Bytes in the trash and in old versions.
    pub(crate) fn kept_bytes(&self) -> Result<KeptBytes, StoreError> {
        let mut bytes = KeptBytes::default();
        for (_, _, size, trash) in self.all_items()? {
            match trash {
                true => bytes.trash += size,
                false => bytes.versions += size,
            }
        }
        Ok(bytes)
    }

    /// Deletes the oldest trash items, then (`versions_too`) the oldest
    /// versions, until at least `wanted` bytes are freed; returns the
    /// bytes. Deletes nothing when all of them would not free enough: an
    /// upload that fails anyway costs no one their trash.
    pub(crate) fn release_oldest(
        &self,
        wanted: u64,
        versions_too: bool,
    ) -> Result<u64, StoreError> {
        let items = self.all_items()?;
        let ordered: Vec<_> = items
            .iter()
            .filter(|item| item.3)
            .chain(items.iter().filter(|item| !item.3 && versions_too))
            .collect();
        if ordered.iter().map(|item| item.2).sum::<u64>() < wanted {
            return Ok(0);
        }
        let mut freed = 0u64;
        for (_, dir, size, _) in ordered {
            if freed >= wanted {
                break;
            }
            self.kept.remove_dir_all(dir).map_err(item_err(dir))?;
            freed += size;
        }
        Ok(freed)
    }

    /// Deletes trash items kept before `before` (seconds since the epoch);
    /// returns the bytes.
    pub(crate) fn expire_trash(&self, before: i64) -> Result<u64, StoreError> {
        let mut freed = 0;
        for id in self.item_ids(TRASH)? {
            let dir = format!("{TRASH}/{id}");
            match self.read_meta(&dir) {
                Some(meta) if meta.at < before => {
                    self.kept.remove_dir_all(&dir).map_err(item_err(&dir))?;
                    freed += meta.size;
                }
                _ => {}
            }
        }
        Ok(freed)
    }

    /// Removes what a crash left half made: items without their meta or
    /// data, and versions whose file was linked in but never replaced
    /// (the home still has it: two links). Run before the usage is measured.
    pub(crate) fn sweep_kept(&self) {
        let Ok(items) = self.all_items() else { return };
        for (_, dir, _, trash) in items {
            let complete = self.read_meta(&dir).is_some() && self.has_data(&dir);
            let unreplaced = !trash
                && self
                    .kept
                    .symlink_metadata(format!("{dir}/{DATA}"))
                    .is_ok_and(|meta| meta.nlink() > 1);
            if !complete || unreplaced {
                tracing::info!(item = %dir, "removing a kept item a crash left unfinished");
                let _ = self.kept.remove_dir_all(&dir);
            }
        }
    }
}

fn trash_item(id: String, meta: &Meta) -> TrashItem {
    TrashItem {
        id,
        path: format!("~/{}", meta.path),
        kind: meta.kind,
        size: meta.size,
        deleted: meta.at,
    }
}

/// `renameat2(RENAME_NOREPLACE)` between two directories opened through
/// cap-std, each name a single component (so nothing is resolved beyond
/// the handles). cap-std has no rename that refuses to replace.
fn rename_noreplace(from: &Dir, from_name: &str, to: &Dir, to_name: &str) -> io::Result<()> {
    rustix::fs::renameat_with(
        from,
        from_name,
        to,
        to_name,
        rustix::fs::RenameFlags::NOREPLACE,
    )
    .map_err(io::Error::from)
}

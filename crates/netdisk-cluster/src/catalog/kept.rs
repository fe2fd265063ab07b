//! The trash and old versions, as rows: what `trash` takes out of the
//! home moves from `entries` into `trashed_entries` under an item of
//! `trash`, and a replaced file's row becomes a row of `versions`. No
//! byte is copied: an object stays where it is, named by its new row, and
//! still counts in `used` until it is purged, expired or trimmed (then it
//! is doomed). Mirrors the local back-end (netdisk_store's local/kept.rs),
//! including its order: oldest first, by id.

use super::namespace::{
    doom, doom_removed, free_used, kind_code, kind_of_code, lock_subtree, make_dirs, not_found,
    now, require_dir, row_at, CatalogEntry, Lock, Replaced, MOVED, ROW_COLUMNS, SUBTREE,
};
use super::quota::lock_account;
use super::{database, from_sql_size, to_sql_size, Catalog};
use crate::objects::ObjectKey;
use deadpool_postgres::GenericClient;
use netdisk_proto::response::{FileVersion, TrashItem};
use netdisk_proto::HomePath;
use netdisk_store::{ErrorKind, Existing, KeptBytes, StoreError};

/// An old version, with the object that holds its bytes (to read it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptVersion {
    pub version: FileVersion,
    pub object: ObjectKey,
}

/// An item's or a version's id: the decimal row id. Anything else names
/// nothing.
fn parse_id(id: &str, missing: impl Fn() -> StoreError) -> Result<i64, StoreError> {
    match id.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(missing()),
    }
}

fn no_trash_item(id: &str) -> StoreError {
    StoreError::new(ErrorKind::NotFound, format!("no item {id} in the trash"))
}

fn no_version(path: &HomePath, id: &str) -> StoreError {
    StoreError::new(ErrorKind::NotFound, format!("{path}: no version {id}"))
}

/// A trash item from (id, path, kind, size, deleted).
fn trash_item_of_row(row: &tokio_postgres::Row) -> TrashItem {
    TrashItem {
        id: row.get::<_, i64>(0).to_string(),
        path: format!("~/{}", row.get::<_, &str>(1)),
        kind: kind_of_code(row.get(2)),
        size: from_sql_size(row.get(3)),
        deleted: row.get(4),
    }
}

const VERSION_COLUMNS: &str = "id, size, replaced, modified, blake3";

/// A version from `VERSION_COLUMNS`.
fn version_of_row(row: &tokio_postgres::Row) -> FileVersion {
    FileVersion {
        id: row.get::<_, i64>(0).to_string(),
        size: from_sql_size(row.get(1)),
        replaced: row.get(2),
        modified: row.get(3),
        blake3: row.get(4),
    }
}

/// Deals with the file `old`, whose row at `path` a commit or a move has
/// just deleted, as `existing` says: with versions kept, its row becomes
/// the newest old version of `path` and versions beyond `keep` are
/// deleted; otherwise (or for an empty file, not worth a version, as in
/// the local back-end) its object is doomed. Returns what left the
/// account, for the caller to take off `used`.
pub(super) async fn retire_replaced(
    client: &impl GenericClient,
    owner: &str,
    path: &HomePath,
    old: &CatalogEntry,
    existing: Existing,
) -> Result<Replaced, StoreError> {
    let keep = match existing {
        Existing::KeepVersions(keep) if old.entry.size > 0 => keep,
        _ => {
            doom(client, old.object.as_ref()).await?;
            return Ok(Replaced {
                object: old.object.clone(),
                bytes: old.entry.size,
                partial: None,
            });
        }
    };
    let Some(object) = &old.object else {
        return Err(StoreError::new(
            ErrorKind::Internal,
            format!("{path}: a file's row names no object"),
        ));
    };
    client
        .execute(
            "INSERT INTO versions (owner, path, size, blake3, object, modified, replaced)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &owner,
                &path.relative(),
                &to_sql_size(old.entry.size)?,
                &old.blake3,
                &object.as_str(),
                &old.entry.modified,
                &now(),
            ],
        )
        .await
        .map_err(database)?;
    let trimmed = delete_surplus_versions(client, owner, path, keep).await?;
    // With `keep` 0 the replaced file goes at once, as it would have.
    let went = trimmed
        .iter()
        .any(|row| row.get::<_, Option<&str>>(0) == Some(object.as_str()));
    Ok(Replaced {
        object: went.then(|| object.clone()),
        bytes: doom_removed(client, &trimmed).await?,
        partial: None,
    })
}

/// Deletes all but the newest `keep` old versions of `path`; returns the
/// deleted rows (object, size), whose objects are not yet doomed.
async fn delete_surplus_versions(
    client: &impl GenericClient,
    owner: &str,
    path: &HomePath,
    keep: u32,
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    client
        .query(
            "DELETE FROM versions WHERE id IN (
                SELECT id FROM versions WHERE owner = $1 AND path = $2
                ORDER BY id DESC OFFSET $3)
             RETURNING object, size",
            &[&owner, &path.relative(), &i64::from(keep)],
        )
        .await
        .map_err(database)
}

/// Deletes `owner`'s trash items `ids` with their rows; their objects are
/// doomed. Returns how many items there were and their bytes, for the
/// caller to take off `used` (the account row is locked).
async fn purge_trash_items(
    client: &impl GenericClient,
    owner: &str,
    ids: &[i64],
) -> Result<(u64, u64), StoreError> {
    let removed = client
        .query(
            "DELETE FROM trashed_entries
             WHERE item IN (SELECT id FROM trash WHERE owner = $1 AND id = ANY($2))
             RETURNING object, size",
            &[&owner, &ids],
        )
        .await
        .map_err(database)?;
    let items = client
        .execute(
            "DELETE FROM trash WHERE owner = $1 AND id = ANY($2)",
            &[&owner, &ids],
        )
        .await
        .map_err(database)?;
    Ok((items, doom_removed(client, &removed).await?))
}

/// Deletes `owner`'s old versions `ids`; their objects are doomed.
/// Returns their bytes, for the caller to take off `used`.
async fn purge_versions(
    client: &impl GenericClient,
    owner: &str,
    ids: &[i64],
) -> Result<u64, StoreError> {
    let removed = client
        .query(
            "DELETE FROM versions WHERE owner = $1 AND id = ANY($2) RETURNING object, size",
            &[&owner, &ids],
        )
        .await
        .map_err(database)?;
    doom_removed(client, &removed).await
}

/// `owner`'s (id, size) of trash items or of versions, oldest first.
async fn ids_and_sizes(
    client: &impl GenericClient,
    table: &str,
    owner: &str,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let rows = client
        .query(
            &format!("SELECT id, size FROM {table} WHERE owner = $1 ORDER BY id"),
            &[&owner],
        )
        .await
        .map_err(database)?;
    Ok(rows
        .iter()
        .map(|row| (row.get(0), from_sql_size(row.get(1))))
        .collect())
}

impl Catalog {
    /// Moves what is at `path` (a file or a whole tree) into `owner`'s
    /// trash, in one transaction: its rows leave the home whole, with
    /// their properties. Its bytes still count.
    pub async fn trash(&self, owner: &str, path: &HomePath) -> Result<TrashItem, StoreError> {
        if path.is_home() {
            return Err(StoreError::new(
                ErrorKind::PermissionDenied,
                "cannot move the home directory into the trash",
            ));
        }
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let top = row_at(&transaction, owner, path, Lock::Update)
            .await?
            .ok_or_else(|| not_found(path))?;
        lock_subtree(&transaction, owner, path).await?;
        let size: i64 = transaction
            .query_one(
                &format!(
                    "SELECT coalesce(sum(size), 0)::bigint FROM entries WHERE owner = $1 AND {SUBTREE}"
                ),
                &[&owner, &path.relative()],
            )
            .await
            .map_err(database)?
            .get(0);
        let deleted = now();
        let item: i64 = transaction
            .query_one(
                "INSERT INTO trash (owner, path, kind, size, deleted)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[
                    &owner,
                    &path.relative(),
                    &kind_code(top.entry.kind),
                    &size,
                    &deleted,
                ],
            )
            .await
            .map_err(database)?
            .get(0);
        transaction
            .execute(
                &format!(
                    "WITH moved AS (
                        DELETE FROM entries WHERE owner = $1 AND {SUBTREE} RETURNING {ROW_COLUMNS})
                     INSERT INTO trashed_entries (item, {ROW_COLUMNS})
                     SELECT $3, {ROW_COLUMNS} FROM moved"
                ),
                &[&owner, &path.relative(), &item],
            )
            .await
            .map_err(database)?;
        transaction.commit().await.map_err(database)?;
        Ok(TrashItem {
            id: item.to_string(),
            path: format!("~/{}", path.relative()),
            kind: top.entry.kind,
            size: from_sql_size(size),
            deleted,
        })
    }

    /// `owner`'s trash, oldest first.
    pub async fn trash_items(&self, owner: &str) -> Result<Vec<TrashItem>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, path, kind, size, deleted FROM trash WHERE owner = $1 ORDER BY id",
                &[&owner],
            )
            .await
            .map_err(database)?;
        Ok(rows.iter().map(trash_item_of_row).collect())
    }

    /// Moves the trash item `id` back into the home at `to` (missing
    /// parent directories made), in one transaction: only onto a free
    /// name, `exists` otherwise (a name taken meanwhile by another server
    /// too).
    pub async fn restore_trash(
        &self,
        owner: &str,
        id: &str,
        to: &HomePath,
    ) -> Result<(), StoreError> {
        let item = parse_id(id, || no_trash_item(id))?;
        if to.is_home() {
            return Err(StoreError::new(ErrorKind::Exists, "~: already exists"));
        }
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let from: String = transaction
            .query_opt(
                "SELECT path FROM trash WHERE id = $1 AND owner = $2 FOR UPDATE",
                &[&item, &owner],
            )
            .await
            .map_err(database)?
            .ok_or_else(|| no_trash_item(id))?
            .get(0);
        let parent = to.parent();
        if !parent.is_home() {
            make_dirs(&transaction, owner, &parent, true).await?;
        }
        // Held against its removal until the rows are in.
        require_dir(&transaction, owner, &parent, Lock::Share).await?;
        let restored = transaction
            .execute(
                &format!(
                    "INSERT INTO entries (owner, {ROW_COLUMNS})
                     SELECT $1::text, {MOVED}, kind, size, blake3, object, modified, mode, properties
                     FROM trashed_entries WHERE item = $6
                     ON CONFLICT DO NOTHING"
                ),
                &[
                    &owner,
                    &from,
                    &to.relative(),
                    &parent.relative(),
                    &to.file_name().unwrap_or_default(),
                    &item,
                ],
            )
            .await
            .map_err(database)?;
        let rows = transaction
            .execute("DELETE FROM trashed_entries WHERE item = $1", &[&item])
            .await
            .map_err(database)?;
        // Any row already there (the top one, unless the namespace is
        // broken): the transaction is dropped, nothing moved.
        if restored != rows {
            return Err(StoreError::new(
                ErrorKind::Exists,
                format!("{to}: already exists"),
            ));
        }
        transaction
            .execute("DELETE FROM trash WHERE id = $1", &[&item])
            .await
            .map_err(database)?;
        transaction.commit().await.map_err(database)
    }

    /// Deletes the trash item `id` for good: its rows go, its objects are
    /// doomed, its bytes leave the account. Returns them.
    pub async fn purge_trash(&self, owner: &str, id: &str) -> Result<u64, StoreError> {
        let item = parse_id(id, || no_trash_item(id))?;
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let (items, freed) = purge_trash_items(&transaction, owner, &[item]).await?;
        if items == 0 {
            return Err(no_trash_item(id));
        }
        free_used(&transaction, owner, freed).await?;
        transaction.commit().await.map_err(database)?;
        Ok(freed)
    }

    /// Deletes `owner`'s trash items deleted before `before` (seconds
    /// since the epoch); returns their bytes.
    pub async fn expire_trash(&self, owner: &str, before: i64) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let expired: Vec<i64> = transaction
            .query(
                "SELECT id FROM trash WHERE owner = $1 AND deleted < $2",
                &[&owner, &before],
            )
            .await
            .map_err(database)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let (_, freed) = purge_trash_items(&transaction, owner, &expired).await?;
        free_used(&transaction, owner, freed).await?;
        transaction.commit().await.map_err(database)?;
        Ok(freed)
    }

    /// The old versions of `path`, oldest first.
    pub async fn versions(
        &self,
        owner: &str,
        path: &HomePath,
    ) -> Result<Vec<FileVersion>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM versions
                     WHERE owner = $1 AND path = $2 ORDER BY id"
                ),
                &[&owner, &path.relative()],
            )
            .await
            .map_err(database)?;
        Ok(rows.iter().map(version_of_row).collect())
    }

    /// The old version `id` of `path`, with its object (to read it).
    pub async fn version(
        &self,
        owner: &str,
        path: &HomePath,
        id: &str,
    ) -> Result<KeptVersion, StoreError> {
        let version = parse_id(id, || no_version(path, id))?;
        let row = self
            .client()
            .await?
            .query_opt(
                &format!(
                    "SELECT {VERSION_COLUMNS}, object FROM versions
                     WHERE id = $1 AND owner = $2 AND path = $3"
                ),
                &[&version, &owner, &path.relative()],
            )
            .await
            .map_err(database)?
            .ok_or_else(|| no_version(path, id))?;
        let object = ObjectKey::parse(row.get(5)).ok_or_else(|| {
            StoreError::new(ErrorKind::Internal, "a version names a malformed object")
        })?;
        Ok(KeptVersion {
            version: version_of_row(&row),
            object,
        })
    }

    /// Deletes the old version `id` of `path` for good; returns its bytes.
    pub async fn purge_version(
        &self,
        owner: &str,
        path: &HomePath,
        id: &str,
    ) -> Result<u64, StoreError> {
        let version = parse_id(id, || no_version(path, id))?;
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let removed = transaction
            .query(
                "DELETE FROM versions WHERE id = $1 AND owner = $2 AND path = $3
                 RETURNING object, size",
                &[&version, &owner, &path.relative()],
            )
            .await
            .map_err(database)?;
        if removed.is_empty() {
            return Err(no_version(path, id));
        }
        let freed = doom_removed(&transaction, &removed).await?;
        free_used(&transaction, owner, freed).await?;
        transaction.commit().await.map_err(database)?;
        Ok(freed)
    }

    /// Deletes all but the newest `keep` old versions of `path`; returns
    /// their bytes.
    pub async fn trim_versions(
        &self,
        owner: &str,
        path: &HomePath,
        keep: u32,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let trimmed = delete_surplus_versions(&transaction, owner, path, keep).await?;
        let freed = doom_removed(&transaction, &trimmed).await?;
        free_used(&transaction, owner, freed).await?;
        transaction.commit().await.map_err(database)?;
        Ok(freed)
    }

    /// Bytes in `owner`'s trash and in their old versions.
    pub async fn kept_bytes(&self, owner: &str) -> Result<KeptBytes, StoreError> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT (SELECT coalesce(sum(size), 0)::bigint FROM trash WHERE owner = $1),
                        (SELECT coalesce(sum(size), 0)::bigint FROM versions WHERE owner = $1)",
                &[&owner],
            )
            .await
            .map_err(database)?;
        Ok(KeptBytes {
            trash: from_sql_size(row.get(0)),
            versions: from_sql_size(row.get(1)),
        })
    }

    /// Deletes `owner`'s oldest trash items, then (`versions_too`) their
    /// oldest old versions, until at least `wanted` bytes are freed;
    /// returns the bytes. Deletes nothing when all of them together would
    /// not free enough: an upload that fails anyway costs no one their trash.
    pub async fn release_oldest(
        &self,
        owner: &str,
        wanted: u64,
        versions_too: bool,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let trash = ids_and_sizes(&transaction, "trash", owner).await?;
        let versions = match versions_too {
            true => ids_and_sizes(&transaction, "versions", owner).await?,
            false => Vec::new(),
        };
        let all: u64 = trash.iter().chain(&versions).map(|(_, size)| size).sum();
        if all < wanted {
            return Ok(0);
        }
        let (mut items, mut old_versions, mut chosen) = (Vec::new(), Vec::new(), 0u64);
        let candidates = trash
            .iter()
            .map(|&(id, size)| (true, id, size))
            .chain(versions.iter().map(|&(id, size)| (false, id, size)));
        for (is_trash, id, size) in candidates {
            if chosen >= wanted {
                break;
            }
            match is_trash {
                true => items.push(id),
                false => old_versions.push(id),
            }
            chosen += size;
        }
        let (_, from_trash) = purge_trash_items(&transaction, owner, &items).await?;
        let freed = from_trash + purge_versions(&transaction, owner, &old_versions).await?;
        free_used(&transaction, owner, freed).await?;
        transaction.commit().await.map_err(database)?;
        Ok(freed)
    }
}

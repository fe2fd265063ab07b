//! Names: files and directories by their path from the home. A file's
//! row appears, changes and goes in one transaction with the account's
//! figures, so `used` is always the sum of the rows (with the trash's
//! and the old versions', kept.rs).

use super::kept::retire_replaced;
use super::partials::{drop_unless_held, KeptUpload};
use super::quota::{drop_reservation, lock_account, Reservation};
use super::{database, from_sql_size, to_sql_size, Catalog};
use crate::objects::ObjectKey;
use deadpool_postgres::GenericClient;
use netdisk_proto::{Entry, EntryKind, HomePath};
use netdisk_store::{ErrorKind, Existing, StoreError};

/// A row of the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub entry: Entry,
    /// A file's BLAKE3, recorded at its commit.
    pub blake3: Option<String>,
    /// A file's object.
    pub object: Option<ObjectKey>,
}

/// A complete, verified object to make the file at `path`.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub path: HomePath,
    pub size: u64,
    pub blake3: String,
    pub object: ObjectKey,
    pub modified: Option<i64>,
    pub mode: Option<u32>,
}

/// What a commit, a move or a removal took out of the account: the
/// object of the file that was there, when it was doomed rather than
/// kept as an old version, and every byte that left `used` (that file's,
/// or with versions kept, the old versions trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replaced {
    pub object: Option<ObjectKey>,
    pub bytes: u64,
    /// A kept partial upload of the target that a commit forgot (its
    /// parts' bytes left `used`): the caller aborts it, unless it is the
    /// upload that made the committed object.
    pub partial: Option<KeptUpload>,
}

const COLUMNS: &str = "name, kind, size, modified, mode, blake3, object";
/// The row at path $2 and every row below it. A prefix compared as text,
/// not LIKE, whose `%` and `_` a name may hold.
pub(super) const SUBTREE: &str = "(path = $2 OR left(path, char_length($2) + 1) = $2 || '/')";

const DIR: i8 = b'd' as i8;
const FILE: i8 = b'f' as i8;

/// The `kind` column's value.
pub(super) fn kind_code(kind: EntryKind) -> i8 {
    match kind {
        EntryKind::Dir => DIR,
        _ => FILE,
    }
}

pub(super) fn kind_of_code(code: i8) -> EntryKind {
    if code == DIR {
        EntryKind::Dir
    } else {
        EntryKind::File
    }
}

fn entry_of_row(row: &tokio_postgres::Row) -> CatalogEntry {
    let kind = kind_of_code(row.get(1));
    CatalogEntry {
        entry: Entry {
            name: row.get(0),
            kind,
            size: from_sql_size(row.get(2)),
            modified: row.get(3),
            mode: row
                .get::<_, Option<i32>>(4)
                .and_then(|mode| u32::try_from(mode).ok()),
        },
        blake3: row.get(5),
        object: row.get::<_, Option<&str>>(6).and_then(ObjectKey::parse),
    }
}

pub(super) fn not_found(path: &HomePath) -> StoreError {
    StoreError::new(
        ErrorKind::NotFound,
        format!("{path}: no such file or directory"),
    )
}

pub(super) fn now() -> i64 {
    netdisk_store::unix_now()
}

/// How a read locks the row it finds, until the transaction ends.
#[derive(Clone, Copy)]
pub(super) enum Lock {
    None,
    /// Against removal and change by others (a parent directory).
    Share,
    /// For this transaction to change it.
    Update,
}

impl Lock {
    fn clause(self) -> &'static str {
        match self {
            Lock::None => "",
            Lock::Share => " FOR SHARE",
            Lock::Update => " FOR UPDATE",
        }
    }
}

/// The row at `path`.
pub(super) async fn row_at(
    client: &impl GenericClient,
    owner: &str,
    path: &HomePath,
    lock: Lock,
) -> Result<Option<CatalogEntry>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM entries WHERE owner = $1 AND path = $2{}",
        lock.clause()
    );
    let row = client
        .query_opt(&sql, &[&owner, &path.relative()])
        .await
        .map_err(database)?;
    Ok(row.as_ref().map(entry_of_row))
}

/// Checks that `dir` is a directory (the home always is).
pub(super) async fn require_dir(
    client: &impl GenericClient,
    owner: &str,
    dir: &HomePath,
    lock: Lock,
) -> Result<(), StoreError> {
    if dir.is_home() {
        return Ok(());
    }
    match row_at(client, owner, dir, lock).await? {
        Some(row) if row.entry.kind == EntryKind::Dir => Ok(()),
        Some(_) => Err(StoreError::new(
            ErrorKind::NotADirectory,
            format!("{dir}: not a directory"),
        )),
        None => Err(not_found(dir)),
    }
}

/// `not_empty` if anything is in the directory `dir`.
async fn require_empty(
    client: &impl GenericClient,
    owner: &str,
    dir: &HomePath,
) -> Result<(), StoreError> {
    let occupied = client
        .query_opt(
            "SELECT 1 FROM entries WHERE owner = $1 AND parent = $2 LIMIT 1",
            &[&owner, &dir.relative()],
        )
        .await
        .map_err(database)?;
    match occupied {
        Some(_) => Err(StoreError::new(
            ErrorKind::NotEmpty,
            format!("{dir}: directory not empty"),
        )),
        None => Ok(()),
    }
}

impl Catalog {
    /// What `path` is.
    pub async fn entry(&self, owner: &str, path: &HomePath) -> Result<CatalogEntry, StoreError> {
        if path.is_home() {
            return Ok(CatalogEntry {
                entry: Entry {
                    name: "~".into(),
                    kind: EntryKind::Dir,
                    size: 0,
                    modified: None,
                    mode: None,
                },
                blake3: None,
                object: None,
            });
        }
        let client = self.client().await?;
        row_at(&client, owner, path, Lock::None)
            .await?
            .ok_or_else(|| not_found(path))
    }

    /// The directory `dir`'s entries, by name (bytewise).
    pub async fn list(&self, owner: &str, dir: &HomePath) -> Result<Vec<CatalogEntry>, StoreError> {
        let mut client = self.client().await?;
        // One snapshot for the check and the listing.
        let transaction = client
            .build_transaction()
            .read_only(true)
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await
            .map_err(database)?;
        require_dir(&transaction, owner, dir, Lock::None).await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM entries WHERE owner = $1 AND parent = $2 ORDER BY name COLLATE \"C\""
        );
        let rows = transaction
            .query(&sql, &[&owner, &dir.relative()])
            .await
            .map_err(database)?;
        transaction.commit().await.map_err(database)?;
        Ok(rows.iter().map(entry_of_row).collect())
    }

    /// Makes the directory `path` (and, with `parents`, the missing ones above it).
    pub async fn mkdir(
        &self,
        owner: &str,
        path: &HomePath,
        parents: bool,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        make_dirs(&transaction, owner, path, parents).await?;
        transaction.commit().await.map_err(database)
    }

    /// Makes `file` the file at its path, in one transaction: its row
    /// appears, the reservation goes, and the account counts the new
    /// size. A file there is dealt with as `existing` says: replaced (its
    /// object doomed), kept as the path's newest old version (the oldest
    /// beyond the number kept go), or the commit is refused (`exists`,
    /// for anything at the path). This is the commit point: before it the
    /// file is not there, after it every server serves it. A kept partial
    /// upload of the path goes too (unless another `server` writes it):
    /// the upload's own, whose parts counted already, or one made moot.
    /// `quota_exceeded` if the file is larger than its reservation and parts;
    /// `not_found` if the reservation expired (the caller then dooms the
    /// object). Returns what left the account.
    pub async fn commit_file(
        &self,
        owner: &str,
        file: &NewFile,
        reservation: &Reservation,
        existing: Existing,
        server: &str,
    ) -> Result<Replaced, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let Some(reserved) = drop_reservation(&transaction, reservation).await? else {
            return Err(StoreError::new(
                ErrorKind::NotFound,
                format!("{}: the upload's reservation expired", file.path),
            ));
        };
        // The target's kept partial goes (this upload's own, or one this
        // upload makes moot), unless another server writes it now.
        let partial = match drop_unless_held(&transaction, owner, &file.path, server).await {
            Ok(partial) => partial,
            Err(err) if err.kind == ErrorKind::Busy => None,
            Err(err) => return Err(err),
        };
        let partial_bytes = partial.as_ref().map_or(0, |(_, bytes)| *bytes);
        // What the upload counted already: the room it holds, and its kept parts.
        if file.size > reserved.saturating_add(partial_bytes) {
            return Err(StoreError::new(
                ErrorKind::QuotaExceeded,
                format!(
                    "{}: {} bytes, {} reserved",
                    file.path,
                    file.size,
                    reserved.saturating_add(partial_bytes)
                ),
            ));
        }
        require_dir(&transaction, owner, &file.path.parent(), Lock::Share).await?;
        let mut replaced = match row_at(&transaction, owner, &file.path, Lock::Update).await? {
            Some(_) if existing == Existing::Refuse => return Err(exists(&file.path)),
            Some(old) if old.entry.kind == EntryKind::Dir => {
                return Err(StoreError::new(
                    ErrorKind::IsADirectory,
                    format!("{}: is a directory", file.path),
                ))
            }
            Some(old) => {
                // The new file is a new file: nothing of the old row
                // (its properties) stays, as a new inode in the local back-end.
                delete_row(&transaction, owner, &file.path, None).await?;
                retire_replaced(&transaction, owner, &file.path, &old, existing).await?
            }
            None => Replaced::default(),
        };
        let mode = file.mode.and_then(|mode| i32::try_from(mode).ok());
        let made = transaction
            .execute(
                "INSERT INTO entries (owner, path, parent, name, kind, size, blake3, object, modified, mode)
                 VALUES ($1, $2, $3, $4, 'f', $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                &[
                    &owner,
                    &file.path.relative(),
                    &file.path.parent().relative(),
                    &file.path.file_name().unwrap_or_default(),
                    &to_sql_size(file.size)?,
                    &file.blake3,
                    &file.object.as_str(),
                    &file.modified.unwrap_or_else(now),
                    &mode,
                ],
            )
            .await
            .map_err(database)?;
        // A directory made there meanwhile (mkdir takes no account lock).
        if made == 0 {
            return Err(exists(&file.path));
        }
        transaction
            .execute(
                "UPDATE accounts SET used = used - $2 + $3 WHERE owner = $1",
                &[
                    &owner,
                    &to_sql_size(replaced.bytes)?,
                    &to_sql_size(file.size)?,
                ],
            )
            .await
            .map_err(database)?;
        replaced.partial = partial.and_then(|(kept, _)| kept);
        transaction.commit().await.map_err(database)?;
        Ok(replaced)
    }

    /// Removes the file at `path`; its object is doomed and its bytes
    /// leave the account.
    pub async fn remove_file(&self, owner: &str, path: &HomePath) -> Result<Replaced, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let old = row_at(&transaction, owner, path, Lock::Update)
            .await?
            .ok_or_else(|| not_found(path))?;
        if old.entry.kind == EntryKind::Dir {
            return Err(StoreError::new(
                ErrorKind::IsADirectory,
                format!("{path}: is a directory"),
            ));
        }
        delete_row(&transaction, owner, path, old.object.as_ref()).await?;
        free_used(&transaction, owner, old.entry.size).await?;
        transaction.commit().await.map_err(database)?;
        Ok(Replaced {
            object: old.object,
            bytes: old.entry.size,
            partial: None,
        })
    }

    /// Removes the empty directory `path`: `not_empty` while anything is
    /// in it (a commit into it holds its row, so one of the two waits).
    pub async fn rmdir(&self, owner: &str, path: &HomePath) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        match row_at(&transaction, owner, path, Lock::Update).await? {
            Some(row) if row.entry.kind == EntryKind::Dir => {}
            Some(_) => {
                return Err(StoreError::new(
                    ErrorKind::NotADirectory,
                    format!("{path}: not a directory"),
                ))
            }
            None => return Err(not_found(path)),
        }
        require_empty(&transaction, owner, path).await?;
        delete_row(&transaction, owner, path, None).await?;
        transaction.commit().await.map_err(database)
    }

    /// Removes `path` and everything below it in one transaction; their
    /// objects are doomed and their bytes leave the account. Returns the
    /// bytes freed.
    pub async fn remove_tree(&self, owner: &str, path: &HomePath) -> Result<u64, StoreError> {
        if path.is_home() {
            return Err(StoreError::new(
                ErrorKind::PermissionDenied,
                "cannot remove the home directory",
            ));
        }
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        row_at(&transaction, owner, path, Lock::Update)
            .await?
            .ok_or_else(|| not_found(path))?;
        lock_subtree(&transaction, owner, path).await?;
        let removed = transaction
            .query(
                &format!(
                    "DELETE FROM entries WHERE owner = $1 AND {SUBTREE} RETURNING object, size"
                ),
                &[&owner, &path.relative()],
            )
            .await
            .map_err(database)?;
        let freed = doom_removed(&transaction, &removed).await?;
        free_used(&transaction, owner, freed).await?;
        transaction.commit().await.map_err(database)?;
        Ok(freed)
    }

    /// Renames `from` to `to` as rename(2) does: a file replaces a file,
    /// a directory replaces an empty directory, and a directory's whole
    /// subtree moves with it, in one transaction. A file replaced is dealt
    /// with as `existing` says (as for `commit_file`: doomed, kept as an
    /// old version of `to`, or, with `Refuse`, anything at `to` is
    /// `exists`). The moved file's own old versions stay at `from`: they
    /// belong to the path, as in the local back-end. Returns what left
    /// the account.
    pub async fn rename(
        &self,
        owner: &str,
        from: &HomePath,
        to: &HomePath,
        existing: Existing,
    ) -> Result<Replaced, StoreError> {
        if from.is_home() || to.is_home() {
            return Err(StoreError::new(
                ErrorKind::PermissionDenied,
                "cannot move the home directory",
            ));
        }
        if to.relative().starts_with(&format!("{}/", from.relative())) {
            return Err(StoreError::new(
                ErrorKind::Invalid,
                format!("cannot move {from} into itself"),
            ));
        }
        if from == to {
            return Ok(Replaced::default());
        }
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let source = row_at(&transaction, owner, from, Lock::Update)
            .await?
            .ok_or_else(|| not_found(from))?;
        require_dir(&transaction, owner, &to.parent(), Lock::Share).await?;
        let mut replaced = Replaced::default();
        if let Some(target) = row_at(&transaction, owner, to, Lock::Update).await? {
            if existing == Existing::Refuse {
                return Err(exists(to));
            }
            match (source.entry.kind, target.entry.kind) {
                (EntryKind::Dir, EntryKind::Dir) => {
                    require_empty(&transaction, owner, to).await?;
                    delete_row(&transaction, owner, to, None).await?;
                }
                (EntryKind::Dir, _) => {
                    return Err(StoreError::new(
                        ErrorKind::NotADirectory,
                        format!("{to}: not a directory"),
                    ))
                }
                (_, EntryKind::Dir) => {
                    return Err(StoreError::new(
                        ErrorKind::IsADirectory,
                        format!("{to}: is a directory"),
                    ))
                }
                _ => {
                    delete_row(&transaction, owner, to, None).await?;
                    replaced = retire_replaced(&transaction, owner, to, &target, existing).await?;
                }
            }
        }
        lock_subtree(&transaction, owner, from).await?;
        transaction
            .execute(
                &format!(
                    "UPDATE entries SET (path, parent, name) = ({MOVED})
                     WHERE owner = $1 AND {SUBTREE}"
                ),
                &[
                    &owner,
                    &from.relative(),
                    &to.relative(),
                    &to.parent().relative(),
                    &to.file_name().unwrap_or_default(),
                ],
            )
            .await
            .map_err(database)?;
        free_used(&transaction, owner, replaced.bytes).await?;
        transaction.commit().await.map_err(database)?;
        Ok(replaced)
    }

    /// Objects no row names any more, oldest first, at most `limit`.
    pub async fn doomed(&self, limit: i64) -> Result<Vec<ObjectKey>, StoreError> {
        self.object_keys(
            "SELECT object FROM doomed_objects ORDER BY since LIMIT $1",
            &[&limit],
        )
        .await
    }

    /// Which of `objects` a row names (the collector keeps those).
    pub async fn named(&self, objects: &[ObjectKey]) -> Result<Vec<ObjectKey>, StoreError> {
        let keys: Vec<&str> = objects.iter().map(ObjectKey::as_str).collect();
        // Trash and old versions name theirs too.
        self.object_keys(
            "SELECT object FROM entries WHERE object = ANY($1)
             UNION SELECT object FROM trashed_entries WHERE object = ANY($1)
             UNION SELECT object FROM versions WHERE object = ANY($1)",
            &[&keys],
        )
        .await
    }

    /// The object keys a query's first column gives.
    async fn object_keys(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<ObjectKey>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(sql, params)
            .await
            .map_err(database)?;
        Ok(rows
            .iter()
            .filter_map(|row| ObjectKey::parse(row.get(0)))
            .collect())
    }

    /// Forgets doomed objects once they are deleted from the store.
    pub async fn forget_doomed(&self, objects: &[ObjectKey]) -> Result<(), StoreError> {
        let keys: Vec<&str> = objects.iter().map(ObjectKey::as_str).collect();
        self.client()
            .await?
            .execute(
                "DELETE FROM doomed_objects WHERE object = ANY($1)",
                &[&keys],
            )
            .await
            .map_err(database)?;
        Ok(())
    }
}

/// Makes the directory `path` (and, with `parents`, the missing ones
/// above it) in the caller's transaction.
pub(super) async fn make_dirs(
    client: &impl GenericClient,
    owner: &str,
    path: &HomePath,
    parents: bool,
) -> Result<(), StoreError> {
    if path.is_home() {
        return Err(StoreError::new(ErrorKind::Exists, "~: file exists"));
    }
    let mut wanted = vec![path.clone()];
    if parents {
        let mut above = path.parent();
        while !above.is_home() {
            wanted.push(above.clone());
            above = above.parent();
        }
    }
    // From the top down: each directory's parent exists when it is made.
    for dir in wanted.iter().rev() {
        let asked = dir == path;
        // As `mkdir -p`: with `parents`, a directory there already is fine.
        match row_at(client, owner, dir, Lock::None).await? {
            Some(row) if row.entry.kind == EntryKind::Dir && (parents || !asked) => continue,
            Some(_) if asked => {
                return Err(StoreError::new(
                    ErrorKind::Exists,
                    format!("{dir}: file exists"),
                ))
            }
            Some(_) => {
                return Err(StoreError::new(
                    ErrorKind::NotADirectory,
                    format!("{dir}: not a directory"),
                ))
            }
            None => {}
        }
        require_dir(client, owner, &dir.parent(), Lock::Share).await?;
        let made = client
            .execute(
                "INSERT INTO entries (owner, path, parent, name, kind, modified)
                 VALUES ($1, $2, $3, $4, 'd', $5) ON CONFLICT DO NOTHING",
                &[
                    &owner,
                    &dir.relative(),
                    &dir.parent().relative(),
                    &dir.file_name().unwrap_or_default(),
                    &now(),
                ],
            )
            .await
            .map_err(database)?;
        // Made meanwhile by another server: as if it had been there.
        if made == 0 && asked && !parents {
            return Err(StoreError::new(
                ErrorKind::Exists,
                format!("{dir}: file exists"),
            ));
        }
    }
    Ok(())
}

/// A row's columns but its owner, in the order `entries` and
/// `trashed_entries` share (a moved row is `INSERT ... SELECT` of them).
pub(super) const ROW_COLUMNS: &str =
    "path, parent, name, kind, size, blake3, object, modified, mode, properties";

/// The new (path, parent, name) of a row at or below path $2 moved to
/// path $3, whose parent is $4 and name $5: the top row takes the new
/// parent and name; the rows below swap the old prefix of their path and
/// parent for the new one.
pub(super) const MOVED: &str = "$3 || substr(path, char_length($2) + 1),
    CASE WHEN path = $2 THEN $4 ELSE $3 || substr(parent, char_length($2) + 1) END,
    CASE WHEN path = $2 THEN $5 ELSE name END";

pub(super) fn exists(path: &HomePath) -> StoreError {
    StoreError::new(ErrorKind::Exists, format!("{path}: already exists"))
}

/// Locks every row at and below `path` for the rest of the transaction,
/// before a statement changes them all: a directory made in the tree
/// meanwhile (mkdir locks only its parent) is then either already there
/// for the statement, or made after and refused for want of its parent.
pub(super) async fn lock_subtree(
    client: &impl GenericClient,
    owner: &str,
    path: &HomePath,
) -> Result<(), StoreError> {
    client
        .execute(
            &format!("SELECT 1 FROM entries WHERE owner = $1 AND {SUBTREE} FOR UPDATE"),
            &[&owner, &path.relative()],
        )
        .await
        .map_err(database)?;
    Ok(())
}

/// Dooms, in one statement, the objects of rows just deleted (columns
/// `object`, `size`); returns their bytes, for the caller to take off `used`.
pub(super) async fn doom_removed(
    client: &impl GenericClient,
    removed: &[tokio_postgres::Row],
) -> Result<u64, StoreError> {
    let objects: Vec<&str> = removed
        .iter()
        .filter_map(|row| row.get::<_, Option<&str>>(0))
        .collect();
    if !objects.is_empty() {
        client
            .execute(
                "INSERT INTO doomed_objects (object, since) SELECT unnest($1::text[]), $2
                 ON CONFLICT DO NOTHING",
                &[&objects, &now()],
            )
            .await
            .map_err(database)?;
    }
    Ok(removed.iter().map(|row| from_sql_size(row.get(1))).sum())
}

/// Deletes the row at `path`; its `object` (if any) is doomed.
async fn delete_row(
    client: &impl GenericClient,
    owner: &str,
    path: &HomePath,
    object: Option<&ObjectKey>,
) -> Result<(), StoreError> {
    client
        .execute(
            "DELETE FROM entries WHERE owner = $1 AND path = $2",
            &[&owner, &path.relative()],
        )
        .await
        .map_err(database)?;
    doom(client, object).await
}

/// Takes `bytes` off `owner`'s used bytes (the account row is locked).
pub(super) async fn free_used(
    client: &impl GenericClient,
    owner: &str,
    bytes: u64,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE accounts SET used = used - $2 WHERE owner = $1",
            &[&owner, &to_sql_size(bytes)?],
        )
        .await
        .map_err(database)?;
    Ok(())
}

/// Records that `object` (if any) is no longer named.
pub(super) async fn doom(
    client: &impl GenericClient,
    object: Option<&ObjectKey>,
) -> Result<(), StoreError> {
    if let Some(object) = object {
        client
            .execute(
                "INSERT INTO doomed_objects (object, since) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&object.as_str(), &now()],
            )
            .await
            .map_err(database)?;
    }
    Ok(())
}

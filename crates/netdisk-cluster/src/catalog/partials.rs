//! Resumable uploads shared by every server: a cut upload's multipart
//! upload and its confirmed parts are rows, so the client's next attempt
//! goes on from them on whichever server it reaches. A lease keeps two
//! servers from writing one partial at once. A recorded part's bytes
//! count toward the quota (in `used`) until the partial is committed or
//! discarded.

use super::namespace::free_used;
use super::quota::lock_account;
use super::{database, from_sql_size, to_sql_size, Catalog};
use crate::objects::ObjectKey;
use crate::part_hasher::PartHash;
use crate::part_writer::{part_size_for, UploadedPart};
use deadpool_postgres::GenericClient;
use netdisk_proto::HomePath;
use netdisk_store::{ErrorKind, StoreError};

/// What an upload says of its source, to tell whether kept parts are of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialSource {
    pub size: u64,
    pub modified: Option<i64>,
}

/// A partial's multipart upload in the object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptUpload {
    pub object: ObjectKey,
    pub upload: String,
    pub part_size: usize,
}

/// A confirmed part as recorded: where it is, and its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptPart {
    pub part: UploadedPart,
    pub hash: PartHash,
}

/// What claiming a target's partial found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// None kept (or one of another version of the source, forgotten and
    /// given back in `stale` for the caller to abort): start a multipart
    /// upload and `record_partial` it.
    Fresh { stale: Option<KeptUpload> },
    /// Go on with this upload after these parts (in order).
    Resume {
        kept: KeptUpload,
        parts: Vec<KeptPart>,
    },
}

/// A kept partial upload, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptPartial {
    pub target: String,
    pub size: u64,
    pub modified: Option<i64>,
    /// Bytes in its recorded parts.
    pub kept: u64,
    /// When it was last written (seconds since the epoch).
    pub updated: i64,
    /// A server's lease on it runs now.
    pub held: bool,
}

fn busy(target: &HomePath) -> StoreError {
    StoreError::new(
        ErrorKind::Busy,
        format!("{target}: another upload to it is in progress"),
    )
}

impl Catalog {
    /// Takes `target`'s partial for `server` until `held_until` (seconds
    /// since the epoch): `busy` while another server's lease runs.
    pub async fn claim_partial(
        &self,
        owner: &str,
        target: &HomePath,
        source: PartialSource,
        server: &str,
        held_until: i64,
    ) -> Result<Claimed, StoreError> {
        let now = netdisk_store::unix_now();
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        // The account first, as every change of `used` takes it.
        lock_account(&transaction, owner).await?;
        let row = transaction
            .query_opt(
                "SELECT object, upload, part_size, size, modified, holder, held_until
                 FROM partials WHERE owner = $1 AND target = $2 FOR UPDATE",
                &[&owner, &target.relative()],
            )
            .await
            .map_err(database)?;
        let mut stale = None;
        if let Some(row) = row {
            let holder: Option<String> = row.get(5);
            let held_until_now: Option<i64> = row.get(6);
            if holder.is_some_and(|holder| holder != server)
                && held_until_now.is_some_and(|until| until > now)
            {
                return Err(busy(target));
            }
            let kept = kept_upload(&row)?;
            let same_source = from_sql_size(row.get(3)) == source.size
                && row.get::<_, Option<i64>>(4) == source.modified;
            if same_source {
                transaction
                    .execute(
                        "UPDATE partials SET holder = $3, held_until = $4, updated = $5
                         WHERE owner = $1 AND target = $2",
                        &[&owner, &target.relative(), &server, &held_until, &now],
                    )
                    .await
                    .map_err(database)?;
                let claimed = match kept {
                    Some(kept) => Claimed::Resume {
                        parts: parts_of(&transaction, owner, target).await?,
                        kept,
                    },
                    // Kept, but no part of it yet: a new multipart upload goes on.
                    None => Claimed::Fresh { stale: None },
                };
                transaction.commit().await.map_err(database)?;
                return Ok(claimed);
            }
            // Of another version of the source: worthless now.
            forget(&transaction, owner, target).await?;
            stale = kept;
        }
        insert_row(
            &transaction,
            owner,
            target,
            source,
            None,
            server,
            held_until,
        )
        .await?;
        transaction.commit().await.map_err(database)?;
        Ok(Claimed::Fresh { stale })
    }

    /// Records `kept` as `target`'s partial's upload, held by `server`. A
    /// partial of the target recorded before (this server's, one nobody
    /// holds, or one whose lease ran out) is forgotten with its parts: its
    /// upload given back for the caller to abort, unless it is this very
    /// upload. `busy` while another server's lease runs.
    pub async fn record_partial(
        &self,
        owner: &str,
        target: &HomePath,
        source: PartialSource,
        kept: &KeptUpload,
        server: &str,
        held_until: i64,
    ) -> Result<Option<KeptUpload>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let same = transaction
            .query_opt(
                "SELECT 1 FROM partials WHERE owner = $1 AND target = $2 AND upload = $3 AND holder = $4",
                &[&owner, &target.relative(), &kept.upload, &server],
            )
            .await
            .map_err(database)?;
        if same.is_some() {
            return Ok(None);
        }
        let old = drop_unless_held(&transaction, owner, target, server)
            .await?
            .and_then(|(old, _)| old);
        insert_row(
            &transaction,
            owner,
            target,
            source,
            Some(kept),
            server,
            held_until,
        )
        .await?;
        transaction.commit().await.map_err(database)?;
        Ok(old)
    }

    /// Records a confirmed part and renews the lease; `busy` if the lease
    /// went to another server (this one was too slow: it stops). The
    /// part's bytes move from the upload's reservation `room` (while it
    /// holds any) to the account's `used`, where they stay while the
    /// partial is kept.
    pub async fn add_part(
        &self,
        owner: &str,
        target: &HomePath,
        kept: &KeptPart,
        server: &str,
        held_until: i64,
        room: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let renewed = transaction
            .execute(
                "UPDATE partials SET held_until = $4, updated = $5
                 WHERE owner = $1 AND target = $2 AND holder = $3",
                &[
                    &owner,
                    &target.relative(),
                    &server,
                    &held_until,
                    &netdisk_store::unix_now(),
                ],
            )
            .await
            .map_err(database)?;
        if renewed == 0 {
            return Err(busy(target));
        }
        let index = i32::try_from(kept.part.index)
            .map_err(|_| StoreError::new(ErrorKind::Invalid, "too many parts"))?;
        let size = to_sql_size(kept.part.size)?;
        let replaced = transaction
            .query_opt(
                "SELECT size FROM partial_parts WHERE owner = $1 AND target = $2 AND index = $3",
                &[&owner, &target.relative(), &index],
            )
            .await
            .map_err(database)?
            .map_or(0, |row| row.get::<_, i64>(0));
        transaction
            .execute(
                "INSERT INTO partial_parts (owner, target, index, etag, size, chaining, prefix)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (owner, target, index) DO UPDATE SET etag = EXCLUDED.etag,
                     size = EXCLUDED.size, chaining = EXCLUDED.chaining, prefix = EXCLUDED.prefix",
                &[
                    &owner,
                    &target.relative(),
                    &index,
                    &kept.part.etag,
                    &size,
                    &kept.hash.chaining.as_slice(),
                    &kept.hash.prefix.as_slice(),
                ],
            )
            .await
            .map_err(database)?;
        let counted = size - replaced;
        // The room left in the reservation, if it is still there.
        let held = match room {
            Some(id) => transaction
                .query_opt(
                    "SELECT bytes FROM reservations WHERE id = $1 AND owner = $2 FOR UPDATE",
                    &[&id, &owner],
                )
                .await
                .map_err(database)?
                .map_or(0, |row| row.get::<_, i64>(0)),
            None => 0,
        };
        let moved = held.min(counted.max(0));
        if moved > 0 {
            transaction
                .execute(
                    "UPDATE reservations SET bytes = bytes - $2 WHERE id = $1",
                    &[&room, &moved],
                )
                .await
                .map_err(database)?;
        }
        transaction
            .execute(
                "UPDATE accounts SET used = used + $2, reserved = reserved - $3 WHERE owner = $1",
                &[&owner, &counted, &moved],
            )
            .await
            .map_err(database)?;
        transaction.commit().await.map_err(database)
    }

    /// Moves the lease on a partial this server writes to `held_until`;
    /// `busy` if another server has it now.
    pub async fn renew_partial(
        &self,
        owner: &str,
        target: &HomePath,
        server: &str,
        held_until: i64,
    ) -> Result<(), StoreError> {
        let renewed = self
            .client()
            .await?
            .execute(
                "UPDATE partials SET held_until = $4
                 WHERE owner = $1 AND target = $2 AND holder = $3",
                &[&owner, &target.relative(), &server, &held_until],
            )
            .await
            .map_err(database)?;
        match renewed {
            0 => Err(busy(target)),
            _ => Ok(()),
        }
    }

    /// Lets go of a partial (the connection was cut: another attempt may
    /// take it at once, here or elsewhere).
    pub async fn release_partial(
        &self,
        owner: &str,
        target: &HomePath,
        server: &str,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE partials SET holder = NULL, held_until = NULL
                 WHERE owner = $1 AND target = $2 AND holder = $3",
                &[&owner, &target.relative(), &server],
            )
            .await
            .map_err(database)?;
        Ok(())
    }

    /// Forgets `target`'s partial (discarded), unless another server's
    /// lease on it runs (`busy`); its bytes leave the account. Returns, if
    /// there was one, its upload (if it had one yet), for the caller to
    /// abort, and those bytes.
    pub async fn drop_partial(
        &self,
        owner: &str,
        target: &HomePath,
        server: &str,
    ) -> Result<Option<(Option<KeptUpload>, u64)>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, owner).await?;
        let dropped = drop_unless_held(&transaction, owner, target, server).await?;
        transaction.commit().await.map_err(database)?;
        Ok(dropped)
    }

    /// `owner`'s kept partial uploads, by target.
    pub async fn partials(&self, owner: &str) -> Result<Vec<KeptPartial>, StoreError> {
        let now = netdisk_store::unix_now();
        let rows = self
            .client()
            .await?
            .query(
                "SELECT p.target, p.size, p.modified, p.updated,
                        p.holder IS NOT NULL AND p.held_until > $2,
                        (SELECT COALESCE(sum(size), 0)::bigint FROM partial_parts q
                         WHERE q.owner = p.owner AND q.target = p.target)
                 FROM partials p WHERE p.owner = $1 ORDER BY p.target",
                &[&owner, &now],
            )
            .await
            .map_err(database)?;
        Ok(rows
            .iter()
            .map(|row| KeptPartial {
                target: row.get(0),
                size: from_sql_size(row.get(1)),
                modified: row.get(2),
                updated: row.get(3),
                held: row.get(4),
                kept: from_sql_size(row.get(5)),
            })
            .collect())
    }

    /// Forgets every partial nobody wrote since `before` (seconds since
    /// the epoch) and no lease holds; their bytes leave their accounts.
    /// Returns, per partial, its owner, its upload (for the caller to
    /// abort) and its bytes.
    pub async fn expire_partials(
        &self,
        before: i64,
    ) -> Result<Vec<(String, Option<KeptUpload>, u64)>, StoreError> {
        let now = netdisk_store::unix_now();
        let stale = self
            .client()
            .await?
            .query(
                "SELECT owner, target FROM partials
                 WHERE updated < $1 AND (holder IS NULL OR held_until IS NULL OR held_until < $2)",
                &[&before, &now],
            )
            .await
            .map_err(database)?;
        let mut expired = Vec::new();
        for row in stale {
            let owner: String = row.get(0);
            let Ok(target) = HomePath::home().resolve(row.get::<_, &str>(1)) else {
                continue;
            };
            let mut client = self.client().await?;
            let transaction = client.transaction().await.map_err(database)?;
            lock_account(&transaction, &owner).await?;
            // Checked again under the lock: it may have been taken meanwhile.
            let still = transaction
                .query_opt(
                    "SELECT 1 FROM partials WHERE owner = $1 AND target = $2 AND updated < $3
                     AND (holder IS NULL OR held_until IS NULL OR held_until < $4) FOR UPDATE",
                    &[&owner, &target.relative(), &before, &now],
                )
                .await
                .map_err(database)?;
            if still.is_some() {
                if let Some((kept, bytes)) = forget(&transaction, &owner, &target).await? {
                    expired.push((owner.clone(), kept, bytes));
                }
            }
            transaction.commit().await.map_err(database)?;
        }
        Ok(expired)
    }
}

/// Forgets `target`'s partial unless another server's lease on it runs
/// (`busy`); the caller holds the account's lock. Returns its upload (if
/// it had one yet) and bytes.
pub(super) async fn drop_unless_held(
    client: &impl GenericClient,
    owner: &str,
    target: &HomePath,
    server: &str,
) -> Result<Option<(Option<KeptUpload>, u64)>, StoreError> {
    let held_elsewhere = client
        .query_opt(
            "SELECT 1 FROM partials WHERE owner = $1 AND target = $2
             AND holder IS NOT NULL AND holder <> $3 AND held_until > $4",
            &[
                &owner,
                &target.relative(),
                &server,
                &netdisk_store::unix_now(),
            ],
        )
        .await
        .map_err(database)?;
    if held_elsewhere.is_some() {
        return Err(busy(target));
    }
    forget(client, owner, target).await
}

/// Deletes `target`'s partial and its parts, and takes their bytes off
/// `used`; the caller holds the account's lock.
async fn forget(
    client: &impl GenericClient,
    owner: &str,
    target: &HomePath,
) -> Result<Option<(Option<KeptUpload>, u64)>, StoreError> {
    let bytes: i64 = client
        .query_one(
            "SELECT COALESCE(sum(size), 0)::bigint FROM partial_parts WHERE owner = $1 AND target = $2",
            &[&owner, &target.relative()],
        )
        .await
        .map_err(database)?
        .get(0);
    let row = client
        .query_opt(
            "DELETE FROM partials WHERE owner = $1 AND target = $2
             RETURNING object, upload, part_size",
            &[&owner, &target.relative()],
        )
        .await
        .map_err(database)?;
    let Some(row) = row else { return Ok(None) };
    let bytes = from_sql_size(bytes);
    free_used(client, owner, bytes).await?;
    Ok(Some((kept_upload(&row)?, bytes)))
}

/// `target`'s recorded parts, in order.
async fn parts_of(
    client: &impl GenericClient,
    owner: &str,
    target: &HomePath,
) -> Result<Vec<KeptPart>, StoreError> {
    client
        .query(
            "SELECT index, etag, size, chaining, prefix FROM partial_parts
             WHERE owner = $1 AND target = $2 ORDER BY index",
            &[&owner, &target.relative()],
        )
        .await
        .map_err(database)?
        .iter()
        .map(|row| {
            let hash = |column: usize| -> Result<[u8; 32], StoreError> {
                row.get::<_, Vec<u8>>(column).try_into().map_err(|_| {
                    StoreError::new(ErrorKind::Internal, "a part's recorded hash is malformed")
                })
            };
            Ok(KeptPart {
                part: UploadedPart {
                    index: usize::try_from(row.get::<_, i32>(0)).unwrap_or(usize::MAX),
                    etag: row.get(1),
                    size: from_sql_size(row.get(2)),
                },
                hash: PartHash {
                    chaining: hash(3)?,
                    prefix: hash(4)?,
                },
            })
        })
        .collect()
}

/// A partial's upload from a row starting (object, upload, part_size);
/// `None` before its first part (no multipart upload started yet).
pub(super) fn kept_upload(row: &tokio_postgres::Row) -> Result<Option<KeptUpload>, StoreError> {
    let (Some(object), Some(upload)) = (
        row.get::<_, Option<&str>>(0),
        row.get::<_, Option<String>>(1),
    ) else {
        return Ok(None);
    };
    Ok(Some(KeptUpload {
        object: ObjectKey::parse(object).ok_or_else(|| {
            StoreError::new(ErrorKind::Internal, "a partial names a malformed object")
        })?,
        upload,
        part_size: usize::try_from(row.get::<_, i64>(2)).unwrap_or(usize::MAX),
    }))
}

/// A partial's row, held by `server`: with `upload`, or (`None`) one no
/// part of which is stored yet.
async fn insert_row(
    client: &impl GenericClient,
    owner: &str,
    target: &HomePath,
    source: PartialSource,
    upload: Option<&KeptUpload>,
    server: &str,
    held_until: i64,
) -> Result<(), StoreError> {
    let part_size = upload.map_or_else(|| part_size_for(source.size), |kept| kept.part_size);
    client
        .execute(
            "INSERT INTO partials (owner, target, object, upload, part_size, size, modified, holder, held_until, updated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &owner,
                &target.relative(),
                &upload.map(|kept| kept.object.as_str()),
                &upload.map(|kept| kept.upload.as_str()),
                &to_sql_size(part_size as u64)?,
                &to_sql_size(source.size)?,
                &source.modified,
                &server,
                &held_until,
                &netdisk_store::unix_now(),
            ],
        )
        .await
        .map_err(database)?;
    Ok(())
}

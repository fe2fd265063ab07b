//! Resumable uploads shared by every server: a cut upload's multipart
//! upload and its confirmed parts are rows, so the client's next attempt
//! goes on from them on whichever server it reaches. A lease keeps two
//! servers from writing one partial at once.

use super::{database, from_sql_size, to_sql_size, Catalog};
use crate::objects::ObjectKey;
use crate::part_writer::UploadedPart;
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

/// What claiming a target's partial found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// None kept (or one of another version of the source, given back in
    /// `stale` for the caller to abort): start a multipart upload and
    /// `record_partial` it.
    Fresh { stale: Option<KeptUpload> },
    /// Go on with this upload after these parts (in order).
    Resume {
        kept: KeptUpload,
        parts: Vec<UploadedPart>,
    },
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
        let row = transaction
            .query_opt(
                "SELECT object, upload, part_size, size, modified, holder, held_until
                 FROM partials WHERE owner = $1 AND target = $2 FOR UPDATE",
                &[&owner, &target.relative()],
            )
            .await
            .map_err(database)?;
        let Some(row) = row else {
            return Ok(Claimed::Fresh { stale: None });
        };
        let holder: Option<String> = row.get(5);
        let held_until_now: Option<i64> = row.get(6);
        if holder.is_some_and(|holder| holder != server)
            && held_until_now.is_some_and(|until| until > now)
        {
            return Err(busy(target));
        }
        let kept = KeptUpload {
            object: ObjectKey::parse(row.get(0)).ok_or_else(|| {
                StoreError::new(ErrorKind::Internal, "a partial names a malformed object")
            })?,
            upload: row.get(1),
            part_size: usize::try_from(row.get::<_, i64>(2)).unwrap_or(usize::MAX),
        };
        let same_source = from_sql_size(row.get(3)) == source.size
            && row.get::<_, Option<i64>>(4) == source.modified;
        if !same_source {
            transaction
                .execute(
                    "DELETE FROM partials WHERE owner = $1 AND target = $2",
                    &[&owner, &target.relative()],
                )
                .await
                .map_err(database)?;
            transaction.commit().await.map_err(database)?;
            return Ok(Claimed::Fresh { stale: Some(kept) });
        }
        transaction
            .execute(
                "UPDATE partials SET holder = $3, held_until = $4, updated = $5
                 WHERE owner = $1 AND target = $2",
                &[&owner, &target.relative(), &server, &held_until, &now],
            )
            .await
            .map_err(database)?;
        let parts = transaction
            .query(
                "SELECT index, etag, size FROM partial_parts
                 WHERE owner = $1 AND target = $2 ORDER BY index",
                &[&owner, &target.relative()],
            )
            .await
            .map_err(database)?
            .iter()
            .map(|part| UploadedPart {
                index: usize::try_from(part.get::<_, i32>(0)).unwrap_or(0),
                etag: part.get(1),
                size: from_sql_size(part.get(2)),
            })
            .collect();
        transaction.commit().await.map_err(database)?;
        Ok(Claimed::Resume { kept, parts })
    }

    /// Records a new partial (after `claim_partial` said `Fresh`), held by `server`.
    pub async fn record_partial(
        &self,
        owner: &str,
        target: &HomePath,
        source: PartialSource,
        kept: &KeptUpload,
        server: &str,
        held_until: i64,
    ) -> Result<(), StoreError> {
        let part_size = to_sql_size(kept.part_size as u64)?;
        let recorded = self
            .client()
            .await?
            .execute(
                "INSERT INTO partials (owner, target, object, upload, part_size, size, modified, holder, held_until, updated)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                &[
                    &owner,
                    &target.relative(),
                    &kept.object.as_str(),
                    &kept.upload,
                    &part_size,
                    &to_sql_size(source.size)?,
                    &source.modified,
                    &server,
                    &held_until,
                    &netdisk_store::unix_now(),
                ],
            )
            .await
            .map_err(database)?;
        // Another server recorded one meanwhile: it writes, this one does not.
        if recorded == 0 {
            return Err(busy(target));
        }
        Ok(())
    }

    /// Records a confirmed part, and renews the lease; `busy` if the
    /// lease went to another server (this one was too slow: it stops).
    pub async fn add_part(
        &self,
        owner: &str,
        target: &HomePath,
        part: &UploadedPart,
        server: &str,
        held_until: i64,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
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
        let index = i32::try_from(part.index)
            .map_err(|_| StoreError::new(ErrorKind::Invalid, "too many parts"))?;
        transaction
            .execute(
                "INSERT INTO partial_parts (owner, target, index, etag, size) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (owner, target, index) DO UPDATE SET etag = EXCLUDED.etag, size = EXCLUDED.size",
                &[&owner, &target.relative(), &index, &part.etag, &to_sql_size(part.size)?],
            )
            .await
            .map_err(database)?;
        transaction.commit().await.map_err(database)
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

    /// Forgets `target`'s partial (committed, or discarded); returns its
    /// upload for the caller to complete or abort.
    pub async fn drop_partial(
        &self,
        owner: &str,
        target: &HomePath,
    ) -> Result<Option<KeptUpload>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "DELETE FROM partials WHERE owner = $1 AND target = $2
                 RETURNING object, upload, part_size",
                &[&owner, &target.relative()],
            )
            .await
            .map_err(database)?;
        Ok(row.and_then(|row| {
            Some(KeptUpload {
                object: ObjectKey::parse(row.get(0))?,
                upload: row.get(1),
                part_size: usize::try_from(row.get::<_, i64>(2)).ok()?,
            })
        }))
    }
}

//! Resumable uploads by id (tus) in the catalog: an upload created
//! through one server takes its next PATCH on any server. Its bytes are
//! the target's partial (`partials.rs`).

use super::{database, from_sql_size, to_sql_size, Catalog};
use netdisk_store::{RecordedUpload, ResumableUpload, StoreError};

impl Catalog {
    /// See `netdisk_store::ResumableBook::record`.
    pub async fn record_resumable(
        &self,
        owner: &str,
        upload: &ResumableUpload,
        created: i64,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        transaction
            .execute(
                "DELETE FROM resumable_uploads WHERE owner = $1 AND path = $2",
                &[&owner, &upload.target.relative()],
            )
            .await
            .map_err(database)?;
        transaction
            .execute(
                "INSERT INTO resumable_uploads (id, owner, path, size, modified, blake3, created)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &upload.id,
                    &owner,
                    &upload.target.relative(),
                    &to_sql_size(upload.size)?,
                    &upload.modified,
                    &upload.blake3,
                    &created,
                ],
            )
            .await
            .map_err(database)?;
        transaction.commit().await.map_err(database)
    }

    /// See `netdisk_store::ResumableBook::find`.
    pub async fn find_resumable(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<RecordedUpload>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT path, size, modified, blake3 FROM resumable_uploads
                 WHERE id = $1 AND owner = $2",
                &[&id, &owner],
            )
            .await
            .map_err(database)?;
        Ok(row.map(|row| RecordedUpload {
            relative: row.get(0),
            size: from_sql_size(row.get(1)),
            modified: row.get(2),
            blake3: row.get(3),
        }))
    }

    /// See `netdisk_store::ResumableBook::forget`.
    pub async fn forget_resumable(&self, owner: &str, id: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "DELETE FROM resumable_uploads WHERE id = $1 AND owner = $2",
                &[&id, &owner],
            )
            .await
            .map_err(database)?;
        Ok(())
    }
}

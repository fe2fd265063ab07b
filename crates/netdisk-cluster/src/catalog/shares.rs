//! Share links in the catalog, so a link made through one server opens on
//! every server, and its download count and revocation hold on all. The
//! rules (what may be shared, the password, the proof of it) are
//! `netdisk_store::Shares`'s; each operation here is one statement.

use super::{database, from_sql_size, to_sql_size, Catalog};
use netdisk_store::{share_display, ErrorKind, LinkPassword, NewShare, Share, StoreError};

const COLUMNS: &str = "id, token, owner, path, kind, password_hash IS NOT NULL, \
     upload_only, max_downloads, downloads, created, expires";

fn share_of(row: &tokio_postgres::Row) -> Share {
    let relative: String = row.get(3);
    Share {
        id: row.get(0),
        token: row.get(1),
        user: row.get(2),
        path: share_display(&relative),
        relative,
        kind: if row.get::<_, &str>(4) == "dir" {
            "dir"
        } else {
            "file"
        },
        has_password: row.get(5),
        upload_only: row.get(6),
        max_downloads: row.get::<_, Option<i64>>(7).map(from_sql_size),
        downloads: from_sql_size(row.get(8)),
        created: row.get(9),
        expires: row.get(10),
    }
}

impl Catalog {
    /// See `netdisk_store::ShareBook::insert`.
    pub async fn insert_share(
        &self,
        link: NewShare,
        forget_before: i64,
    ) -> Result<Share, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM shares WHERE expires IS NOT NULL AND expires <= $1",
                &[&forget_before],
            )
            .await
            .map_err(database)?;
        let iterations = link
            .password
            .as_ref()
            .map(|password| i32::try_from(password.iterations).unwrap_or(i32::MAX));
        let max_downloads = link.max_downloads.map(to_sql_size).transpose()?;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO shares (token, owner, path, kind, password_salt, password_hash,
                         password_iterations, upload_only, max_downloads, created, expires)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}"
                ),
                &[
                    &link.token,
                    &link.user,
                    &link.relative,
                    &link.kind,
                    &link.password.as_ref().map(|p| p.salt.as_slice()),
                    &link.password.as_ref().map(|p| p.hash.as_slice()),
                    &iterations,
                    &link.upload_only,
                    &max_downloads,
                    &link.created,
                    &link.expires,
                ],
            )
            .await
            .map_err(|error| match error.code() {
                Some(code) if *code == tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION => {
                    StoreError::new(
                        ErrorKind::NotFound,
                        format!("no such user: {:?}", link.user),
                    )
                }
                _ => database(error),
            })?;
        Ok(share_of(&row))
    }

    /// See `netdisk_store::ShareBook::list`.
    pub async fn shares_of(&self, owner: &str) -> Result<Vec<Share>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!("SELECT {COLUMNS} FROM shares WHERE owner = $1 ORDER BY id DESC"),
                &[&owner],
            )
            .await
            .map_err(database)?;
        Ok(rows.iter().map(share_of).collect())
    }

    /// See `netdisk_store::ShareBook::remove`.
    pub async fn remove_share(&self, owner: &str, id: i64) -> Result<bool, StoreError> {
        let removed = self
            .client()
            .await?
            .execute(
                "DELETE FROM shares WHERE id = $1 AND owner = $2",
                &[&id, &owner],
            )
            .await
            .map_err(database)?;
        Ok(removed > 0)
    }

    /// See `netdisk_store::ShareBook::find`.
    pub async fn find_share(&self, token: &str) -> Result<Option<Share>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {COLUMNS} FROM shares WHERE token = $1"),
                &[&token],
            )
            .await
            .map_err(database)?;
        Ok(row.as_ref().map(share_of))
    }

    /// See `netdisk_store::ShareBook::count_download`: one statement, so
    /// visitors racing through several servers for the last download
    /// cannot both get it.
    pub async fn count_share_download(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        let counted = self
            .client()
            .await?
            .execute(
                "UPDATE shares SET downloads = downloads + 1
                 WHERE id = $1 AND (max_downloads IS NULL OR downloads < max_downloads)
                   AND (expires IS NULL OR expires > $2)",
                &[&id, &at],
            )
            .await
            .map_err(database)?;
        Ok(counted == 1)
    }

    /// See `netdisk_store::ShareBook::password_of`.
    pub async fn share_password(&self, id: i64) -> Result<Option<LinkPassword>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT password_salt, password_hash, password_iterations FROM shares
                 WHERE id = $1 AND password_hash IS NOT NULL",
                &[&id],
            )
            .await
            .map_err(database)?;
        Ok(row.map(|row| LinkPassword {
            salt: row.get(0),
            hash: row.get(1),
            iterations: row
                .get::<_, Option<i32>>(2)
                .and_then(|count| u32::try_from(count).ok())
                .unwrap_or(netdisk_proto::scram::DEFAULT_ITERATIONS),
        }))
    }
}

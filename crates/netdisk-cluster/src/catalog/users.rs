//! The user database in PostgreSQL, for servers that share their users:
//! the calls and meaning of netdisk_store's `UserDb` (its SQLite file
//! serves one server). The SCRAM verifier is kept as `UserDb` keeps it,
//! never a password, and made by the caller. A user's quota is its
//! account's, so adding a user makes its account in the same transaction.

use super::namespace::doom_removed;
use super::partials::{kept_upload, KeptUpload};
use super::quota::lock_account;
use super::{database, Catalog};
use deadpool_postgres::GenericClient;
use netdisk_proto::scram::Verifier;
use netdisk_store::{validate_user_name, ErrorKind, RetentionOverrides, StoreError, UserInfo};
use rand::RngCore;
use std::time::Duration;

fn no_user(name: &str) -> StoreError {
    StoreError::new(ErrorKind::NotFound, format!("no such user: {name:?}"))
}

/// As `UserDb`: a quota past bigint is as good as none, not an error.
fn quota_to_sql(quota: Option<u64>) -> Option<i64> {
    quota.map(|quota| i64::try_from(quota).unwrap_or(i64::MAX))
}

fn quota_of_sql(quota: Option<i64>) -> Option<u64> {
    quota.map(|quota| u64::try_from(quota).unwrap_or(0))
}

/// `not_found` unless `name` is a user; its row is held (`FOR SHARE`)
/// against deletion until the transaction ends.
async fn require_user(client: &impl GenericClient, name: &str) -> Result<(), StoreError> {
    client
        .query_opt("SELECT 1 FROM users WHERE name = $1 FOR SHARE", &[&name])
        .await
        .map_err(database)?
        .map(|_| ())
        .ok_or_else(|| no_user(name))
}

/// Overrides from a row of (keep_trash, keep_versions, free_space_from_trash).
fn retention_of_row(row: &tokio_postgres::Row) -> RetentionOverrides {
    RetentionOverrides {
        keep_trash: row
            .get::<_, Option<i64>>(0)
            .map(|secs| Duration::from_secs(u64::try_from(secs).unwrap_or(0))),
        keep_versions: row
            .get::<_, Option<i64>>(1)
            .map(|keep| u32::try_from(keep.max(0)).unwrap_or(u32::MAX)),
        free_space_from_trash: row.get(2),
    }
}

impl Catalog {
    /// Adds the user `name` with `verifier` and `quota` (`None`: no
    /// limit), and its account; `exists` if the name is taken, `invalid`
    /// for a name `UserDb` would refuse.
    pub async fn add_user(
        &self,
        name: &str,
        verifier: &Verifier,
        quota: Option<u64>,
    ) -> Result<(), StoreError> {
        validate_user_name(name)
            .map_err(|error| StoreError::new(ErrorKind::Invalid, error.to_string()))?;
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        // The account first: the user's row names it. An account made
        // before its user (`set_account`) becomes the user's.
        transaction
            .execute(
                "INSERT INTO accounts (owner, quota) VALUES ($1, $2)
                 ON CONFLICT (owner) DO UPDATE SET quota = EXCLUDED.quota",
                &[&name, &quota_to_sql(quota)],
            )
            .await
            .map_err(database)?;
        let added = transaction
            .execute(
                "INSERT INTO users (name, salt, iterations, stored_key, server_key, created)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
                &[
                    &name,
                    &verifier.salt,
                    &i64::from(verifier.iterations),
                    &&verifier.stored_key[..],
                    &&verifier.server_key[..],
                    &netdisk_store::unix_now(),
                ],
            )
            .await
            .map_err(database)?;
        // Taken: the transaction is dropped, the account's quota unchanged.
        if added == 0 {
            return Err(StoreError::new(
                ErrorKind::Exists,
                format!("user {name:?} already exists"),
            ));
        }
        transaction.commit().await.map_err(database)
    }

    /// Gives `name` a new verifier (a new password).
    pub async fn set_verifier(&self, name: &str, verifier: &Verifier) -> Result<(), StoreError> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE users SET salt = $2, iterations = $3, stored_key = $4, server_key = $5
                 WHERE name = $1",
                &[
                    &name,
                    &verifier.salt,
                    &i64::from(verifier.iterations),
                    &&verifier.stored_key[..],
                    &&verifier.server_key[..],
                ],
            )
            .await
            .map_err(database)?;
        match changed {
            0 => Err(no_user(name)),
            _ => Ok(()),
        }
    }

    /// Sets `name`'s quota (`None`: no limit).
    pub async fn set_quota(&self, name: &str, quota: Option<u64>) -> Result<(), StoreError> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE accounts SET quota = $2
                 WHERE owner = $1 AND EXISTS (SELECT 1 FROM users WHERE name = $1)",
                &[&name, &quota_to_sql(quota)],
            )
            .await
            .map_err(database)?;
        match changed {
            0 => Err(no_user(name)),
            _ => Ok(()),
        }
    }

    /// `name`'s own trash and versions settings (unset: the server's).
    pub async fn retention_of(&self, name: &str) -> Result<RetentionOverrides, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT keep_trash, keep_versions, free_space_from_trash
                 FROM user_retention WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(database)?;
        Ok(row.as_ref().map(retention_of_row).unwrap_or_default())
    }

    /// Sets `name`'s own trash and versions settings: each one given
    /// replaces theirs; `None` leaves it as it is. Returns them all.
    pub async fn set_retention(
        &self,
        name: &str,
        changes: RetentionOverrides,
    ) -> Result<RetentionOverrides, StoreError> {
        let keep_trash = changes
            .keep_trash
            .map(|keep| i64::try_from(keep.as_secs()).unwrap_or(i64::MAX));
        let keep_versions = changes.keep_versions.map(i64::from);
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        require_user(&transaction, name).await?;
        // Merged in the statement, so two servers' changes both land.
        let row = transaction
            .query_one(
                "INSERT INTO user_retention AS old (name, keep_trash, keep_versions, free_space_from_trash)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE SET
                    keep_trash = coalesce(EXCLUDED.keep_trash, old.keep_trash),
                    keep_versions = coalesce(EXCLUDED.keep_versions, old.keep_versions),
                    free_space_from_trash = coalesce(EXCLUDED.free_space_from_trash, old.free_space_from_trash)
                 RETURNING keep_trash, keep_versions, free_space_from_trash",
                &[&name, &keep_trash, &keep_versions, &changes.free_space_from_trash],
            )
            .await
            .map_err(database)?;
        transaction.commit().await.map_err(database)?;
        Ok(retention_of_row(&row))
    }

    /// Gives `name` the server's trash and versions settings again.
    pub async fn reset_retention(&self, name: &str) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        require_user(&transaction, name).await?;
        transaction
            .execute("DELETE FROM user_retention WHERE name = $1", &[&name])
            .await
            .map_err(database)?;
        transaction.commit().await.map_err(database)
    }

    /// Deletes the user `name` and everything of theirs, in one
    /// transaction: their settings, account, files, trash, old versions
    /// (objects doomed) and reservations. Returns their kept partial
    /// uploads, for the caller to abort in the object store.
    pub async fn delete_user(&self, name: &str) -> Result<Vec<KeptUpload>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        // The account first, as every operation on it locks it: one that
        // runs meanwhile finishes before, or finds no account after.
        match lock_account(&transaction, name).await {
            Err(error) if error.kind == ErrorKind::NotFound => return Err(no_user(name)),
            locked => locked?,
        };
        // Its settings go with it (ON DELETE CASCADE).
        let deleted = transaction
            .execute("DELETE FROM users WHERE name = $1", &[&name])
            .await
            .map_err(database)?;
        if deleted == 0 {
            return Err(no_user(name));
        }
        for removal in [
            "DELETE FROM entries WHERE owner = $1 RETURNING object, size",
            "DELETE FROM trashed_entries WHERE item IN (SELECT id FROM trash WHERE owner = $1)
             RETURNING object, size",
            "DELETE FROM versions WHERE owner = $1 RETURNING object, size",
        ] {
            let removed = transaction
                .query(removal, &[&name])
                .await
                .map_err(database)?;
            doom_removed(&transaction, &removed).await?;
        }
        let partials = transaction
            .query(
                "DELETE FROM partials WHERE owner = $1 RETURNING object, upload, part_size",
                &[&name],
            )
            .await
            .map_err(database)?;
        for gone in [
            "DELETE FROM trash WHERE owner = $1",
            "DELETE FROM reservations WHERE owner = $1",
            "DELETE FROM accounts WHERE owner = $1",
        ] {
            transaction
                .execute(gone, &[&name])
                .await
                .map_err(database)?;
        }
        transaction.commit().await.map_err(database)?;
        Ok(partials
            .iter()
            .filter_map(|row| kept_upload(row).ok().flatten())
            .collect())
    }

    /// Every user, by name (bytewise), with their quota.
    pub async fn list_users(&self) -> Result<Vec<UserInfo>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT users.name, accounts.quota, users.created
                 FROM users JOIN accounts ON accounts.owner = users.name
                 ORDER BY users.name COLLATE \"C\"",
                &[],
            )
            .await
            .map_err(database)?;
        Ok(rows
            .iter()
            .map(|row| UserInfo {
                name: row.get(0),
                quota: quota_of_sql(row.get(1)),
                created: row.get(2),
            })
            .collect())
    }

    /// Whether there is no user yet.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let row = self
            .client()
            .await?
            .query_one("SELECT NOT EXISTS (SELECT 1 FROM users)", &[])
            .await
            .map_err(database)?;
        Ok(row.get(0))
    }

    /// The server secret `name`: 32 random bytes made by whichever server
    /// asks first, the same for every server after.
    pub async fn secret(&self, name: &str) -> Result<[u8; 32], StoreError> {
        let mut fresh = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut fresh);
        let client = self.client().await?;
        // Two servers racing: the first insert wins, both read it.
        client
            .execute(
                "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &&fresh[..]],
            )
            .await
            .map_err(database)?;
        let value: Vec<u8> = client
            .query_one("SELECT value FROM secrets WHERE name = $1", &[&name])
            .await
            .map_err(database)?
            .get(0);
        value.try_into().map_err(|_| {
            StoreError::new(
                ErrorKind::Internal,
                format!("secret {name:?} is not 32 bytes"),
            )
        })
    }

    /// `name`'s verifier and quota, or `None` for an unknown user.
    pub async fn credentials(
        &self,
        name: &str,
    ) -> Result<Option<(Verifier, Option<u64>)>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT users.salt, users.iterations, users.stored_key, users.server_key,
                        accounts.quota
                 FROM users JOIN accounts ON accounts.owner = users.name
                 WHERE users.name = $1",
                &[&name],
            )
            .await
            .map_err(database)?;
        let Some(row) = row else { return Ok(None) };
        let stored: Vec<u8> = row.get(2);
        let server: Vec<u8> = row.get(3);
        let (Ok(iterations), Ok(stored_key), Ok(server_key)) = (
            u32::try_from(row.get::<_, i64>(1)),
            stored.try_into(),
            server.try_into(),
        ) else {
            // A damaged row: as an unknown user, never a login let through.
            tracing::error!(user = name, "stored verifier is malformed; refusing login");
            return Ok(None);
        };
        Ok(Some((
            Verifier {
                salt: row.get(0),
                iterations,
                stored_key,
                server_key,
            },
            quota_of_sql(row.get(4)),
        )))
    }
}

//! Failed logins, counted where every server sees them (the engine's
//! login throttle keeps its policy; these are its counts).

use super::{database, Catalog};
use netdisk_store::StoreError;

/// Milliseconds, as the engine counts them, in a bigint.
fn to_sql_millis(millis: u64) -> i64 {
    i64::try_from(millis).unwrap_or(i64::MAX)
}

impl Catalog {
    /// Adds a failure to each key, first forgetting the failures of a key
    /// whose last one was before `forget_before`; returns the largest
    /// count after. One transaction: two servers counting at once both count.
    pub async fn add_login_failure(
        &self,
        keys: &[String],
        now: u64,
        forget_before: u64,
    ) -> Result<u32, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        let mut worst = 0;
        for key in keys {
            let failures: i32 = transaction
                .query_one(
                    "INSERT INTO login_failures (key, failures, last) VALUES ($1, 1, $2)
                     ON CONFLICT (key) DO UPDATE SET
                        failures = CASE WHEN login_failures.last < $3 THEN 1
                                        ELSE login_failures.failures + 1 END,
                        last = $2
                     RETURNING failures",
                    &[key, &to_sql_millis(now), &to_sql_millis(forget_before)],
                )
                .await
                .map_err(database)?
                .get(0);
            worst = worst.max(u32::try_from(failures).unwrap_or(0));
        }
        transaction.commit().await.map_err(database)?;
        Ok(worst)
    }

    /// Among the keys with at least `max_failures`, the time of the latest
    /// last failure.
    pub async fn login_locked_since(
        &self,
        keys: &[String],
        max_failures: u32,
    ) -> Result<Option<u64>, StoreError> {
        let max_failures = i32::try_from(max_failures).unwrap_or(i32::MAX);
        let since: Option<i64> = self
            .client()
            .await?
            .query_one(
                "SELECT max(last) FROM login_failures WHERE key = ANY($1) AND failures >= $2",
                &[&keys, &max_failures],
            )
            .await
            .map_err(database)?
            .get(0);
        Ok(since.map(|last| u64::try_from(last).unwrap_or(0)))
    }

    /// Forgets the keys' failures (a login succeeded).
    pub async fn clear_login_failures(&self, keys: &[String]) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute("DELETE FROM login_failures WHERE key = ANY($1)", &[&keys])
            .await
            .map_err(database)?;
        Ok(())
    }

    /// Deletes the records whose last failure was before `before`: they
    /// lock nothing out any more. Returns how many.
    pub async fn forget_login_failures(&self, before: u64) -> Result<u64, StoreError> {
        self.client()
            .await?
            .execute(
                "DELETE FROM login_failures WHERE last < $1",
                &[&to_sql_millis(before)],
            )
            .await
            .map_err(database)
    }
}

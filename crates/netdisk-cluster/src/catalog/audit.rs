//! Audit lines in the catalog, every server's in one table.

use super::{database, Catalog};
use netdisk_store::StoreError;

/// One audit line as a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Milliseconds since the epoch.
    pub time: i64,
    pub event: String,
    /// The event's user, "" when none.
    pub owner: String,
    /// The whole line, as JSON.
    pub line: String,
}

impl Catalog {
    /// Appends `rows` from `server` in one statement.
    pub async fn append_audit(&self, server: &str, rows: &[AuditRow]) -> Result<(), StoreError> {
        let times: Vec<i64> = rows.iter().map(|row| row.time).collect();
        let events: Vec<&str> = rows.iter().map(|row| row.event.as_str()).collect();
        let owners: Vec<&str> = rows.iter().map(|row| row.owner.as_str()).collect();
        let lines: Vec<&str> = rows.iter().map(|row| row.line.as_str()).collect();
        self.client()
            .await?
            .execute(
                "INSERT INTO audit (time, server, event, owner, line)
                 SELECT t, $2, e, o, l::jsonb
                 FROM UNNEST($1::bigint[], $3::text[], $4::text[], $5::text[]) AS u(t, e, o, l)",
                &[&times, &server, &events, &owners, &lines],
            )
            .await
            .map_err(database)?;
        Ok(())
    }
}

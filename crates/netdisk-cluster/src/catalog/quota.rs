//! Quota reservations: an upload holds room before its first byte, under
//! the account row's lock, so uploads racing through any number of
//! servers never commit more than the quota together.

use super::{database, from_sql_size, to_sql_size, Catalog};
use deadpool_postgres::GenericClient;
use netdisk_store::{ErrorKind, StoreError};

/// Room held for one upload (a row of `reservations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub id: i64,
    pub owner: String,
    pub bytes: u64,
}

/// An account's figures, as of one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub quota: Option<u64>,
    pub used: u64,
    pub reserved: u64,
}

/// Locks `owner`'s account row for the rest of the transaction and reads it.
pub(crate) async fn lock_account(
    client: &impl GenericClient,
    owner: &str,
) -> Result<Usage, StoreError> {
    read_account(client, owner, " FOR UPDATE").await
}

/// `owner`'s account row; `lock` is the locking clause, if any.
async fn read_account(
    client: &impl GenericClient,
    owner: &str,
    lock: &str,
) -> Result<Usage, StoreError> {
    let sql = format!("SELECT quota, used, reserved FROM accounts WHERE owner = $1{lock}");
    let row = client
        .query_opt(&sql, &[&owner])
        .await
        .map_err(database)?
        .ok_or_else(|| no_account(owner))?;
    Ok(Usage::of_row(&row))
}

pub(super) fn no_account(owner: &str) -> StoreError {
    StoreError::new(ErrorKind::NotFound, format!("no account {owner:?}"))
}

fn expired() -> StoreError {
    StoreError::new(ErrorKind::NotFound, "the upload's reservation expired")
}

async fn add_reserved(
    client: &impl GenericClient,
    owner: &str,
    bytes: i64,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE accounts SET reserved = reserved + $2 WHERE owner = $1",
            &[&owner, &bytes],
        )
        .await
        .map_err(database)?;
    Ok(())
}

impl Usage {
    /// `quota_exceeded` unless `bytes` more fit, `replacing` of them
    /// freed by the file the upload replaces.
    fn require_room(&self, bytes: u64, replacing: u64) -> Result<(), StoreError> {
        let Some(quota) = self.quota else {
            return Ok(());
        };
        let taken = self.used.saturating_add(self.reserved);
        if taken.saturating_add(bytes.saturating_sub(replacing)) > quota {
            let free = quota.saturating_sub(taken);
            return Err(netdisk_store::quota_exceeded(bytes, replacing, free, quota));
        }
        Ok(())
    }

    /// From a row of (quota, used, reserved).
    fn of_row(row: &tokio_postgres::Row) -> Usage {
        Usage {
            quota: row.get::<_, Option<i64>>(0).map(from_sql_size),
            used: from_sql_size(row.get(1)),
            reserved: from_sql_size(row.get(2)),
        }
    }
}

impl Catalog {
    /// Holds `bytes` of `owner`'s quota for an upload by `server`, until
    /// `expires` (seconds since the epoch) unless released or renewed,
    /// counting the `replacing` bytes of the file it will replace as free
    /// (as the engine's own ledger does). `quota_exceeded` when the
    /// committed files and the other reservations leave less room.
    pub async fn reserve(
        &self,
        owner: &str,
        bytes: u64,
        replacing: u64,
        server: &str,
        expires: i64,
    ) -> Result<Reservation, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        let usage = lock_account(&transaction, owner).await?;
        usage.require_room(bytes, replacing)?;
        let sql_bytes = to_sql_size(bytes)?;
        let id: i64 = transaction
            .query_one(
                "INSERT INTO reservations (owner, bytes, server, expires)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[&owner, &sql_bytes, &server, &expires],
            )
            .await
            .map_err(database)?
            .get(0);
        add_reserved(&transaction, owner, sql_bytes).await?;
        transaction.commit().await.map_err(database)?;
        Ok(Reservation {
            id,
            owner: owner.to_owned(),
            bytes,
        })
    }

    /// Holds `extra` more bytes in `reservation` (an upload that starts
    /// over), on the same terms as `reserve`. `not_found` if it expired.
    pub async fn grow_reservation(
        &self,
        reservation: &mut Reservation,
        extra: u64,
        replacing: u64,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        let usage = lock_account(&transaction, &reservation.owner).await?;
        usage.require_room(extra, replacing)?;
        let sql_extra = to_sql_size(extra)?;
        let grown = transaction
            .execute(
                "UPDATE reservations SET bytes = bytes + $3 WHERE id = $1 AND owner = $2",
                &[&reservation.id, &reservation.owner, &sql_extra],
            )
            .await
            .map_err(database)?;
        if grown == 0 {
            return Err(expired());
        }
        add_reserved(&transaction, &reservation.owner, sql_extra).await?;
        transaction.commit().await.map_err(database)?;
        reservation.bytes += extra;
        Ok(())
    }

    /// Moves a reservation's expiry to `expires`: its server is alive.
    /// `not_found` if it expired already (its room may be taken).
    pub async fn renew_reservation(
        &self,
        reservation: &Reservation,
        expires: i64,
    ) -> Result<(), StoreError> {
        let renewed = self
            .client()
            .await?
            .execute(
                "UPDATE reservations SET expires = $3 WHERE id = $1 AND owner = $2",
                &[&reservation.id, &reservation.owner, &expires],
            )
            .await
            .map_err(database)?;
        match renewed {
            0 => Err(expired()),
            _ => Ok(()),
        }
    }

    /// Gives a reservation's room back (an upload that failed or was
    /// abandoned). Releasing one already gone does nothing.
    pub async fn release(&self, reservation: &Reservation) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(database)?;
        lock_account(&transaction, &reservation.owner).await?;
        drop_reservation(&transaction, reservation).await?;
        transaction.commit().await.map_err(database)
    }

    /// Releases every reservation whose server stopped renewing it
    /// before `now` (it died); returns how many.
    pub async fn expire_reservations(&self, now: i64) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let stale = client
            .query(
                "SELECT id, owner, bytes FROM reservations WHERE expires < $1",
                &[&now],
            )
            .await
            .map_err(database)?;
        drop(client);
        let mut released = 0;
        for row in stale {
            let reservation = Reservation {
                id: row.get(0),
                owner: row.get(1),
                bytes: from_sql_size(row.get(2)),
            };
            self.release(&reservation).await?;
            released += 1;
        }
        Ok(released)
    }

    /// `owner`'s quota and what counts toward it now.
    pub async fn usage(&self, owner: &str) -> Result<Usage, StoreError> {
        read_account(&self.client().await?, owner, "").await
    }
}

/// Deletes a reservation and takes its bytes off the account (whose row
/// the caller has locked). Returns the bytes it held, if it was still there.
pub(crate) async fn drop_reservation(
    client: &impl GenericClient,
    reservation: &Reservation,
) -> Result<Option<u64>, StoreError> {
    let gone = client
        .query_opt(
            "DELETE FROM reservations WHERE id = $1 AND owner = $2 RETURNING bytes",
            &[&reservation.id, &reservation.owner],
        )
        .await
        .map_err(database)?;
    let Some(row) = gone else { return Ok(None) };
    let bytes: i64 = row.get(0);
    client
        .execute(
            "UPDATE accounts SET reserved = reserved - $2 WHERE owner = $1",
            &[&reservation.owner, &bytes],
        )
        .await
        .map_err(database)?;
    Ok(Some(from_sql_size(bytes)))
}

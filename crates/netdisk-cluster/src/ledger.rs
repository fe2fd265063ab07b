//! The quota for several servers: the engine's `QuotaLedger` over the
//! catalog's accounts and reservations, where every figure is moved
//! under the account row's lock, so servers agree without a lock of
//! their own.

use crate::catalog::{Catalog, Reservation};
use netdisk_store::{
    Account, BoxFuture, HeldRoom, QuotaLedger, Reservation as Room, RoomTicket, StoreError,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// How long a reservation outlives its server's last renewal: a server
/// that dies holding room gives it back this long after.
const RESERVATION_LIFETIME: Duration = Duration::from_secs(120);
/// How often a live server renews the room its uploads hold.
const RENEW_EVERY: Duration = Duration::from_secs(30);

/// The catalog's ledger, as one server uses it.
pub struct CatalogLedger {
    catalog: Catalog,
    /// This server's name on its reservations.
    server: Arc<str>,
    runtime: Handle,
}

impl CatalogLedger {
    pub fn new(catalog: Catalog, server: &str, runtime: Handle) -> CatalogLedger {
        CatalogLedger {
            catalog,
            server: server.into(),
            runtime,
        }
    }
}

/// When a reservation made or renewed now runs out.
fn expiry() -> i64 {
    netdisk_store::unix_now() + RESERVATION_LIFETIME.as_secs() as i64
}

impl QuotaLedger for CatalogLedger {
    /// The catalog has every user's figures already.
    fn is_loaded(&self, _user: &str) -> bool {
        true
    }

    fn load(&self, _user: &str, _used: u64) {}

    fn account(&self, user: &str) -> BoxFuture<'static, Result<Account, StoreError>> {
        let (catalog, user) = (self.catalog.clone(), user.to_owned());
        Box::pin(async move {
            let usage = catalog.usage(&user).await?;
            Ok(Account {
                used: usage.used,
                reserved: usage.reserved,
            })
        })
    }

    /// The catalog moves `used` in the transaction of each change itself.
    fn freed(&self, _user: &str, _bytes: u64) {}

    /// The quota checked is the account row's, read under its lock (the
    /// catalog's user database keeps users' quotas there), not the
    /// engine's copy of it.
    fn reserve(
        &self,
        user: &str,
        bytes: u64,
        replacing: u64,
        _quota: Option<u64>,
    ) -> BoxFuture<'static, Result<Room, StoreError>> {
        let (catalog, user, server) = (self.catalog.clone(), user.to_owned(), self.server.clone());
        let runtime = self.runtime.clone();
        Box::pin(async move {
            let reservation = catalog
                .reserve(&user, bytes, replacing, &server, expiry())
                .await?;
            Ok(Box::new(CatalogRoom::hold(catalog, reservation, runtime)) as Room)
        })
    }
}

/// A row of `reservations`, renewed while it is held and released when
/// it is settled or dropped.
struct CatalogRoom {
    catalog: Catalog,
    /// `None` once given back.
    reservation: Option<Reservation>,
    renewer: JoinHandle<()>,
    runtime: Handle,
}

impl CatalogRoom {
    fn hold(catalog: Catalog, reservation: Reservation, runtime: Handle) -> CatalogRoom {
        let renewed = (catalog.clone(), reservation.clone());
        let renewer = runtime.spawn(async move {
            let (catalog, reservation) = renewed;
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                if let Err(error) = catalog.renew_reservation(&reservation, expiry()).await {
                    // Gone: committed (the commit dropped it) or expired
                    // (the commit will say so).
                    tracing::debug!(id = reservation.id, %error, "reservation no longer renewed");
                    return;
                }
            }
        });
        CatalogRoom {
            catalog,
            reservation: Some(reservation),
            renewer,
            runtime,
        }
    }

    /// Releases the row, off the caller's task. A row the commit dropped
    /// already is no longer there: releasing it does nothing.
    fn give_back(&mut self) {
        self.renewer.abort();
        let Some(reservation) = self.reservation.take() else {
            return;
        };
        let catalog = self.catalog.clone();
        self.runtime.spawn(async move {
            if let Err(error) = catalog.release(&reservation).await {
                // It expires on its own.
                tracing::warn!(id = reservation.id, %error, "reservation not released");
            }
        });
    }
}

impl HeldRoom for CatalogRoom {
    fn ticket(&self) -> Option<RoomTicket> {
        self.reservation.as_ref().map(|reservation| RoomTicket {
            id: reservation.id,
            bytes: reservation.bytes,
        })
    }

    fn grow_replacing(
        &mut self,
        extra: u64,
        replacing: u64,
        _quota: Option<u64>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            match self.reservation.as_mut() {
                Some(reservation) => {
                    self.catalog
                        .grow_reservation(reservation, extra, replacing)
                        .await
                }
                None => Err(StoreError::new(
                    netdisk_store::ErrorKind::Internal,
                    "the upload's reservation was given back",
                )),
            }
        })
    }

    /// What the upload stored the catalog counted in its own commit.
    fn settle(mut self: Box<Self>, _stored: u64, _freed: u64) {
        self.give_back();
    }
}

impl Drop for CatalogRoom {
    fn drop(&mut self) {
        self.give_back();
    }
}

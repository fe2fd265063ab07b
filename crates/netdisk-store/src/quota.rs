//! Per-user space accounting: bytes stored (home files, kept partial
//! uploads, the trash and old versions) and bytes reserved by uploads in
//! progress. Each upload reserves its whole size before its `put_ready`,
//! and the check and the reservation are one step, so uploads racing in
//! several sessions can never together pass the quota.
//!
//! Where the figures live is the [`QuotaLedger`] trait: the [`QuotaBook`]
//! keeps them in this process's memory under one lock (the local
//! back-end, one server); a back-end shared by several servers keeps them
//! in its database, under that database's locks.
//!
//! An upload over an existing file is checked as if that file's bytes
//! were already free (they will be, at its commit), but still reserves
//! its whole size: while it runs, nothing else can take the space it
//! will need should the old file go first (removed, or replaced by a
//! smaller one), and a second upload over the same file gets no second
//! credit for the same bytes.

use crate::backend::{BoxFuture, RoomTicket};
use crate::error::{ErrorKind, StoreError};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A user's figures at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub used: u64,
    pub reserved: u64,
}

/// Where the quota's figures are kept.
pub trait QuotaLedger: Send + Sync + 'static {
    /// False until the engine has told the ledger a user's usage
    /// (`load`): a ledger in memory learns it from the back-end at the
    /// user's first session in this process. A ledger in a database
    /// knows it already and always says true.
    fn is_loaded(&self, user: &str) -> bool;
    /// Records the usage measured by the back-end, unless another session did first.
    fn load(&self, user: &str, used: u64);
    fn account(&self, user: &str) -> BoxFuture<'static, Result<Account, StoreError>>;
    /// Bytes left the back-end (a file removed or replaced) or arrived
    /// outside an upload. A ledger whose back-end moves `used` in the same
    /// transaction as the change itself ignores it.
    fn freed(&self, user: &str, bytes: u64);
    /// Reserves `bytes` for an upload if the quota allows it, counting the
    /// `replacing` bytes of the file it will replace as free (see above).
    fn reserve(
        &self,
        user: &str,
        bytes: u64,
        replacing: u64,
        quota: Option<u64>,
    ) -> BoxFuture<'static, Result<Reservation, StoreError>>;
}

/// Space promised to one upload. Settle it when the upload ends; dropping
/// it unsettled simply gives the promise back.
pub type Reservation = Box<dyn HeldRoom>;

/// Room one upload holds in a ledger.
pub trait HeldRoom: Send {
    /// The ledger's own record of this room, for a back-end that drops it
    /// in its commit's transaction; `None` for a ledger in memory.
    fn ticket(&self) -> Option<RoomTicket>;
    /// Reserves `extra` more bytes if the quota allows it, counting the
    /// `replacing` bytes of the file the upload replaces as free.
    fn grow_replacing(
        &mut self,
        extra: u64,
        replacing: u64,
        quota: Option<u64>,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Ends the upload: `stored` bytes it wrote stay (committed or kept
    /// for a resume), and `freed` bytes left (a replaced file, a
    /// discarded partial).
    fn settle(self: Box<Self>, stored: u64, freed: u64);
}

/// Bytes over the quota that `extra` more would take an account to (0: it fits).
pub(crate) fn shortfall(account: Account, extra: u64, quota: Option<u64>) -> u64 {
    let Some(quota) = quota else { return 0 };
    account
        .used
        .saturating_add(account.reserved)
        .saturating_add(extra)
        .saturating_sub(quota)
}

/// The refusal of an upload that does not fit.
pub fn quota_exceeded(extra: u64, replacing: u64, free: u64, quota: u64) -> StoreError {
    let needed = match replacing {
        0 => format!("{extra} bytes needed"),
        _ => format!("{extra} bytes needed, {replacing} of them freed by the file replaced"),
    };
    StoreError::new(
        ErrorKind::QuotaExceeded,
        format!("quota exceeded: {needed}, {free} of {quota} free"),
    )
}

/// The ledger of one server process: figures in memory, measured from
/// the back-end at each user's first session. Cheap to clone: every
/// clone is the same book.
#[derive(Default, Clone)]
pub struct QuotaBook {
    accounts: Arc<Mutex<HashMap<String, Account>>>,
}

impl QuotaBook {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Account>> {
        // Every update is a few integer operations that cannot panic
        // halfway, so a poisoned lock still holds consistent numbers.
        self.accounts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn account_now(&self, user: &str) -> Account {
        self.lock().get(user).copied().unwrap_or_default()
    }

    fn reserve_now(
        &self,
        user: &str,
        bytes: u64,
        replacing: u64,
        quota: Option<u64>,
    ) -> Result<BookRoom, StoreError> {
        let mut room = BookRoom {
            book: self.clone(),
            user: user.to_owned(),
            reserved: 0,
        };
        room.grow_now(bytes, replacing, quota)?;
        Ok(room)
    }
}

impl QuotaLedger for QuotaBook {
    fn is_loaded(&self, user: &str) -> bool {
        self.lock().contains_key(user)
    }

    fn load(&self, user: &str, used: u64) {
        self.lock()
            .entry(user.to_owned())
            .or_insert(Account { used, reserved: 0 });
    }

    fn account(&self, user: &str) -> BoxFuture<'static, Result<Account, StoreError>> {
        Box::pin(std::future::ready(Ok(self.account_now(user))))
    }

    fn freed(&self, user: &str, bytes: u64) {
        if let Some(account) = self.lock().get_mut(user) {
            account.used = account.used.saturating_sub(bytes);
        }
    }

    fn reserve(
        &self,
        user: &str,
        bytes: u64,
        replacing: u64,
        quota: Option<u64>,
    ) -> BoxFuture<'static, Result<Reservation, StoreError>> {
        let room = self
            .reserve_now(user, bytes, replacing, quota)
            .map(|room| Box::new(room) as Reservation);
        Box::pin(std::future::ready(room))
    }
}

/// Room held in a [`QuotaBook`].
struct BookRoom {
    book: QuotaBook,
    user: String,
    reserved: u64,
}
impl BookRoom {
    fn grow_now(
        &mut self,
        extra: u64,
        replacing: u64,
        quota: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut accounts = self.book.lock();
        let account = accounts.entry(self.user.clone()).or_default();
        let taken = account.used.saturating_add(account.reserved);
        let wanted = taken.saturating_add(extra.saturating_sub(replacing));
        if let Some(quota) = quota {
            if wanted > quota {
                let free = quota.saturating_sub(taken);
                return Err(quota_exceeded(extra, replacing, free, quota));
            }
        }
        account.reserved += extra;
        self.reserved += extra;
        Ok(())
    }
}

impl HeldRoom for BookRoom {
    fn ticket(&self) -> Option<RoomTicket> {
        None
    }

    fn grow_replacing(
        &mut self,
        extra: u64,
        replacing: u64,
        quota: Option<u64>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(std::future::ready(self.grow_now(extra, replacing, quota)))
    }

    fn settle(mut self: Box<Self>, stored: u64, freed: u64) {
        let mut accounts = self.book.lock();
        let account = accounts.entry(self.user.clone()).or_default();
        account.reserved = account.reserved.saturating_sub(self.reserved);
        account.used = account.used.saturating_add(stored).saturating_sub(freed);
        self.reserved = 0;
    }
}

impl Drop for BookRoom {
    fn drop(&mut self) {
        if self.reserved > 0 {
            let mut accounts = self.book.lock();
            if let Some(account) = accounts.get_mut(&self.user) {
                account.reserved = account.reserved.saturating_sub(self.reserved);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    /// The book answers at once: its futures are ready when first polled.
    fn now<T>(future: impl Future<Output = T>) -> T {
        let mut future = std::pin::pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("the quota book never waits"),
        }
    }

    fn reserve(
        book: &QuotaBook,
        user: &str,
        bytes: u64,
        replacing: u64,
        quota: Option<u64>,
    ) -> Result<Reservation, StoreError> {
        now(QuotaLedger::reserve(book, user, bytes, replacing, quota))
    }

    #[test]
    fn reservations_never_pass_the_quota_together() {
        let book = QuotaBook::default();
        book.load("a", 100);
        let first = reserve(&book, "a", 500, 0, Some(1000)).expect("fits");
        let second = reserve(&book, "a", 400, 0, Some(1000)).expect("fits exactly");
        let err = reserve(&book, "a", 1, 0, Some(1000)).err().expect("over");
        assert_eq!(err.kind, ErrorKind::QuotaExceeded);
        assert_eq!(
            book.account_now("a"),
            Account {
                used: 100,
                reserved: 900
            }
        );
        first.settle(500, 0);
        assert_eq!(
            book.account_now("a"),
            Account {
                used: 600,
                reserved: 400
            }
        );
        drop(second);
        assert_eq!(
            book.account_now("a"),
            Account {
                used: 600,
                reserved: 0
            }
        );
        book.freed("a", 250);
        assert_eq!(book.account_now("a").used, 350);
        assert!(
            reserve(&book, "a", 10_000, 0, None).is_ok(),
            "no quota, no limit"
        );
    }

    #[test]
    fn concurrent_reservations_are_atomic() {
        let book = QuotaBook::default();
        book.load("a", 0);
        let granted: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let book = book.clone();
                    scope.spawn(move || reserve(&book, "a", 100, 0, Some(1000)).ok())
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().expect("thread"))
                .collect()
        });
        assert_eq!(granted.len(), 10);
        assert_eq!(book.account_now("a").reserved, 1000);
    }

    #[test]
    fn a_replaced_file_counts_as_free_once_and_its_upload_still_reserves_all() {
        let book = QuotaBook::default();
        // 50 quota, 40 used of which a 20-byte file is about to be replaced.
        book.load("a", 40);
        let overwrite = reserve(&book, "a", 20, 20, Some(50))
            .expect("the old file's bytes are counted as free");
        assert_eq!(book.account_now("a").reserved, 20, "the whole size is held");
        // Nothing else can take the room the overwrite holds, nor claim
        // the same old bytes for a second overwrite.
        assert!(reserve(&book, "a", 10, 0, Some(50)).is_err());
        assert!(reserve(&book, "a", 20, 20, Some(50)).is_err());
        // Should the old file go first (removed), its bytes are freed then...
        book.freed("a", 20);
        // ...and the commit replaces nothing: 40 used, never over 50.
        overwrite.settle(20, 0);
        assert_eq!(
            book.account_now("a"),
            Account {
                used: 40,
                reserved: 0
            }
        );
        let err = reserve(&book, "a", 30, 5, Some(50)).err().expect("over");
        assert!(err.message.contains("5 of them freed"), "{}", err.message);
    }
}

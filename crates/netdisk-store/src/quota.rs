//! Per-user space accounting: bytes stored (home files plus kept partial
//! uploads) and bytes reserved by uploads in progress. All changes happen
//! under one lock, so uploads racing in several sessions can never
//! together pass the quota: each reserves its whole size before its
//! `put_ready`, and the check and the reservation are one step.
//!
//! An upload over an existing file is checked as if that file's bytes
//! were already free (they will be, at its commit), but still reserves
//! its whole size: while it runs, nothing else can take the space it
//! will need should the old file go first (removed, or replaced by a
//! smaller one), and a second upload over the same file gets no second
//! credit for the same bytes.

use crate::error::{ErrorKind, StoreError};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) used: u64,
    pub(crate) reserved: u64,
}

#[derive(Default)]
pub(crate) struct QuotaBook {
    accounts: Mutex<HashMap<String, Account>>,
}

impl QuotaBook {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Account>> {
        // Every update is a few integer operations that cannot panic
        // halfway, so a poisoned lock still holds consistent numbers.
        self.accounts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// True once the user's usage has been measured from disk.
    pub(crate) fn is_loaded(&self, user: &str) -> bool {
        self.lock().contains_key(user)
    }

    /// Records the usage measured on disk, unless another session did first.
    pub(crate) fn load(&self, user: &str, used: u64) {
        self.lock()
            .entry(user.to_owned())
            .or_insert(Account { used, reserved: 0 });
    }

    pub(crate) fn account(&self, user: &str) -> Account {
        self.lock().get(user).copied().unwrap_or_default()
    }

    /// Bytes left disk (a file removed or replaced) or arrived outside an upload.
    pub(crate) fn freed(&self, user: &str, bytes: u64) {
        if let Some(account) = self.lock().get_mut(user) {
            account.used = account.used.saturating_sub(bytes);
        }
    }

    /// Bytes over the quota that `extra` more would take the user to (0: it fits).
    pub(crate) fn shortfall(&self, user: &str, extra: u64, quota: Option<u64>) -> u64 {
        let Some(quota) = quota else { return 0 };
        let account = self.account(user);
        account
            .used
            .saturating_add(account.reserved)
            .saturating_add(extra)
            .saturating_sub(quota)
    }

    /// Reserves `bytes` for an upload if the quota allows it, counting the
    /// `replacing` bytes of the file it will replace as free (see above).
    pub(crate) fn reserve(
        self: &Arc<Self>,
        user: &str,
        bytes: u64,
        replacing: u64,
        quota: Option<u64>,
    ) -> Result<Reservation, StoreError> {
        let mut reservation = Reservation {
            book: self.clone(),
            user: user.to_owned(),
            reserved: 0,
        };
        reservation.grow_replacing(bytes, replacing, quota)?;
        Ok(reservation)
    }
}

/// Space promised to one upload. Settle it when the upload ends; dropping
/// it unsettled simply gives the promise back.
pub(crate) struct Reservation {
    book: Arc<QuotaBook>,
    user: String,
    reserved: u64,
}

impl Reservation {
    /// Reserves `extra` more bytes if the quota allows it, counting the
    /// `replacing` bytes of the file the upload replaces as free.
    pub(crate) fn grow_replacing(
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
                let needed = match replacing {
                    0 => format!("{extra} bytes needed"),
                    _ => format!(
                        "{extra} bytes needed, {replacing} of them freed by the file replaced"
                    ),
                };
                return Err(StoreError::new(
                    ErrorKind::QuotaExceeded,
                    format!("quota exceeded: {needed}, {free} of {quota} free"),
                ));
            }
        }
        account.reserved += extra;
        self.reserved += extra;
        Ok(())
    }

    /// Ends the upload: `stored` bytes it wrote stay on disk (committed or
    /// kept for a resume), and `freed` bytes left disk (a replaced file, a
    /// discarded partial).
    pub(crate) fn settle(mut self, stored: u64, freed: u64) {
        let mut accounts = self.book.lock();
        let account = accounts.entry(self.user.clone()).or_default();
        account.reserved = account.reserved.saturating_sub(self.reserved);
        account.used = account.used.saturating_add(stored).saturating_sub(freed);
        self.reserved = 0;
    }
}

impl Drop for Reservation {
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

    #[test]
    fn reservations_never_pass_the_quota_together() {
        let book = Arc::new(QuotaBook::default());
        book.load("a", 100);
        let first = book.reserve("a", 500, 0, Some(1000)).expect("fits");
        let second = book.reserve("a", 400, 0, Some(1000)).expect("fits exactly");
        let err = book.reserve("a", 1, 0, Some(1000)).err().expect("over");
        assert_eq!(err.kind, ErrorKind::QuotaExceeded);
        assert_eq!(
            book.account("a"),
            Account {
                used: 100,
                reserved: 900
            }
        );
        first.settle(500, 0);
        assert_eq!(
            book.account("a"),
            Account {
                used: 600,
                reserved: 400
            }
        );
        drop(second);
        assert_eq!(
            book.account("a"),
            Account {
                used: 600,
                reserved: 0
            }
        );
        book.freed("a", 250);
        assert_eq!(book.account("a").used, 350);
        assert!(
            book.reserve("a", 10_000, 0, None).is_ok(),
            "no quota, no limit"
        );
    }

    #[test]
    fn concurrent_reservations_are_atomic() {
        let book = Arc::new(QuotaBook::default());
        book.load("a", 0);
        let granted: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let book = book.clone();
                    scope.spawn(move || book.reserve("a", 100, 0, Some(1000)).ok())
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().expect("thread"))
                .collect()
        });
        assert_eq!(granted.len(), 10);
        assert_eq!(book.account("a").reserved, 1000);
    }

    #[test]
    fn a_replaced_file_counts_as_free_once_and_its_upload_still_reserves_all() {
        let book = Arc::new(QuotaBook::default());
        // 50 quota, 40 used of which a 20-byte file is about to be replaced.
        book.load("a", 40);
        let overwrite = book
            .reserve("a", 20, 20, Some(50))
            .expect("the old file's bytes are counted as free");
        assert_eq!(book.account("a").reserved, 20, "the whole size is held");
        // Nothing else can take the room the overwrite holds, nor claim
        // the same old bytes for a second overwrite.
        assert!(book.reserve("a", 10, 0, Some(50)).is_err());
        assert!(book.reserve("a", 20, 20, Some(50)).is_err());
        // Should the old file go first (removed), its bytes are freed then...
        book.freed("a", 20);
        // ...and the commit replaces nothing: 40 used, never over 50.
        overwrite.settle(20, 0);
        assert_eq!(
            book.account("a"),
            Account {
                used: 40,
                reserved: 0
            }
        );
        let err = book.reserve("a", 30, 5, Some(50)).err().expect("over");
        assert!(err.message.contains("5 of them freed"), "{}", err.message);
    }
}

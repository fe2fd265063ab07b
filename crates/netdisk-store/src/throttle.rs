//! Failed-login throttling, per source address and per user name: the
//! first failures cost nothing, then each answer is delayed longer, then
//! the source or name is locked out for a while. Delays are sleeps, not
//! work: a flood of wrong passwords costs the server timers, not CPU (the
//! expensive PBKDF2 of SCRAM is the client's to pay anyway).
//!
//! The policy is here; the counts live in [`FailureRecords`]: this
//! process's memory, or a database several servers share (so a lockout
//! on one server holds on all of them).

use crate::backend::BoxFuture;
use crate::error::StoreError;
use crate::source::source_of;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Failures answered at once; after these, delays grow.
const FREE_FAILURES: u32 = 2;
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(4);
/// Records kept at most in memory: beyond this, new sources and names are
/// not tracked until old records expire (memory stays bounded under a spray).
const MAX_RECORDS: usize = 100_000;

/// Where failed logins are counted, by key (a source or a name). Times
/// are milliseconds since the Unix epoch.
pub trait FailureRecords: Send + Sync + 'static {
    /// Adds a failure to each key, first forgetting the failures of a key
    /// whose last one was before `forget_before`; returns the largest
    /// count after.
    fn add_failure(
        &self,
        keys: &[String],
        now: u64,
        forget_before: u64,
    ) -> BoxFuture<'static, Result<u32, StoreError>>;
    /// Among the keys with at least `max_failures`, the time of the
    /// latest last failure.
    fn locked_since(
        &self,
        keys: &[String],
        max_failures: u32,
    ) -> BoxFuture<'static, Result<Option<u64>, StoreError>>;
    /// Forgets the keys' failures (a success).
    fn clear(&self, keys: &[String]) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) struct LoginThrottle {
    max_failures: u32,
    lockout: Duration,
    records: Arc<dyn FailureRecords>,
    /// What its keys start with, so two throttles can share one set of
    /// records without counting each other's failures.
    scope: &'static str,
}

impl LoginThrottle {
    pub(crate) fn new(
        max_failures: u32,
        lockout: Duration,
        records: Arc<dyn FailureRecords>,
    ) -> LoginThrottle {
        LoginThrottle {
            max_failures: max_failures.max(1),
            lockout,
            records,
            scope: "",
        }
    }

    /// The same throttle counting under its own keys (share-link
    /// passwords beside logins).
    pub(crate) fn scoped(self, scope: &'static str) -> LoginThrottle {
        LoginThrottle { scope, ..self }
    }

    /// Counted in this process's memory.
    #[cfg(test)]
    fn in_memory(max_failures: u32, lockout: Duration) -> LoginThrottle {
        LoginThrottle::new(max_failures, lockout, Arc::new(MemoryRecords::default()))
    }

    fn keys(&self, ip: IpAddr, user: &str) -> [String; 2] {
        let scope = self.scope;
        [
            format!("{scope}source {}", source_of(ip)),
            format!("{scope}user {user}"),
        ]
    }

    /// Before an attempt: `Err(wait)` while the source or the name is locked out.
    pub(crate) async fn check(&self, ip: IpAddr, user: &str) -> Result<(), Duration> {
        self.check_at(ip, user, now_ms()).await
    }

    async fn check_at(&self, ip: IpAddr, user: &str, now: u64) -> Result<(), Duration> {
        let since = self
            .records
            .locked_since(&self.keys(ip, user), self.max_failures)
            .await;
        let since = match since {
            Ok(since) => since,
            Err(error) => {
                // The credentials come from the same place: a login that
                // cannot be throttled cannot be checked either.
                tracing::warn!(%error, "login throttle unreadable");
                None
            }
        };
        let wait = since.map_or(0, |last| {
            last.saturating_add(millis(self.lockout))
                .saturating_sub(now)
        });
        match wait {
            0 => Ok(()),
            wait => Err(Duration::from_millis(wait)),
        }
    }

    /// After a failure: how long to wait before answering.
    pub(crate) async fn failed(&self, ip: IpAddr, user: &str) -> Duration {
        self.failed_at(ip, user, now_ms()).await
    }

    async fn failed_at(&self, ip: IpAddr, user: &str, now: u64) -> Duration {
        let forget_before = now.saturating_sub(millis(self.lockout));
        match self
            .records
            .add_failure(&self.keys(ip, user), now, forget_before)
            .await
        {
            Ok(failures) => delay_after(failures),
            Err(error) => {
                tracing::warn!(%error, "login failure not counted");
                FIRST_DELAY
            }
        }
    }

    /// After a success: the source and the name start afresh.
    pub(crate) async fn succeeded(&self, ip: IpAddr, user: &str) {
        if let Err(error) = self.records.clear(&self.keys(ip, user)).await {
            tracing::warn!(%error, "login failures not cleared");
        }
    }
}

fn delay_after(failures: u32) -> Duration {
    match failures.checked_sub(FREE_FAILURES + 1) {
        None => Duration::ZERO,
        Some(doublings) => FIRST_DELAY
            .saturating_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
            .min(MAX_DELAY),
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: u64,
}

/// Failure counts in this process's memory, under one lock.
#[derive(Default)]
pub struct MemoryRecords {
    records: Mutex<HashMap<String, Record>>,
}

impl MemoryRecords {
    fn add_now(&self, keys: &[String], now: u64, forget_before: u64) -> u32 {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if records.len() >= MAX_RECORDS {
            records.retain(|_, record| record.last >= forget_before);
        }
        let mut worst = 0;
        for key in keys {
            let room = records.len() < MAX_RECORDS;
            let record = match records.get_mut(key) {
                Some(record) => record,
                None if room => records.entry(key.clone()).or_insert(Record {
                    failures: 0,
                    last: now,
                }),
                None => continue,
            };
            // Failures older than the lockout period are forgotten.
            if record.last < forget_before {
                record.failures = 0;
            }
            record.failures = record.failures.saturating_add(1);
            record.last = now;
            worst = worst.max(record.failures);
        }
        worst
    }
}

impl FailureRecords for MemoryRecords {
    fn add_failure(
        &self,
        keys: &[String],
        now: u64,
        forget_before: u64,
    ) -> BoxFuture<'static, Result<u32, StoreError>> {
        let worst = self.add_now(keys, now, forget_before);
        Box::pin(std::future::ready(Ok(worst)))
    }

    fn locked_since(
        &self,
        keys: &[String],
        max_failures: u32,
    ) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let since = keys
            .iter()
            .filter_map(|key| records.get(key))
            .filter(|record| record.failures >= max_failures)
            .map(|record| record.last)
            .max();
        Box::pin(std::future::ready(Ok(since)))
    }

    fn clear(&self, keys: &[String]) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            records.remove(key);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[tokio::test]
    async fn delays_grow_then_a_lockout_starts_and_ends() {
        let throttle = LoginThrottle::in_memory(6, Duration::from_secs(60));
        let t0 = 1_700_000_000_000;
        let mut delays = Vec::new();
        for _ in 0..6 {
            delays.push(throttle.failed_at(LOCAL, "alice", t0).await);
        }
        assert_eq!(delays[..2], [Duration::ZERO, Duration::ZERO]);
        assert_eq!(delays[2], FIRST_DELAY);
        assert_eq!(delays[3], FIRST_DELAY * 2);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert!(delays.iter().all(|d| *d <= MAX_DELAY));
        assert_eq!(
            throttle.check_at(LOCAL, "alice", t0).await,
            Err(Duration::from_secs(60))
        );
        // The name is locked from anywhere; the source for any name.
        let elsewhere: IpAddr = "127.0.0.9".parse().unwrap();
        assert!(throttle.check_at(elsewhere, "alice", t0).await.is_err());
        assert!(throttle.check_at(LOCAL, "bob", t0).await.is_err());
        assert!(throttle.check_at(elsewhere, "bob", t0).await.is_ok());
        let later = t0 + 61_000;
        assert_eq!(throttle.check_at(LOCAL, "alice", later).await, Ok(()));
        // And the old failures are forgotten: the next one is free again.
        assert_eq!(
            throttle.failed_at(LOCAL, "alice", later).await,
            Duration::ZERO
        );
    }

    #[tokio::test]
    async fn a_success_clears_the_record() {
        let throttle = LoginThrottle::in_memory(3, Duration::from_secs(60));
        let now = 1_700_000_000_000;
        for _ in 0..2 {
            throttle.failed_at(LOCAL, "alice", now).await;
        }
        throttle.succeeded(LOCAL, "alice").await;
        for _ in 0..2 {
            assert_eq!(
                throttle.failed_at(LOCAL, "alice", now).await,
                Duration::ZERO
            );
        }
        assert!(throttle.check_at(LOCAL, "alice", now).await.is_ok());
    }

    #[tokio::test]
    async fn scoped_throttles_share_records_but_not_counts() {
        let records: Arc<dyn FailureRecords> = Arc::new(MemoryRecords::default());
        let logins = LoginThrottle::new(2, Duration::from_secs(60), records.clone());
        let links = LoginThrottle::new(2, Duration::from_secs(60), records).scoped("link ");
        let now = 1_700_000_000_000;
        for _ in 0..2 {
            links.failed_at(LOCAL, "7", now).await;
        }
        assert!(links.check_at(LOCAL, "7", now).await.is_err());
        assert!(
            logins.check_at(LOCAL, "7", now).await.is_ok(),
            "a link's failures do not lock out logins"
        );
    }

    #[test]
    fn delays_are_capped_for_any_count() {
        for failures in [0, 1, 3, 10, 40, u32::MAX] {
            assert!(delay_after(failures) <= MAX_DELAY);
        }
    }
}

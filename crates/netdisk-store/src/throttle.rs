//! Failed-login throttling, per source address and per user name: the
//! first failures cost nothing, then each answer is delayed longer, then
//! the source or name is locked out for a while. Delays are sleeps, not
//! work: a flood of wrong passwords costs the server timers, not CPU (the
//! expensive PBKDF2 of SCRAM is the client's to pay anyway).

use crate::source::source_of;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures answered at once; after these, delays grow.
const FREE_FAILURES: u32 = 2;
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(4);
/// Records kept at most: beyond this, new sources and names are not
/// tracked until old records expire (memory stays bounded under a spray).
const MAX_RECORDS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Source(IpAddr),
    User(String),
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
}

pub(crate) struct LoginThrottle {
    max_failures: u32,
    lockout: Duration,
    records: Mutex<HashMap<Key, Record>>,
}

impl LoginThrottle {
    pub(crate) fn new(max_failures: u32, lockout: Duration) -> LoginThrottle {
        LoginThrottle {
            max_failures: max_failures.max(1),
            lockout,
            records: Mutex::default(),
        }
    }

    fn keys(ip: IpAddr, user: &str) -> [Key; 2] {
        [Key::Source(source_of(ip)), Key::User(user.to_owned())]
    }

    /// Before an attempt: `Err(wait)` while the source or the name is locked out.
    pub(crate) fn check(&self, ip: IpAddr, user: &str, now: Instant) -> Result<(), Duration> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let wait = Self::keys(ip, user)
            .iter()
            .filter_map(|key| records.get(key))
            .filter(|record| record.failures >= self.max_failures)
            .map(|record| (record.last + self.lockout).saturating_duration_since(now))
            .max()
            .unwrap_or(Duration::ZERO);
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait)
        }
    }

    /// After a failure: how long to wait before answering.
    pub(crate) fn failed(&self, ip: IpAddr, user: &str, now: Instant) -> Duration {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if records.len() >= MAX_RECORDS {
            let lockout = self.lockout;
            records.retain(|_, record| now.duration_since(record.last) < lockout);
        }
        let mut worst = 0;
        for key in Self::keys(ip, user) {
            let room = records.len() < MAX_RECORDS;
            let record = match records.get_mut(&key) {
                Some(record) => record,
                None if room => records.entry(key).or_insert(Record {
                    failures: 0,
                    last: now,
                }),
                None => continue,
            };
            // Failures older than the lockout period are forgotten.
            if now.duration_since(record.last) >= self.lockout {
                record.failures = 0;
            }
            record.failures = record.failures.saturating_add(1);
            record.last = now;
            worst = worst.max(record.failures);
        }
        delay_after(worst)
    }

    /// After a success: the source and the name start afresh.
    pub(crate) fn succeeded(&self, ip: IpAddr, user: &str) {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        for key in Self::keys(ip, user) {
            records.remove(&key);
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

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn delays_grow_then_a_lockout_starts_and_ends() {
        let throttle = LoginThrottle::new(6, Duration::from_secs(60));
        let t0 = Instant::now();
        let delays: Vec<Duration> = (0..6)
            .map(|_| throttle.failed(LOCAL, "alice", t0))
            .collect();
        assert_eq!(delays[..2], [Duration::ZERO, Duration::ZERO]);
        assert_eq!(delays[2], FIRST_DELAY);
        assert_eq!(delays[3], FIRST_DELAY * 2);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert!(delays.iter().all(|d| *d <= MAX_DELAY));
        assert_eq!(
            throttle.check(LOCAL, "alice", t0),
            Err(Duration::from_secs(60))
        );
        // The name is locked from anywhere; the source for any name.
        let elsewhere: IpAddr = "127.0.0.9".parse().unwrap();
        assert!(throttle.check(elsewhere, "alice", t0).is_err());
        assert!(throttle.check(LOCAL, "bob", t0).is_err());
        assert!(throttle.check(elsewhere, "bob", t0).is_ok());
        let later = t0 + Duration::from_secs(61);
        assert_eq!(throttle.check(LOCAL, "alice", later), Ok(()));
        // And the old failures are forgotten: the next one is free again.
        assert_eq!(throttle.failed(LOCAL, "alice", later), Duration::ZERO);
    }

    #[test]
    fn a_success_clears_the_record() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        let now = Instant::now();
        for _ in 0..2 {
            throttle.failed(LOCAL, "alice", now);
        }
        throttle.succeeded(LOCAL, "alice");
        for _ in 0..2 {
            assert_eq!(throttle.failed(LOCAL, "alice", now), Duration::ZERO);
        }
        assert!(throttle.check(LOCAL, "alice", now).is_ok());
    }

    #[test]
    fn delays_are_capped_for_any_count() {
        for failures in [0, 1, 3, 10, 40, u32::MAX] {
            assert!(delay_after(failures) <= MAX_DELAY);
        }
    }
}

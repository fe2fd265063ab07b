//! Per-source bookkeeping: which address a connection counts against, and
//! the cap on connections from one source.

use netdisk_store::source_of;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Counts open connections per source.
pub(crate) struct SourceLimit {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One counted connection; dropping it frees the slot.
pub(crate) struct SourceSlot {
    source: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl SourceLimit {
    pub(crate) fn new(max: usize) -> SourceLimit {
        SourceLimit {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for one more connection from `ip`, or `None` at the cap.
    pub(crate) fn try_acquire(&self, ip: IpAddr) -> Option<SourceSlot> {
        let source = source_of(ip);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(source).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            source,
            open: self.open.clone(),
        })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.source) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_hosts_count_by_their_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_of(a), source_of(b));
        assert_ne!(source_of(a), source_of(c));
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(source_of(mapped), "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_cap_holds_and_dropping_a_slot_frees_it() {
        let limit = SourceLimit::new(2);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let first = limit.try_acquire(ip).expect("first");
        let _second = limit.try_acquire(ip).expect("second");
        assert!(limit.try_acquire(ip).is_none());
        assert!(limit.try_acquire("127.0.0.2".parse().unwrap()).is_some());
        drop(first);
        assert!(limit.try_acquire(ip).is_some());
    }
}

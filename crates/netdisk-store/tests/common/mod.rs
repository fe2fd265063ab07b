//! What the engine's tests share: a store in a temporary directory with
//! one user, alice, her space, and paths.
#![allow(dead_code)] // each test binary uses its own part of it

use netdisk_proto::HomePath;
use netdisk_store::{AuditDestination, Retention, Space, Store, StoreConfig};
use std::path::Path;
use std::time::Duration;

/// The store at `root` (made on first use, with alice and her `quota`).
pub fn open_store(root: &Path, quota: Option<u64>, retention: Retention) -> Store {
    let store = Store::open(StoreConfig {
        root: root.to_owned(),
        default_quota: None,
        partial_ttl: Duration::from_secs(3600),
        audit: AuditDestination::File("audit.log".into()),
        max_login_failures: 5,
        lockout: Duration::from_secs(60),
        retention,
    })
    .expect("store opens");
    if store.users().list().expect("users").is_empty() {
        store.users().add("alice", "pw", quota).expect("user");
    }
    store
}

/// Nothing kept: removed and replaced files leave at once.
pub fn keeping_nothing() -> Retention {
    Retention {
        keep_trash: Duration::ZERO,
        keep_versions: 0,
        free_space_from_trash: false,
    }
}

pub fn path(p: &str) -> HomePath {
    HomePath::home().resolve(p).expect("path")
}

/// Alice's space.
pub async fn space(store: &Store) -> Space {
    store
        .space("alice", "127.0.0.1:9".parse().expect("addr"))
        .await
        .expect("space")
}

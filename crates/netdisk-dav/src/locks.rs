//! WebDAV locks: dav-server's in-memory lock system, one per user (lock
//! paths are paths in a home, so two users' `/a.txt` are different
//! files). Locks last until they time out, are released, or the server
//! stops: enough for one server process.

use dav_server::ls::DavLockSystem;
use dav_server::memls::MemLs;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub(crate) struct LockSystems(Arc<Mutex<HashMap<String, Box<dyn DavLockSystem>>>>);

impl LockSystems {
    /// The user's lock system (a handle on shared state).
    pub(crate) fn of(&self, user: &str) -> Box<dyn DavLockSystem> {
        let mut systems = self.0.lock().unwrap_or_else(|e| e.into_inner());
        systems
            .entry(user.to_owned())
            .or_insert_with(|| MemLs::new())
            .clone()
    }
}

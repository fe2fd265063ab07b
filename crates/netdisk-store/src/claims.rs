//! Who is writing which resumable partial upload right now, across every
//! session and front-end of this server: two writers never share one
//! partial, a commit never removes one being written, and the sweeper
//! leaves them alone.

use netdisk_proto::HomePath;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Resumable partials being written right now (across all sessions), so
/// two sessions never write the same one and the sweeper leaves them alone.
#[derive(Default)]
pub struct ActivePartials {
    names: Mutex<HashSet<String>>,
    released: tokio::sync::Notify,
}

impl ActivePartials {
    fn names(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn claim(self: &Arc<Self>, key: String) -> Option<ActiveClaim> {
        if self.names().insert(key.clone()) {
            Some(ActiveClaim {
                active: self.clone(),
                key,
            })
        } else {
            None
        }
    }

    /// Claims `key`, waiting up to `patience` for its writer to finish:
    /// a client that retries right after its connection was cut must not
    /// lose to its own old session, which may not have noticed the cut yet.
    pub(crate) async fn claim_within(
        self: &Arc<Self>,
        key: String,
        patience: Duration,
    ) -> Option<ActiveClaim> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            // Register for the wake-up before looking, so none is missed.
            released.as_mut().enable();
            if let Some(claim) = self.claim(key.clone()) {
                return Some(claim);
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return None;
            }
        }
    }

    /// Resumable partials are named after their target.
    pub(crate) fn key_for(user: &str, target: &HomePath) -> String {
        Self::key_of(user, &partial_name(target))
    }

    /// The key of the partial with staging name `name` ("r-KEY").
    pub(crate) fn key_of(user: &str, name: &str) -> String {
        format!("{user}/{name}")
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.names().contains(key)
    }
}

/// Whose kept partials a commit may release, and the claims that keep
/// it off those being written.
#[derive(Clone)]
pub struct PartialRelease {
    pub(crate) active: Arc<ActivePartials>,
    pub(crate) user: String,
}

impl PartialRelease {
    /// Claims this user's partial "r-KEY", unless an upload writes it.
    pub(crate) fn claim_key(&self, key: &str) -> Option<ActiveClaim> {
        self.active.claim(ActivePartials::key_of(&self.user, key))
    }
}

pub struct ActiveClaim {
    active: Arc<ActivePartials>,
    key: String,
}

impl Drop for ActiveClaim {
    fn drop(&mut self) {
        self.active.names().remove(&self.key);
        self.active.released.notify_waiters();
    }
}

/// "r-KEY": the staging name of a resumable upload to `target`, named
/// after its target so a later attempt finds it.
pub(crate) fn partial_name(target: &HomePath) -> String {
    format!(
        "{RESUMABLE}{}",
        &blake3::hash(target.relative().as_bytes()).to_hex()[..32]
    )
}

/// Prefix of resumable staging names.
pub(crate) const RESUMABLE: &str = "r-";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_claim_passes_to_the_next_writer_when_released() {
        let active = Arc::new(ActivePartials::default());
        let first = active.claim("u/r-k".into()).expect("free");
        let waiter = {
            let active = active.clone();
            tokio::spawn(async move {
                active
                    .claim_within("u/r-k".into(), Duration::from_secs(30))
                    .await
                    .is_some()
            })
        };
        drop(first);
        assert!(
            waiter.await.expect("task"),
            "the waiting writer got the claim"
        );
        let _held = active.claim("u/r-k2".into()).expect("free");
        assert!(active
            .claim_within("u/r-k2".into(), Duration::from_millis(50))
            .await
            .is_none());
    }
}

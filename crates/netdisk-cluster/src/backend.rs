//! The engine's `Backend` for several servers: every home is catalog
//! rows and objects (`home.rs`), the quota is the catalog's
//! (`ledger.rs`), and each server's periodic sweep gives back the room of
//! servers that died and deletes objects nothing names.

use crate::audit::CatalogAudit;
use crate::catalog::Catalog;
use crate::collector::collect;
use crate::directory::CatalogUsers;
use crate::home::ClusterHome;
use crate::ledger::CatalogLedger;
use crate::objects::{Objects, S3Location};
use crate::partial::abort_kept;
use crate::resumables::CatalogResumables;
use crate::shares::CatalogShares;
use crate::throttle::CatalogFailures;
use crate::tokens::CatalogTokens;
use netdisk_store::{ActivePartials, Backend, Backing, Home, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

/// An object written but not yet named (an upload between its last
/// part and its commit) is younger than this; an older unnamed one was
/// left by a server that died, and is deleted.
const ORPHAN_AGE: Duration = Duration::from_secs(6 * 3600);

/// Seconds after which a failed login's record goes (longer than any
/// lockout one would configure).
const FORGET_LOGIN_FAILURES: i64 = 24 * 3600;

/// What every home of one server shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) catalog: Catalog,
    pub(crate) objects: Objects,
    /// The server's runtime, which the engine's blocking threads wait on.
    pub(crate) runtime: Handle,
    /// This server's name on the room its uploads hold and the partials
    /// it writes.
    pub(crate) server: Arc<str>,
}

/// The catalog and the object store, as one server's back-end.
pub struct ClusterBackend {
    shared: Shared,
}

impl ClusterBackend {
    /// `runtime` runs the catalog's and the store's requests.
    pub fn new(catalog: Catalog, objects: Objects, runtime: Handle) -> ClusterBackend {
        ClusterBackend {
            shared: Shared {
                catalog,
                objects,
                runtime,
                server: "unnamed".into(),
            },
        }
    }

    /// Connects to the catalog at `store` (a PostgreSQL URL, with at most
    /// `connections`) and the bucket at `objects` (an `S3Location`; keys
    /// from the environment): the `Backing` of one server, named for its
    /// reservations so a restarted server is a new holder.
    pub async fn connect(
        store: &str,
        objects: &str,
        connections: usize,
    ) -> Result<Backing, StoreError> {
        let catalog = Catalog::connect(store, connections).await?;
        let location = S3Location::parse(objects)?;
        let objects = Objects::open(&location, None)?;
        let server = format!(
            "netdisk-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        tracing::info!(%server, bucket = %location.bucket, "files, users and quotas in the shared catalog");
        Ok(ClusterBackend::new(catalog, objects, Handle::current()).into_backing(&server))
    }

    /// The back-end, its ledger, and the catalog's users, login failures,
    /// API tokens, share links, tus uploads and audit lines, for
    /// `Store::open_on`; `server` names this server on the room its
    /// uploads hold, the partials it writes and its audit lines.
    pub fn into_backing(mut self, server: &str) -> Backing {
        self.shared.server = server.into();
        let ledger = CatalogLedger::new(
            self.shared.catalog.clone(),
            server,
            self.shared.runtime.clone(),
        );
        let users = CatalogUsers::new(self.shared.catalog.clone(), self.shared.runtime.clone());
        let failures = CatalogFailures::new(self.shared.catalog.clone());
        let tokens = CatalogTokens::new(self.shared.catalog.clone(), self.shared.runtime.clone());
        let shares = CatalogShares::new(self.shared.catalog.clone(), self.shared.runtime.clone());
        let resumables =
            CatalogResumables::new(self.shared.catalog.clone(), self.shared.runtime.clone());
        let audit = CatalogAudit::start(self.shared.catalog.clone(), server, &self.shared.runtime);
        Backing {
            backend: Box::new(self),
            quotas: Arc::new(ledger),
            users: Arc::new(users),
            login_failures: Arc::new(failures),
            tokens: Arc::new(tokens),
            shares: Arc::new(shares),
            resumables: Arc::new(resumables),
            audit: Some(Arc::new(audit)),
        }
    }

    async fn sweep_shared(&self, partial_ttl: Duration) -> Result<Vec<(String, u64)>, StoreError> {
        let released = self
            .shared
            .catalog
            .expire_reservations(netdisk_store::unix_now())
            .await?;
        if released > 0 {
            tracing::info!(released, "reservations of stopped servers released");
        }
        // A day on, no lockout can still depend on a failure.
        let forget_before = netdisk_store::unix_now().saturating_sub(FORGET_LOGIN_FAILURES);
        let forgotten = self
            .shared
            .catalog
            .forget_login_failures(u64::try_from(forget_before).unwrap_or(0) * 1000)
            .await?;
        if forgotten > 0 {
            tracing::debug!(forgotten, "old login failures forgotten");
        }
        let written_before = netdisk_store::unix_now().saturating_sub(partial_ttl.as_secs() as i64);
        let expired = self.shared.catalog.expire_partials(written_before).await?;
        for (_, kept, _) in &expired {
            if let Some(kept) = kept {
                abort_kept(&self.shared, kept).await;
            }
        }
        if !expired.is_empty() {
            tracing::info!(expired = expired.len(), "kept partial uploads expired");
        }
        let collected = collect(&self.shared.catalog, &self.shared.objects, ORPHAN_AGE).await?;
        if collected.doomed + collected.orphans > 0 {
            tracing::info!(
                doomed = collected.doomed,
                orphans = collected.orphans,
                "objects deleted"
            );
        }
        Ok(expired
            .into_iter()
            .map(|(owner, _, bytes)| (owner, bytes))
            .collect())
    }
}

impl Backend for ClusterBackend {
    fn open_home(&self, user: &str) -> Result<Arc<dyn Home>, StoreError> {
        Ok(Arc::new(ClusterHome {
            shared: self.shared.clone(),
            owner: user.to_owned(),
        }))
    }

    /// Nothing of this server's own is left at startup (other servers'
    /// uploads may be under way); later sweeps release expired
    /// reservations, forget partial uploads nobody wrote for `max_age`
    /// (whose bytes then leave their accounts: returned per user), and
    /// delete objects nothing names.
    fn sweep(
        &self,
        max_age: Duration,
        _active: &ActivePartials,
        at_startup: bool,
    ) -> Vec<(String, u64)> {
        if at_startup {
            return Vec::new();
        }
        match self.shared.runtime.block_on(self.sweep_shared(max_age)) {
            Ok(expired) => expired,
            Err(error) => {
                tracing::warn!(%error, "cluster sweep failed");
                Vec::new()
            }
        }
    }
}

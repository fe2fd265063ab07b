//! Accepts connections, caps how many run at once, and shuts down
//! gracefully: stop accepting, let running requests finish within the grace
//! period, then return.

use crate::audit::AuditLog;
use crate::config::{ServerConfig, Transport};
use crate::connection::{refuse, serve_connection};
use crate::data_dir::DataDir;
use crate::error::ServerError;
use crate::session::Shared;
use crate::source::SourceLimit;
use crate::staging::{self, ActivePartials};
use crate::tls::ServerTls;
use netdisk_proto::Fingerprint;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Refused connections told why at once; more are closed without a word.
const MAX_REFUSALS_AT_ONCE: usize = 64;

pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    config: ServerConfig,
}

impl Server {
    /// Opens the data directory (creating it, and the TLS certificate, on
    /// first start) and binds.
    pub async fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        let data = DataDir::open(&config.root)?;
        let users = data.users()?;
        let tls = ServerTls::load(&config.transport, data.root())?;
        let audit = AuditLog::open(&config.audit, data.root())?;
        let listener =
            TcpListener::bind(&config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen.clone(),
                    source,
                })?;
        // Uploads cut by a crash: plain ones go now, resumable ones when they expire.
        staging::sweep(
            &data.root().join("staging"),
            config.partial_ttl,
            &ActivePartials::default(),
            true,
        );
        let decoy_key = users.secret("decoy-verifier")?;
        let shared = Arc::new(Shared::new(
            data,
            users,
            config.clone(),
            decoy_key,
            tls,
            audit,
        ));
        Ok(Server {
            listener,
            shared,
            config,
        })
    }

    /// The address actually bound (the real port when asked for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        Ok(self.listener.local_addr()?)
    }

    /// The SHA-256 fingerprint of the TLS certificate; `None` in plaintext.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        self.shared.tls.as_ref().map(ServerTls::fingerprint)
    }

    /// True when connections are not encrypted.
    pub fn is_plaintext(&self) -> bool {
        self.config.transport == Transport::Plaintext
    }

    /// True when the user database has no users yet.
    pub fn has_no_users(&self) -> bool {
        self.shared.users.is_empty().unwrap_or(false)
    }

    /// Serves until `shutdown` completes, then drains within the grace period.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let permits = Arc::new(Semaphore::new(self.config.max_connections));
        let per_source = SourceLimit::new(self.config.max_connections_per_ip);
        // Telling refused clients why costs a task (and a TLS handshake)
        // each; under a flood, the ones beyond these are just closed.
        let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_AT_ONCE));
        tokio::spawn(sweep_partials(self.shared.clone(), cancel.clone()));
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and similar: keep serving the
                    // clients we have, and try again shortly.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Small control frames must not wait for Nagle; data is written in large pieces.
            let _ = stream.set_nodelay(true);
            let shared = self.shared.clone();
            let refusal = if let Ok(permit) = permits.clone().try_acquire_owned() {
                match per_source.try_acquire(peer.ip()) {
                    Some(slot) => Ok((permit, slot)),
                    None => {
                        tracing::warn!(%peer, limit = self.config.max_connections_per_ip, "per-address connection limit reached");
                        Err("too many connections from your address; try again later")
                    }
                }
            } else {
                tracing::warn!(%peer, limit = self.config.max_connections, "connection limit reached");
                Err("server is at its connection limit; try again later")
            };
            let (permit, slot) = match refusal {
                Ok(slots) => slots,
                Err(why) => {
                    if let Ok(refusing) = refusals.clone().try_acquire_owned() {
                        tracker.spawn(async move {
                            refuse(stream, shared, why).await;
                            drop(refusing);
                        });
                    }
                    continue;
                }
            };
            let cancel = cancel.clone();
            tracker.spawn(async move {
                serve_connection(stream, peer, shared, cancel).await;
                drop((permit, slot));
            });
        }
        drop(self.listener);
        tracing::info!("shutting down: no new connections; waiting for running requests");
        cancel.cancel();
        tracker.close();
        if tokio::time::timeout(self.config.grace_period, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                remaining = tracker.len(),
                "grace period over; closing the remaining connections"
            );
        }
        Ok(())
    }
}

/// Removes expired partial uploads now and then, until shutdown.
async fn sweep_partials(shared: Arc<Shared>, cancel: CancellationToken) {
    let ttl = shared.config.partial_ttl;
    let period = (ttl / 4).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(600),
    );
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
        let worker = shared.clone();
        let swept = tokio::task::spawn_blocking(move || {
            staging::sweep(
                &worker.data.root().join("staging"),
                ttl,
                &worker.active,
                false,
            )
        })
        .await;
        for (user, bytes) in swept.unwrap_or_default() {
            tracing::info!(%user, bytes, "expired partial uploads removed");
            shared.quotas.freed(&user, bytes);
        }
    }
}

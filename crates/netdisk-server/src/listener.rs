//! The netdisk server: opens the data directory, binds, and serves
//! connections through the shared accept loop until shutdown; meanwhile it
//! sweeps expired partial uploads.

use crate::accept::{serve_connections, ConnectionLimits};
use crate::config::{ServerConfig, Transport};
use crate::connection::{refuse, serve_connection};
use crate::error::ServerError;
use crate::session::Shared;
use crate::tls::ServerTls;
use netdisk_proto::Fingerprint;
use netdisk_store::{Backing, Store, StoreConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    config: ServerConfig,
}

impl Server {
    /// Opens the data directory (creating it, and the TLS certificate, on
    /// first start) and binds.
    pub async fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        Server::bind_on(config, None).await
    }

    /// `bind`, with users' files, accounts and quotas in `backing` (a
    /// back-end several servers share) instead of the data directory.
    pub async fn bind_on(
        config: ServerConfig,
        backing: Option<Backing>,
    ) -> Result<Server, ServerError> {
        let store = Store::open_on(
            StoreConfig {
                root: config.root.clone(),
                default_quota: config.default_quota,
                partial_ttl: config.partial_ttl,
                audit: config.audit.clone(),
                max_login_failures: config.max_login_failures,
                lockout: config.lockout,
                retention: config.retention,
            },
            backing,
        )?;
        let tls = ServerTls::load(&config.transport, store.root())?.map(Arc::new);
        let listener =
            TcpListener::bind(&config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen.clone(),
                    source,
                })?;
        let shared = Arc::new(Shared::new(store, config.clone(), tls));
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
        self.shared.tls.as_deref().map(ServerTls::fingerprint)
    }

    /// The engine, for other front-ends in the same process (the web gateway).
    pub fn store(&self) -> Store {
        self.shared.store.clone()
    }

    /// The TLS acceptor with this server's certificate, for other
    /// front-ends in the same process; `None` in plaintext.
    pub fn tls(&self) -> Option<Arc<ServerTls>> {
        self.shared.tls.clone()
    }

    /// True when connections are not encrypted.
    pub fn is_plaintext(&self) -> bool {
        self.config.transport == Transport::Plaintext
    }

    /// True when there are no users yet.
    pub async fn has_no_users(&self) -> bool {
        self.shared.store.has_no_users().await
    }

    /// Serves until `shutdown` completes, then drains within the grace period.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let stop_sweeping = CancellationToken::new();
        tokio::spawn(sweep_partials(self.shared.clone(), stop_sweeping.clone()));
        let limits = ConnectionLimits {
            total: self.config.max_connections,
            per_address: self.config.max_connections_per_ip,
            grace_period: self.config.grace_period,
        };
        let shared = &self.shared;
        serve_connections(
            self.listener,
            limits,
            shutdown,
            |stream, peer, cancel| serve_connection(stream, peer, shared.clone(), cancel),
            |stream, _peer, why| refuse(stream, shared.clone(), why),
        )
        .await;
        stop_sweeping.cancel();
        Ok(())
    }
}

/// Removes expired partial uploads now and then, until shutdown.
async fn sweep_partials(shared: Arc<Shared>, cancel: CancellationToken) {
    let period = (shared.config.partial_ttl / 4).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(600),
    );
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
        shared.store.sweep_expired().await;
    }
}

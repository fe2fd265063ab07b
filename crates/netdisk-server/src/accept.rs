//! The accept loop every TCP service here shares (the netdisk server and
//! the examples): connection caps in all and per source address, a task
//! per connection, and graceful shutdown (stop accepting, let running
//! connections finish within a grace period, then return).

use crate::source::SourceLimit;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Refused connections told why at once; more are closed without a word,
/// so a flood cannot make the service spawn without bound.
const MAX_REFUSALS_AT_ONCE: usize = 64;

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once.
    pub total: usize,
    /// Connections served at once from one IPv4 address or IPv6 /64.
    pub per_address: usize,
    /// After shutdown, how long running connections may take to finish.
    pub grace_period: Duration,
}

/// Accepts on `listener` until `shutdown` completes, running
/// `serve(stream, peer, cancel)` for each connection within the limits and
/// `refuse(stream, peer, why)` for each one over them. `cancel` fires at
/// shutdown: a connection should finish what it is doing and close.
pub async fn serve_connections<S, SF, R, RF>(
    listener: TcpListener,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    serve: S,
    refuse: R,
) where
    S: Fn(TcpStream, SocketAddr, CancellationToken) -> SF,
    SF: Future<Output = ()> + Send + 'static,
    R: Fn(TcpStream, SocketAddr, &'static str) -> RF,
    RF: Future<Output = ()> + Send + 'static,
{
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let permits = Arc::new(Semaphore::new(limits.total));
    let per_source = SourceLimit::new(limits.per_address);
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_AT_ONCE));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Out of file descriptors and similar: keep serving the
                // clients we have, and try again shortly.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small control frames must not wait for Nagle; data is written in large pieces.
        let _ = stream.set_nodelay(true);
        let admitted = match permits.clone().try_acquire_owned() {
            Err(_) => {
                tracing::warn!(%peer, limit = limits.total, "connection limit reached");
                Err("server is at its connection limit; try again later")
            }
            Ok(permit) => match per_source.try_acquire(peer.ip()) {
                Some(slot) => Ok((permit, slot)),
                None => {
                    tracing::warn!(%peer, limit = limits.per_address, "per-address connection limit reached");
                    Err("too many connections from your address; try again later")
                }
            },
        };
        match admitted {
            Ok(slots) => {
                let connection = serve(stream, peer, cancel.clone());
                tracker.spawn(async move {
                    connection.await;
                    drop(slots);
                });
            }
            Err(why) => {
                if let Ok(refusing) = refusals.clone().try_acquire_owned() {
                    let refusal = refuse(stream, peer, why);
                    tracker.spawn(async move {
                        refusal.await;
                        drop(refusing);
                    });
                }
            }
        }
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; waiting for running ones");
    cancel.cancel();
    tracker.close();
    if tokio::time::timeout(limits.grace_period, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            remaining = tracker.len(),
            "grace period over; closing the remaining connections"
        );
    }
}

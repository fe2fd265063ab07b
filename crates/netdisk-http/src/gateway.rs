//! The listener: the accept loop the native server uses (connection caps
//! in all and per address, graceful shutdown), TLS with the native port's
//! certificate, then HTTP/1.1 by hyper with a time limit on every
//! request header.

use crate::config::HttpConfig;
use crate::routes::{router, AppState};
use crate::whole_reads::WholeReads;
use axum::extract::Request;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use netdisk_server::{serve_connections, ConnectionLimits, ServerTls};
use netdisk_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The TLS handshake of one connection gets at most this.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// The peer's address, put on every request of its connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) SocketAddr);

pub struct HttpGateway {
    listener: TcpListener,
    tls: Option<Arc<ServerTls>>,
    state: AppState,
    config: HttpConfig,
}

impl HttpGateway {
    /// Binds `config.listen`. `tls` is the native server's acceptor (the
    /// same certificate); `None` serves plaintext HTTP.
    pub async fn bind(
        store: Store,
        tls: Option<Arc<ServerTls>>,
        config: HttpConfig,
    ) -> std::io::Result<HttpGateway> {
        let listener = TcpListener::bind(&config.listen).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.listen))
        })?;
        store.announce_http_port(listener.local_addr()?.port());
        let state = AppState::new(store, config.clone(), tls.is_some());
        Ok(HttpGateway {
            listener,
            tls,
            state,
            config,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets running requests
    /// finish within the grace period.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let limits = ConnectionLimits {
            total: self.config.max_connections,
            per_address: self.config.max_connections_per_ip,
            grace_period: self.config.grace_period,
        };
        let app = router(self.state);
        let (tls, header_timeout) = (self.tls, self.config.header_timeout);
        let plaintext = tls.is_none();
        serve_connections(
            self.listener,
            limits,
            shutdown,
            |stream, peer, cancel| {
                serve_connection(
                    stream,
                    peer,
                    tls.clone(),
                    app.clone(),
                    header_timeout,
                    cancel,
                )
            },
            |stream, _peer, _why| refuse(stream, plaintext),
        )
        .await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<Arc<ServerTls>>,
    app: axum::Router,
    header_timeout: Duration,
    cancel: CancellationToken,
) {
    match tls {
        None => serve_http(stream, peer, app, header_timeout, cancel).await,
        Some(tls) => match tls.accept(stream, HANDSHAKE_LIMIT).await {
            Ok(stream) => {
                let stream = WholeReads::new(stream);
                serve_http(stream, peer, app, header_timeout, cancel).await
            }
            Err(e) => tracing::debug!(%peer, error = %e, "HTTPS handshake failed"),
        },
    }
}

async fn serve_http<S>(
    stream: S,
    peer: SocketAddr,
    app: axum::Router,
    header_timeout: Duration,
    cancel: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        app.clone().oneshot(request.map(axum::body::Body::new))
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = cancel.cancelled() => {
            // Finish the request in flight, then close.
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    };
    if let Err(e) = outcome {
        tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
    }
}

/// Over a connection cap: a bare 503 for a plaintext client, a close for a
/// TLS one (answering would need the handshake the cap is there to spare).
async fn refuse(mut stream: TcpStream, plaintext: bool) {
    if !plaintext {
        return;
    }
    let _ = stream
        .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\nretry-after: 1\r\n\r\n")
        .await;
    let _ = stream.shutdown().await;
}

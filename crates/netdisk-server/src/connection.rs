//! One client connection: frames in and out over any byte stream, with a
//! time limit on every read, and the task that serves it from hello to close.

use crate::login::login;
use crate::session::{serve_requests, Shared};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use netdisk_proto::handshake::Hello;
use netdisk_proto::{CodecError, ErrorCode, Frame, Message, NetdiskCodec, PROTOCOL_VERSION};
use rand::RngCore;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Read buffer between requests: enough for typical headers. The codec
/// grows it while a body streams; `release_buffers` shrinks it again.
const IDLE_BUFFER: usize = 8 * 1024;

/// Why a connection ends. Each carries what (if anything) to tell the peer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Fatal {
    #[error("peer closed the connection")]
    Closed,
    #[error("{0}")]
    Codec(#[from] CodecError),
    #[error("{0} timed out")]
    Timeout(&'static str),
    #[error("protocol violation: {message}")]
    Protocol { id: Option<u64>, message: String },
    #[error("client speaks protocol {theirs}")]
    Version { id: u64, theirs: u32 },
    #[error("login failed")]
    AuthFailed { id: u64 },
    #[error("server is shutting down")]
    ShuttingDown,
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl Fatal {
    pub(crate) fn protocol(id: Option<u64>, message: impl Into<String>) -> Fatal {
        Fatal::Protocol {
            id,
            message: message.into(),
        }
    }

    /// The last frame to send before closing, when the peer can still read it.
    fn farewell(&self) -> Option<Message> {
        match self {
            Fatal::Closed | Fatal::Io(_) | Fatal::Codec(CodecError::Io(_) | CodecError::Truncated) => None,
            Fatal::Codec(e) => Some(Message::error(e.request_id(), e.code(), e.to_string())),
            Fatal::Timeout(what) => Some(Message::error(None, ErrorCode::Timeout, format!("{what} timed out"))),
            Fatal::Protocol { id, message } => Some(Message::error(*id, ErrorCode::BadRequest, message.clone())),
            Fatal::Version { id, theirs } => Some(Message::error(
                Some(*id),
                ErrorCode::UnsupportedVersion,
                format!("client speaks protocol {theirs}; this server speaks protocol {PROTOCOL_VERSION}"),
            )),
            Fatal::AuthFailed { id } => Some(Message::error(
                Some(*id),
                ErrorCode::AuthFailed,
                "login failed: unknown user or wrong password",
            )),
            Fatal::ShuttingDown => Some(Message::error(None, ErrorCode::Busy, "server is shutting down")),
        }
    }
}

pub(crate) struct Connection<S> {
    framed: Framed<S, NetdiskCodec>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub(crate) fn new(stream: S) -> Self {
        Connection {
            framed: Framed::with_capacity(stream, NetdiskCodec::new(), IDLE_BUFFER),
        }
    }

    /// The next frame, or an error if none arrives within `limit`.
    pub(crate) async fn read(
        &mut self,
        limit: Duration,
        what: &'static str,
    ) -> Result<Frame, Fatal> {
        match tokio::time::timeout(limit, self.framed.next()).await {
            Err(_) => Err(Fatal::Timeout(what)),
            Ok(None) => Err(Fatal::Closed),
            Ok(Some(Err(e))) => Err(Fatal::Codec(e)),
            Ok(Some(Ok(frame))) => Ok(frame),
        }
    }

    /// The next frame, which must be a header (not body bytes).
    pub(crate) async fn read_message(
        &mut self,
        limit: Duration,
        what: &'static str,
    ) -> Result<Message, Fatal> {
        match self.read(limit, what).await? {
            Frame::Message(m) => Ok(m),
            Frame::Body(_) => Err(Fatal::protocol(
                None,
                "body bytes where a header was expected",
            )),
        }
    }

    pub(crate) async fn send(&mut self, message: &Message) -> Result<(), Fatal> {
        self.framed.send(message).await?;
        Ok(())
    }

    /// Writes raw body bytes straight to the stream, after any queued header.
    pub(crate) async fn write_body(&mut self, bytes: &[u8]) -> Result<(), Fatal> {
        SinkExt::<bytes::Bytes>::flush(&mut self.framed).await?;
        self.framed.get_mut().write_all(bytes).await?;
        Ok(())
    }

    pub(crate) async fn flush(&mut self) -> Result<(), Fatal> {
        SinkExt::<bytes::Bytes>::flush(&mut self.framed).await?;
        self.framed.get_mut().flush().await?;
        Ok(())
    }

    /// Gives back large buffers left over from a transfer, so an idle
    /// connection costs little memory.
    pub(crate) fn release_buffers(&mut self) {
        let read = self.framed.read_buffer_mut();
        if read.is_empty() && read.capacity() > IDLE_BUFFER {
            *read = bytes::BytesMut::with_capacity(IDLE_BUFFER);
        }
        let write = self.framed.write_buffer_mut();
        if write.is_empty() && write.capacity() > IDLE_BUFFER {
            *write = bytes::BytesMut::new();
        }
    }

    async fn close(&mut self) {
        let _ = self.framed.get_mut().shutdown().await;
    }
}

fn hello() -> Message {
    let mut challenge = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut challenge);
    Message::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        server: "netdisk".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        auth: vec![netdisk_proto::scram::MECHANISM.into()],
        challenge: B64.encode(challenge),
    })
}

pub(crate) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    serve_stream(stream, peer, shared, cancel)
        .instrument(tracing::info_span!("conn", %peer))
        .await
}

/// Serves one client over any byte stream (TCP today, TLS later).
async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: SocketAddr,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    let mut conn = Connection::new(stream);
    let outcome = async {
        conn.send(&hello()).await?;
        let deadline = tokio::time::Instant::now() + shared.config.login_timeout;
        let user = tokio::select! {
            result = tokio::time::timeout_at(deadline, login(&mut conn, &shared)) => {
                result.map_err(|_| Fatal::Timeout("login"))??
            }
            () = cancel.cancelled() => return Err(Fatal::ShuttingDown),
        };
        tracing::info!(user = %user.name, %peer, "logged in");
        serve_requests(&mut conn, &shared, user, &cancel).await
    }
    .await;
    match outcome {
        Ok(()) | Err(Fatal::Closed) => tracing::debug!("connection closed"),
        Err(fatal) => {
            tracing::info!(reason = %fatal, "closing connection");
            if let Some(message) = fatal.farewell() {
                let _ = tokio::time::timeout(Duration::from_secs(5), conn.send(&message)).await;
            }
        }
    }
    conn.close().await;
}

/// Tells a client over the connection limit to come back later.
pub(crate) async fn refuse_busy(stream: TcpStream) {
    let mut conn = Connection::new(stream);
    let message = Message::error(
        None,
        ErrorCode::Busy,
        "server is at its connection limit; try again later",
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.send(&message)).await;
    conn.close().await;
}

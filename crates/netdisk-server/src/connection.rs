//! One client connection: frames in and out over any byte stream, with a
//! time limit on every read, and the task that serves it from hello to close.

use crate::login::{login, LoggedIn};
use crate::peer_stream::{send_file, PeerStream, SendFileError};
use crate::session::{serve_requests, Shared};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures_util::{FutureExt, SinkExt, StreamExt};
use netdisk_proto::handshake::Hello;
use netdisk_proto::{
    take_buffered_body, CodecError, ErrorCode, Frame, Message, NetdiskCodec, PROTOCOL_VERSION,
};
use netdisk_store::{Event, FileBody};
use rand::RngCore;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Read buffer between requests: enough for typical headers. The codec
/// grows it while a body streams; `release_buffers` shrinks it again.
const IDLE_BUFFER: usize = 8 * 1024;

/// Queued answers go out once they pass this many bytes (or when the
/// session has nothing left to answer): the answers to many pipelined
/// small downloads share one write.
const WRITE_BATCH: usize = 64 * 1024;

/// Bodies from this size on are written straight to the stream (one write
/// call more, one copy less); smaller ones are copied behind their header.
const DIRECT_BODY_MIN: usize = 64 * 1024;

/// How long a last word to a closing peer may take.
const FAREWELL_LIMIT: Duration = Duration::from_secs(5);

/// What timed out when a peer stops reading.
const SENDING: &str = "sending to the client";

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
    #[error("site key refused: {0}")]
    SiteKey(&'static str),
    #[error("login throttled for {seconds} s")]
    Throttled { id: u64, seconds: u64 },
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
            Fatal::SiteKey(reason) => Some(Message::error(
                None,
                ErrorCode::SiteKeyRefused,
                format!("this server admits only clients holding its site key: {reason}"),
            )),
            Fatal::Throttled { id, seconds } => Some(Message::error(
                Some(*id),
                ErrorCode::Throttled,
                format!("too many failed logins from your address or for this user; try again in {seconds} s"),
            )),
        }
    }
}

pub(crate) struct Connection<S> {
    framed: Framed<S, NetdiskCodec>,
    /// When the first byte of a header not yet complete was seen (the
    /// header timeout runs from it).
    header_started: Option<Instant>,
    /// How long a write may wait for a peer that does not read.
    write_limit: Duration,
}

impl<S: PeerStream> Connection<S> {
    pub(crate) fn new(stream: S, write_limit: Duration) -> Self {
        let mut framed = Framed::with_capacity(stream, NetdiskCodec::new(), IDLE_BUFFER);
        framed.set_backpressure_boundary(WRITE_BATCH);
        Connection {
            framed,
            header_started: None,
            write_limit,
        }
    }

    /// The next request of a logged-in session. It may be `idle` in coming,
    /// but once its first byte is here, the rest of the header must follow
    /// within `header` of that byte (a client trickling a header is cut,
    /// not waited on).
    pub(crate) async fn next_request(
        &mut self,
        idle: Duration,
        header: Duration,
    ) -> Result<Message, Fatal> {
        let idle_until = Instant::now() + idle;
        let deadline = |started: Option<Instant>| started.map_or(idle_until, |t| t + header);
        let timer = tokio::time::sleep_until(deadline(self.header_started));
        tokio::pin!(timer);
        // The timer moves from the idle limit to the header limit in the
        // poll that first finds bytes of a header buffered.
        let polled = std::future::poll_fn(|cx| {
            if let Poll::Ready(frame) = self.framed.poll_next_unpin(cx) {
                return Poll::Ready(Some(frame));
            }
            if self.note_header_start() {
                timer.as_mut().reset(deadline(self.header_started));
            }
            timer.as_mut().poll(cx).map(|()| None)
        })
        .await;
        match polled {
            Some(frame) => self.request_from(frame),
            None if self.header_started.is_some() => Err(Fatal::Timeout("request header")),
            None => Err(Fatal::Timeout("idle session")),
        }
    }

    /// The next request if it is already here (read, or waiting in the
    /// socket), without waiting for one. A partial header stays buffered.
    pub(crate) fn request_ready(&mut self) -> Option<Result<Message, Fatal>> {
        match self.framed.next().now_or_never() {
            Some(frame) => Some(self.request_from(frame)),
            None => {
                self.note_header_start();
                None
            }
        }
    }

    /// Starts the header clock if the first bytes of a header have just
    /// been buffered; true if it did.
    fn note_header_start(&mut self) -> bool {
        let started = self.header_started.is_none() && !self.framed.read_buffer().is_empty();
        if started {
            self.header_started = Some(Instant::now());
        }
        started
    }

    /// A decoded frame as a request. Bytes buffered behind it start the
    /// next header's clock when a wait for more first finds them.
    fn request_from(&mut self, frame: Option<Result<Frame, CodecError>>) -> Result<Message, Fatal> {
        self.header_started = None;
        match frame {
            None => Err(Fatal::Closed),
            Some(Err(e)) => Err(Fatal::Codec(e)),
            Some(Ok(Frame::Message(m))) => Ok(m),
            Some(Ok(Frame::Body(_))) => Err(Fatal::protocol(
                None,
                "body bytes where a header was expected",
            )),
        }
    }

    /// The next frame, or an error if none arrives within `limit`.
    pub(crate) async fn read(
        &mut self,
        limit: Duration,
        what: &'static str,
    ) -> Result<Frame, Fatal> {
        self.header_started = None;
        match tokio::time::timeout(limit, self.framed.next()).await {
            Err(_) => Err(Fatal::Timeout(what)),
            Ok(None) => Err(Fatal::Closed),
            Ok(Some(Err(e))) => Err(Fatal::Codec(e)),
            Ok(Some(Ok(frame))) => Ok(frame),
        }
    }

    /// Reads the rest of the body the last header announced onto the end
    /// of `dst`, from the read buffer and then straight from the stream:
    /// each byte is copied once, where body frames would be copied again
    /// into one buffer. Each read must come within `limit`.
    pub(crate) async fn read_body_into(
        &mut self,
        dst: &mut Vec<u8>,
        limit: Duration,
        what: &'static str,
    ) -> Result<(), Fatal> {
        let mut remaining = take_buffered_body(&mut self.framed, dst);
        while remaining > 0 {
            let mut stream = (&mut *self.framed.get_mut()).take(remaining);
            let read = match tokio::time::timeout(limit, stream.read_buf(dst)).await {
                Err(_) => return Err(Fatal::Timeout(what)),
                Ok(read) => read?,
            };
            if read == 0 {
                return Err(Fatal::Codec(CodecError::Truncated));
            }
            self.framed.codec_mut().body_taken(read as u64);
            remaining -= read as u64;
        }
        Ok(())
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

    // Every write is bounded: a peer that stops reading is cut after
    // `write_limit` instead of holding its task and slots forever.

    pub(crate) async fn send(&mut self, message: &Message) -> Result<(), Fatal> {
        within(self.write_limit, self.framed.send(message)).await
    }

    /// Queues a message without flushing: the session flushes once it has
    /// no request left to answer (`serve_session`), so the answers to
    /// pipelined requests share writes. Frames past the backpressure
    /// boundary go out at once.
    pub(crate) async fn feed(&mut self, message: &Message) -> Result<(), Fatal> {
        within(self.write_limit, self.framed.feed(message)).await
    }

    /// Queues body bytes after the queued frames: a small body is copied
    /// behind them (and flushed with them, as `feed`); a large one is
    /// written straight to the stream after them, without that copy.
    pub(crate) async fn feed_body(&mut self, bytes: bytes::Bytes) -> Result<(), Fatal> {
        if bytes.len() >= DIRECT_BODY_MIN {
            return self.write_body(&bytes).await;
        }
        within(self.write_limit, self.framed.feed(bytes)).await
    }

    /// Writes raw body bytes straight to the stream, after any queued header.
    pub(crate) async fn write_body(&mut self, bytes: &[u8]) -> Result<(), Fatal> {
        let write = async {
            SinkExt::<bytes::Bytes>::flush(&mut self.framed).await?;
            self.framed.get_mut().write_all(bytes).await?;
            Ok::<(), Fatal>(())
        };
        within(self.write_limit, write).await
    }

    /// True if a file's bytes can go to the peer zero-copy (plaintext).
    pub(crate) fn sends_files_zero_copy(&self) -> bool {
        self.framed.get_ref().plain_socket().is_some()
    }

    /// Sends `body` with `sendfile` after any queued header, adding the
    /// bytes sent to `sent`; a peer that takes nothing for the write limit
    /// is cut. Over a stream that cannot (TLS), nothing is sent: check
    /// [`Connection::sends_files_zero_copy`] first.
    pub(crate) async fn send_file(&mut self, body: &FileBody, sent: &mut u64) -> Result<(), Fatal> {
        within(
            self.write_limit,
            SinkExt::<bytes::Bytes>::flush(&mut self.framed),
        )
        .await?;
        let Some(socket) = self.framed.get_ref().plain_socket() else {
            return Err(Fatal::Io(std::io::Error::other(
                "zero-copy send over a stream that encrypts",
            )));
        };
        send_file(
            socket,
            &body.file,
            body.offset,
            body.len,
            self.write_limit,
            sent,
        )
        .await
        .map_err(|e| match e {
            SendFileError::Stalled => Fatal::Timeout(SENDING),
            SendFileError::Io(e) => Fatal::Io(e),
        })
    }

    pub(crate) async fn flush(&mut self) -> Result<(), Fatal> {
        let flush = async {
            SinkExt::<bytes::Bytes>::flush(&mut self.framed).await?;
            self.framed.get_mut().flush().await?;
            Ok::<(), Fatal>(())
        };
        within(self.write_limit, flush).await
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

    /// Closes our side without losing what we sent last (see `linger.rs`).
    async fn close(&mut self) {
        crate::linger::close_lingering(self.framed.get_mut()).await;
    }
}

/// `write`, cut after `limit`: a peer that stops reading does not hold
/// its task and slots forever.
async fn within<E: Into<Fatal>>(
    limit: Duration,
    write: impl Future<Output = Result<(), E>>,
) -> Result<(), Fatal> {
    tokio::time::timeout(limit, write)
        .await
        .map_err(|_| Fatal::Timeout(SENDING))?
        .map_err(Into::into)
}

fn hello(challenge: &[u8; 32], site_key: bool, idle_timeout: Duration) -> Message {
    Message::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        server: "netdisk".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        auth: vec![netdisk_proto::scram::MECHANISM.into()],
        challenge: B64.encode(challenge),
        site_key,
        idle_timeout: Some(idle_timeout.as_secs()),
    })
}

/// TLS handshakes get at most this long (less if the login timeout is shorter).
const TLS_HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// Serves one accepted TCP connection: the TLS handshake unless the server
/// is in plaintext mode, then the session.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    async {
        match &shared.tls {
            None => serve_stream(stream, peer, &shared, cancel).await,
            Some(tls) => {
                let limit = shared.config.login_timeout.min(TLS_HANDSHAKE_LIMIT);
                match tls.accept(stream, limit).await {
                    Ok(stream) => serve_stream(stream, peer, &shared, cancel).await,
                    // Scanners and plaintext clients end here; nothing to answer.
                    Err(error) => tracing::info!(%error, "TLS handshake failed"),
                }
            }
        }
    }
    .instrument(tracing::info_span!("conn", %peer))
    .await
}

/// Serves one client over an established byte stream.
async fn serve_stream<S: PeerStream>(
    stream: S,
    peer: SocketAddr,
    shared: &Shared,
    cancel: CancellationToken,
) {
    let mut conn = Connection::new(stream, shared.config.stall_timeout);
    let outcome = async {
        let mut challenge = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut challenge);
        conn.send(&hello(
            &challenge,
            shared.config.site_key.is_some(),
            shared.config.idle_timeout,
        ))
            .await?;
        let deadline = tokio::time::Instant::now() + shared.config.login_timeout;
        let user = tokio::select! {
            result = tokio::time::timeout_at(deadline, admit(&mut conn, shared, peer, &challenge)) => {
                result.map_err(|_| Fatal::Timeout("login"))??
            }
            () = cancel.cancelled() => return Err(Fatal::ShuttingDown),
        };
        tracing::info!(user = %user.name, %peer, "logged in");
        serve_requests(&mut conn, shared, user, &cancel).await
    }
    .await;
    match outcome {
        Ok(()) | Err(Fatal::Closed) => tracing::debug!("connection closed"),
        Err(fatal) => {
            tracing::info!(reason = %fatal, "closing connection");
            if let Some(message) = fatal.farewell() {
                let _ = tokio::time::timeout(FAREWELL_LIMIT, conn.send(&message)).await;
            }
        }
    }
    conn.close().await;
}

/// The site-key check, when the server has a key, then the login.
async fn admit<S: PeerStream>(
    conn: &mut Connection<S>,
    shared: &Shared,
    peer: SocketAddr,
    challenge: &[u8; 32],
) -> Result<LoggedIn, Fatal> {
    if let Some(key) = &shared.config.site_key {
        let refused = |reason: &'static str| {
            tracing::warn!(%peer, reason, "site key refused");
            shared
                .store
                .audit()
                .record(Event::SiteKeyRefused { peer, reason });
            Fatal::SiteKey(reason)
        };
        match conn
            .read_message(shared.config.login_timeout, "site key proof")
            .await
        {
            Ok(Message::SiteProof(proof)) if key.verify(challenge, &proof.mac) => {}
            Ok(Message::SiteProof(_)) => return Err(refused("wrong site key proof")),
            Ok(_) => return Err(refused("no site key proof before login")),
            Err(e) => return Err(e),
        }
    }
    login(conn, shared, peer).await
}

/// Tells a client why it is not served (connection caps, shutdown), over
/// TLS when the server speaks TLS, then closes.
pub(crate) async fn refuse(stream: TcpStream, shared: Arc<Shared>, why: &'static str) {
    let message = Message::error(None, ErrorCode::Busy, why);
    match &shared.tls {
        None => say_and_close(Connection::new(stream, FAREWELL_LIMIT), &message).await,
        Some(tls) => {
            if let Ok(stream) = tls.accept(stream, FAREWELL_LIMIT).await {
                say_and_close(Connection::new(stream, FAREWELL_LIMIT), &message).await;
            }
        }
    }
}

async fn say_and_close<S: PeerStream>(mut conn: Connection<S>, message: &Message) {
    let _ = conn.send(message).await;
    conn.close().await;
}

//! A connection to a server: handshake, login, and one method per request.

use crate::error::ClientError;
use crate::stream::NetStream;
use crate::tls::{self, ServerTrust, Transport};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use netdisk_proto::handshake::{Hello, Login, LoginProof, SiteProof};
use netdisk_proto::request::{
    Cd, Df, Ls, Mkdir, Mv, PartialRm, Partials, Pwd, Rm, Rmdir, ShareAdd, ShareRm, Shares, Stat,
    TokenAdd, TokenRm, Tokens, Trash, TrashPurge, TrashRestore, VersionRestore, Versions,
    VersionsPurge,
};
use netdisk_proto::response::{
    Info, Listing, PartialUpload, Purged, ShareList, ShareMade, TokenInfo, TokenMade, TrashItem,
    Usage, VersionList,
};
use netdisk_proto::scram::{ClientFirst, ClientKeys, MECHANISM};
use netdisk_proto::{
    take_buffered_body, CodecError, Fingerprint, Frame, Message, NetdiskCodec, SiteKey,
    PROTOCOL_VERSION,
};
use rand::RngCore;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// How long to wait for any single frame from the server by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Bodies from this size on are written straight to the stream (one write
/// call more, one copy less); smaller ones are copied behind their header.
const DIRECT_BODY_MIN: usize = 64 * 1024;
/// How long `close` waits for the server to end the connection too.
const CLOSE_LIMIT: Duration = Duration::from_secs(2);

/// What a client logs in with (no Debug: it holds a secret).
#[derive(Clone, Copy)]
pub enum Credential<'a> {
    Password(&'a str),
    /// Keys saved from an earlier login (see `ClientKeys`).
    Keys(&'a ClientKeys),
}

pub struct Client<S> {
    framed: Framed<S, NetdiskCodec>,
    hello: Hello,
    next_id: u64,
    timeout: Duration,
    user: Option<String>,
    server_fingerprint: Option<Fingerprint>,
    /// Transfers carry permission bits (`put -p`, `get -p`).
    pub(crate) preserve_mode: bool,
}

impl Client<NetStream> {
    /// Connects to "host:port", sets up TLS (unless `transport` is
    /// plaintext) and reads the server's hello, all within 120 s.
    ///
    /// With [`ServerTrust::FirstUse`] the caller must check
    /// [`Client::server_fingerprint`] before it logs in.
    pub async fn connect(addr: &str, transport: &Transport) -> Result<Self, ClientError> {
        Client::connect_within(addr, transport, DEFAULT_TIMEOUT).await
    }

    /// [`Client::connect`] with its own time limit for the TCP connect,
    /// the TLS handshake and the server's hello together, so that a server
    /// that accepts but never speaks cannot hold the caller for long.
    pub async fn connect_within(
        addr: &str,
        transport: &Transport,
        limit: Duration,
    ) -> Result<Self, ClientError> {
        let deadline = tokio::time::Instant::now() + limit;
        let late = |stage: &'static str| ClientError::ConnectTimeout {
            addr: addr.to_owned(),
            stage,
            limit,
        };
        let connect_error = |error| ClientError::Connect {
            addr: addr.to_owned(),
            error,
        };
        let tcp = tokio::time::timeout_at(deadline, TcpStream::connect(addr))
            .await
            .map_err(|_| late("TCP connection"))?
            .map_err(connect_error)?;
        // Requests are small frames; they must not wait for Nagle.
        tcp.set_nodelay(true)?;
        let trust = match transport {
            Transport::Plaintext => {
                let hello =
                    tokio::time::timeout_at(deadline, Client::handshake(NetStream::Plain(tcp)))
                        .await
                        .map_err(|_| late("hello from the server"))?;
                return hello.map_err(|e| match e {
                        // A TLS server waits for a TLS hello, then gives up.
                        ClientError::Closed | ClientError::Timeout(_) => ClientError::Protocol(
                            "the server closed the connection without a hello: it probably requires TLS (leave out --plaintext)".into(),
                        ),
                        other => other,
                    });
            }
            Transport::Tls(trust) => trust,
        };
        let config = tls::client_config(trust).map_err(|e| ClientError::Tls(e.to_string()))?;
        let name = ServerName::try_from(tls::host_of(addr).to_owned())
            .map_err(|_| ClientError::Tls(format!("{addr}: not a valid host name for TLS")))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let stream = tokio::time::timeout_at(
            deadline,
            connector.connect(name, netdisk_fileio::ReadAhead::new(tcp)),
        )
        .await
        .map_err(|_| late("TLS handshake"))?
        .map_err(|e| ClientError::Tls(tls_failure(&e)))?;
        let fingerprint = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|leaf| Fingerprint::of_certificate(leaf))
            .ok_or_else(|| ClientError::Tls("the server presented no certificate".into()))?;
        if let ServerTrust::Fingerprint(expected) = trust {
            if *expected != fingerprint {
                return Err(ClientError::FingerprintMismatch {
                    expected: *expected,
                    actual: fingerprint,
                });
            }
        }
        let mut client = tokio::time::timeout_at(
            deadline,
            Client::handshake(NetStream::Tls(Box::new(stream))),
        )
        .await
        .map_err(|_| late("hello from the server"))??;
        client.server_fingerprint = Some(fingerprint);
        Ok(client)
    }
}

/// Words for a failed TLS handshake, with the likely cause.
fn tls_failure(error: &std::io::Error) -> String {
    let text = error.to_string();
    // A plaintext server's first bytes are a netdisk frame, not a TLS record.
    if text.contains("corrupt message") || text.contains("InvalidContentType") {
        format!("{text}: the server does not speak TLS (if it runs with --plaintext, use --plaintext too)")
    } else {
        text
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Reads the server's hello from an established stream.
    pub async fn handshake(stream: S) -> Result<Self, ClientError> {
        let mut framed = Framed::new(stream, NetdiskCodec::new());
        let hello = match read_frame(&mut framed, DEFAULT_TIMEOUT).await? {
            Frame::Message(Message::Hello(hello)) => hello,
            Frame::Message(Message::Error(e)) => {
                return Err(ClientError::Remote {
                    code: e.code,
                    message: e.message,
                })
            }
            other => {
                return Err(ClientError::Protocol(format!(
                    "expected hello, got {}",
                    describe(&other)
                )))
            }
        };
        if hello.protocol != PROTOCOL_VERSION {
            return Err(ClientError::UnsupportedVersion(hello.protocol));
        }
        if !hello.auth.iter().any(|m| m == MECHANISM) {
            return Err(ClientError::Protocol(format!(
                "server offers no login mechanism this client knows ({:?})",
                hello.auth
            )));
        }
        Ok(Client {
            framed,
            hello,
            next_id: 0,
            timeout: DEFAULT_TIMEOUT,
            user: None,
            server_fingerprint: None,
            preserve_mode: false,
        })
    }

    /// The fingerprint of the server's TLS certificate (`None` in plaintext).
    pub fn server_fingerprint(&self) -> Option<Fingerprint> {
        self.server_fingerprint
    }

    /// True when the server admits only clients holding its site key.
    pub fn requires_site_key(&self) -> bool {
        self.hello.site_key
    }

    /// Proves this client holds the site key; must come before `login`
    /// when [`Client::requires_site_key`]. A wrong key surfaces as a
    /// `site_key_refused` error on the next request (the login).
    pub async fn prove_site_key(&mut self, key: &SiteKey) -> Result<(), ClientError> {
        let mac = key
            .prove(&self.hello.challenge)
            .ok_or_else(|| ClientError::Protocol("the server's challenge is not base64".into()))?;
        self.send(&Message::SiteProof(SiteProof { mac })).await
    }

    /// What the server said about itself when the connection opened.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// How long the server lets a logged-in session sit between requests,
    /// when its hello says.
    pub fn server_idle_timeout(&self) -> Option<Duration> {
        self.hello.idle_timeout.map(Duration::from_secs)
    }

    /// The user this client logged in as, once logged in.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Ends the connection in good order, when a caller is done with it:
    /// sends what is still queued, then closes our side (over TLS with a
    /// close_notify, so the server sees an orderly end and not a cut
    /// connection), and waits for the server to close its side too, since
    /// a socket closed with input unread is reset, and a reset can destroy
    /// what the server has not read yet. Bounded by `CLOSE_LIMIT`.
    pub async fn close(mut self) -> Result<(), ClientError> {
        let orderly_end = async {
            SinkExt::<bytes::Bytes>::close(&mut self.framed).await?;
            let stream = self.framed.get_mut();
            let mut unread = [0u8; 4096];
            while stream.read(&mut unread).await? != 0 {}
            Ok(())
        };
        tokio::time::timeout(CLOSE_LIMIT, orderly_end)
            .await
            .map_err(|_| ClientError::Timeout(CLOSE_LIMIT.as_secs()))?
    }

    /// Whether this session's transfers keep permission bits, as `cp -p`
    /// does: an upload asks the server to give the file the local file's
    /// mode, a download gives the local file the server's. Modification
    /// times are always kept.
    pub fn set_preserve_mode(&mut self, preserve: bool) {
        self.preserve_mode = preserve;
    }

    /// Sets how long to wait for any single frame from the server.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Logs in with SCRAM-SHA-256 and checks the server's own proof.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        self.login_with(user, Credential::Password(password))
            .await
            .map(drop)
    }

    /// Logs in with a password or keys saved from an earlier login; returns
    /// the keys (to save, or to open more sessions without the PBKDF2 cost).
    pub async fn login_with(
        &mut self,
        user: &str,
        credential: Credential<'_>,
    ) -> Result<ClientKeys, ClientError> {
        let id = self.next_id();
        let mut nonce = [0u8; 18];
        rand::thread_rng().fill_bytes(&mut nonce);
        let nonce = B64.encode(nonce);
        let (first, data) = match credential {
            Credential::Password(password) => ClientFirst::new(user, password, &nonce)?,
            Credential::Keys(keys) => ClientFirst::with_keys(user, keys.clone(), &nonce)?,
        };
        self.send(&Message::Login(Login {
            id,
            protocol: PROTOCOL_VERSION,
            mechanism: MECHANISM.into(),
            data,
        }))
        .await?;
        let challenge = match self.response(id).await? {
            Message::LoginChallenge(c) => c,
            other => return Err(unexpected("login_challenge", &other)),
        };
        let (last, data) = first.handle_server_first(&challenge.data)?;
        self.send(&Message::LoginProof(LoginProof { id, data }))
            .await?;
        match self.response(id).await? {
            Message::LoginOk(ok) => {
                let keys = last.verify_server_final(&ok.data)?;
                self.user = Some(ok.user);
                Ok(keys)
            }
            other => Err(unexpected("login_ok", &other)),
        }
    }

    pub(crate) async fn send(&mut self, message: &Message) -> Result<(), ClientError> {
        self.framed.send(message).await?;
        Ok(())
    }

    /// Queues a frame without flushing (the codec writes out when its buffer fills).
    pub(crate) async fn feed(&mut self, message: &Message) -> Result<(), ClientError> {
        self.framed.feed(message).await?;
        Ok(())
    }

    /// Queues body bytes after the queued frames: a small body is copied
    /// behind them, so many go out in one write; a large one is written
    /// straight to the stream after them, without that copy.
    pub(crate) async fn send_body(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        if bytes.len() < DIRECT_BODY_MIN {
            self.framed.write_buffer_mut().extend_from_slice(bytes);
            Ok(())
        } else {
            self.write_body(bytes).await
        }
    }

    pub(crate) async fn flush(&mut self) -> Result<(), ClientError> {
        SinkExt::<bytes::Bytes>::flush(&mut self.framed).await?;
        Ok(())
    }

    /// Writes raw body bytes straight to the stream, after any queued frame.
    pub(crate) async fn write_body(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        SinkExt::<bytes::Bytes>::flush(&mut self.framed).await?;
        self.framed.get_mut().write_all(bytes).await?;
        Ok(())
    }

    /// Reads the rest of the body the last header announced onto the end
    /// of `dst`, from the read buffer and then straight from the stream:
    /// each byte is copied once, where body frames would be copied again
    /// into one buffer. Each read must come within the client's timeout.
    pub(crate) async fn read_body_into(&mut self, dst: &mut Vec<u8>) -> Result<(), ClientError> {
        let mut remaining = take_buffered_body(&mut self.framed, dst);
        while remaining > 0 {
            let mut stream = (&mut *self.framed.get_mut()).take(remaining);
            let read = tokio::time::timeout(self.timeout, stream.read_buf(dst))
                .await
                .map_err(|_| ClientError::Timeout(self.timeout.as_secs()))??;
            if read == 0 {
                return Err(ClientError::Codec(CodecError::Truncated));
            }
            self.framed.codec_mut().body_taken(read as u64);
            remaining -= read as u64;
        }
        Ok(())
    }

    pub(crate) async fn read(&mut self) -> Result<Frame, ClientError> {
        read_frame(&mut self.framed, self.timeout).await
    }

    /// The next message, which must answer request `id`; an `error` frame
    /// becomes `ClientError::Remote`.
    pub(crate) async fn response(&mut self, id: u64) -> Result<Message, ClientError> {
        match self.read().await? {
            Frame::Message(Message::Error(e)) => {
                if e.id.is_some_and(|got| got != id) {
                    return Err(ClientError::Protocol(format!(
                        "error for request {:?}, expected {id}",
                        e.id
                    )));
                }
                Err(ClientError::Remote {
                    code: e.code,
                    message: e.message,
                })
            }
            Frame::Message(m) if m.id() == Some(id) => Ok(m),
            other => Err(ClientError::Protocol(format!(
                "expected the answer to request {id}, got {}",
                describe(&other)
            ))),
        }
    }

    async fn request(&mut self, message: Message) -> Result<Message, ClientError> {
        let id = message
            .id()
            .ok_or_else(|| ClientError::Protocol("request without id".into()))?;
        self.send(&message).await?;
        self.response(id).await
    }

    /// The session's current directory ("~" or "~/a/b").
    pub async fn pwd(&mut self) -> Result<String, ClientError> {
        let id = self.next_id();
        match self.request(Message::Pwd(Pwd { id })).await? {
            Message::Cwd(cwd) => Ok(cwd.path),
            other => Err(unexpected("cwd", &other)),
        }
    }

    /// Changes the session's directory; returns the new one.
    pub async fn cd(&mut self, path: &str) -> Result<String, ClientError> {
        let id = self.next_id();
        match self
            .request(Message::Cd(Cd {
                id,
                path: path.into(),
            }))
            .await?
        {
            Message::Cwd(cwd) => Ok(cwd.path),
            other => Err(unexpected("cwd", &other)),
        }
    }

    /// Lists a directory (the current one for `None`), sorted by name,
    /// gathering all the `listing` frames of a large directory.
    pub async fn ls(&mut self, path: Option<&str>) -> Result<Listing, ClientError> {
        let id = self.next_id();
        let path = path.map(str::to_owned);
        let mut listing = match self.request(Message::Ls(Ls { id, path })).await? {
            Message::Listing(listing) => listing,
            other => return Err(unexpected("listing", &other)),
        };
        while listing.more {
            match self.response(id).await? {
                Message::Listing(page) => {
                    listing.entries.extend(page.entries);
                    listing.more = page.more;
                }
                other => return Err(unexpected("listing", &other)),
            }
        }
        Ok(listing)
    }

    pub async fn stat(&mut self, path: &str) -> Result<Info, ClientError> {
        self.stat_request(path, false).await
    }

    /// `stat`, with a file's BLAKE3 in `Info::blake3` (the server reads
    /// the whole file for it).
    pub async fn stat_with_hash(&mut self, path: &str) -> Result<Info, ClientError> {
        self.stat_request(path, true).await
    }

    async fn stat_request(&mut self, path: &str, blake3: bool) -> Result<Info, ClientError> {
        let id = self.next_id();
        match self
            .request(Message::Stat(Stat {
                id,
                path: path.into(),
                blake3,
            }))
            .await?
        {
            Message::Info(info) => Ok(info),
            other => Err(unexpected("info", &other)),
        }
    }

    pub async fn mkdir(&mut self, path: &str, parents: bool) -> Result<(), ClientError> {
        let id = self.next_id();
        let request = Message::Mkdir(Mkdir {
            id,
            path: path.into(),
            parents,
        });
        self.expect_done(request).await
    }

    /// Removes a file or symlink (not a directory).
    pub async fn rm(&mut self, path: &str) -> Result<(), ClientError> {
        let id = self.next_id();
        self.expect_done(Message::Rm(Rm {
            id,
            path: path.into(),
            recursive: false,
        }))
        .await
    }

    /// Removes a file, or a directory and everything in it.
    pub async fn rm_tree(&mut self, path: &str) -> Result<(), ClientError> {
        let id = self.next_id();
        self.expect_done(Message::Rm(Rm {
            id,
            path: path.into(),
            recursive: true,
        }))
        .await
    }

    pub async fn rmdir(&mut self, path: &str) -> Result<(), ClientError> {
        let id = self.next_id();
        self.expect_done(Message::Rmdir(Rmdir {
            id,
            path: path.into(),
        }))
        .await
    }

    pub async fn mv(&mut self, from: &str, to: &str) -> Result<(), ClientError> {
        let id = self.next_id();
        let request = Message::Mv(Mv {
            id,
            from: from.into(),
            to: to.into(),
        });
        self.expect_done(request).await
    }

    pub async fn df(&mut self) -> Result<Usage, ClientError> {
        let id = self.next_id();
        match self.request(Message::Df(Df { id })).await? {
            Message::Usage(usage) => Ok(usage),
            other => Err(unexpected("usage", &other)),
        }
    }

    /// The kept partial uploads of this user (interrupted resumable puts).
    pub async fn partials(&mut self) -> Result<Vec<PartialUpload>, ClientError> {
        let id = self.next_id();
        match self.request(Message::Partials(Partials { id })).await? {
            Message::PartialList(list) => Ok(list.partials),
            other => Err(unexpected("partial_list", &other)),
        }
    }

    /// Discards the kept partial upload to `path`, freeing its bytes.
    pub async fn partial_rm(&mut self, path: &str) -> Result<(), ClientError> {
        let id = self.next_id();
        let request = Message::PartialRm(PartialRm {
            id,
            path: path.into(),
        });
        self.expect_done(request).await
    }

    /// The trash, oldest first.
    pub async fn trash(&mut self) -> Result<Vec<TrashItem>, ClientError> {
        let id = self.next_id();
        match self.request(Message::Trash(Trash { id })).await? {
            Message::TrashList(list) => Ok(list.items),
            other => Err(unexpected("trash_list", &other)),
        }
    }

    /// Puts a trash item back (`request.id` is set here); answers where it is.
    pub async fn trash_restore(
        &mut self,
        mut request: TrashRestore,
    ) -> Result<String, ClientError> {
        request.id = self.next_id();
        match self.request(Message::TrashRestore(request)).await? {
            Message::Restored(restored) => Ok(restored.path),
            other => Err(unexpected("restored", &other)),
        }
    }

    /// Deletes trash items for good (`request.id` is set here).
    pub async fn trash_purge(&mut self, mut request: TrashPurge) -> Result<Purged, ClientError> {
        request.id = self.next_id();
        match self.request(Message::TrashPurge(request)).await? {
            Message::Purged(purged) => Ok(purged),
            other => Err(unexpected("purged", &other)),
        }
    }

    /// A file's old versions, newest first.
    pub async fn versions(&mut self, path: &str) -> Result<VersionList, ClientError> {
        let id = self.next_id();
        let request = Message::Versions(Versions {
            id,
            path: path.into(),
        });
        match self.request(request).await? {
            Message::VersionList(list) => Ok(list),
            other => Err(unexpected("version_list", &other)),
        }
    }

    /// Makes old version `version` of `path` the file again.
    pub async fn version_restore(
        &mut self,
        path: &str,
        version: &str,
    ) -> Result<String, ClientError> {
        let id = self.next_id();
        let request = Message::VersionRestore(VersionRestore {
            id,
            path: path.into(),
            version: version.into(),
        });
        match self.request(request).await? {
            Message::Restored(restored) => Ok(restored.path),
            other => Err(unexpected("restored", &other)),
        }
    }

    /// Deletes one old version of `path`, or all of them, for good.
    pub async fn versions_purge(
        &mut self,
        path: &str,
        version: Option<&str>,
    ) -> Result<Purged, ClientError> {
        let id = self.next_id();
        let request = Message::VersionsPurge(VersionsPurge {
            id,
            path: path.into(),
            version: version.map(str::to_owned),
        });
        match self.request(request).await? {
            Message::Purged(purged) => Ok(purged),
            other => Err(unexpected("purged", &other)),
        }
    }

    /// A new share link (`request.id` is set here).
    pub async fn share_add(&mut self, mut request: ShareAdd) -> Result<ShareMade, ClientError> {
        request.id = self.next_id();
        match self.request(Message::ShareAdd(request)).await? {
            Message::ShareMade(made) => Ok(made),
            other => Err(unexpected("share", &other)),
        }
    }

    /// This user's share links, newest first.
    pub async fn shares(&mut self) -> Result<ShareList, ClientError> {
        let id = self.next_id();
        match self.request(Message::Shares(Shares { id })).await? {
            Message::ShareList(list) => Ok(list),
            other => Err(unexpected("share_list", &other)),
        }
    }

    /// Revokes share link `share`.
    pub async fn share_rm(&mut self, share: i64) -> Result<(), ClientError> {
        let id = self.next_id();
        self.expect_done(Message::ShareRm(ShareRm { id, share }))
            .await
    }

    /// A personal API token for the HTTP API, named `name`.
    pub async fn token_add(
        &mut self,
        name: &str,
        expires_in: Option<u64>,
    ) -> Result<TokenMade, ClientError> {
        let id = self.next_id();
        let request = Message::TokenAdd(TokenAdd {
            id,
            name: name.into(),
            expires_in,
        });
        match self.request(request).await? {
            Message::TokenMade(made) => Ok(made),
            other => Err(unexpected("token", &other)),
        }
    }

    /// This user's API tokens (never their secrets).
    pub async fn tokens(&mut self) -> Result<Vec<TokenInfo>, ClientError> {
        let id = self.next_id();
        match self.request(Message::Tokens(Tokens { id })).await? {
            Message::TokenList(list) => Ok(list.tokens),
            other => Err(unexpected("token_list", &other)),
        }
    }

    /// Revokes API token `token`.
    pub async fn token_rm(&mut self, token: i64) -> Result<(), ClientError> {
        let id = self.next_id();
        self.expect_done(Message::TokenRm(TokenRm { id, token }))
            .await
    }

    async fn expect_done(&mut self, request: Message) -> Result<(), ClientError> {
        match self.request(request).await? {
            Message::Done(_) => Ok(()),
            other => Err(unexpected("ok", &other)),
        }
    }
}

async fn read_frame<S: AsyncRead + AsyncWrite + Unpin>(
    framed: &mut Framed<S, NetdiskCodec>,
    timeout: Duration,
) -> Result<Frame, ClientError> {
    match tokio::time::timeout(timeout, framed.next()).await {
        Err(_) => Err(ClientError::Timeout(timeout.as_secs())),
        Ok(None) => Err(ClientError::Closed),
        Ok(Some(Err(e))) => Err(ClientError::Codec(e)),
        Ok(Some(Ok(frame))) => Ok(frame),
    }
}

fn describe(frame: &Frame) -> String {
    match frame {
        Frame::Message(m) => format!("a {} message", m.type_name()),
        Frame::Body(b) => format!("{} body bytes", b.len()),
    }
}

pub(crate) fn unexpected(wanted: &str, got: &Message) -> ClientError {
    ClientError::Protocol(format!("expected {wanted}, got {}", got.type_name()))
}

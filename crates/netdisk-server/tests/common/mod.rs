//! Test harness: a real server on 127.0.0.1:0 over a temporary data
//! directory, and a raw-frame client that speaks the protocol by hand.
#![allow(dead_code)] // each test binary uses a different part of the harness

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use netdisk_proto::handshake::{Login, LoginProof};
use netdisk_proto::request::{Put, PutData, PutEnd};
use netdisk_proto::scram::{ClientFirst, MIN_ITERATIONS};
use netdisk_proto::{Frame, Message, NetdiskCodec, PROTOCOL_VERSION};
use netdisk_server::{Server, ServerConfig, Transport};
use netdisk_store::DataDir;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::codec::Framed;

/// Every wait in the tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(30);

pub struct TestServer {
    pub addr: SocketAddr,
    /// The TLS certificate's, when a test asked for TLS.
    pub fingerprint: Option<netdisk_proto::Fingerprint>,
    pub root: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server; `adjust` may change the config (limits, timeouts).
    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("data");
        // Raw frames are written by hand here: plaintext unless a test asks for TLS.
        let mut config = ServerConfig {
            root: root.clone(),
            listen: "127.0.0.1:0".into(),
            transport: Transport::Plaintext,
            ..ServerConfig::default()
        };
        adjust(&mut config);
        let server = Server::bind(config).await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let fingerprint = server.fingerprint();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .expect("server run");
        });
        TestServer {
            addr,
            fingerprint,
            root,
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Adds a user (cheap iteration count: tests log in many times).
    pub fn add_user(&self, name: &str, password: &str) {
        let data = DataDir::open(&self.root).expect("data dir");
        data.users()
            .expect("users")
            .with_iterations(MIN_ITERATIONS)
            .add(name, password, None)
            .expect("add user");
        data.create_home(name).expect("home");
    }

    pub fn home(&self, user: &str) -> PathBuf {
        self.root.join("homes").join(user)
    }

    /// The audit log's lines, parsed.
    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.root.join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("audit line is JSON"))
            .collect()
    }

    pub fn staging(&self, user: &str) -> PathBuf {
        self.root.join("staging").join(user)
    }

    /// Signals shutdown and waits (bounded) for the server to return.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(LIMIT, task)
                .await
                .expect("server stopped in time")
                .expect("server task");
        }
    }

    /// Signals shutdown and returns the task, for tests of the grace period.
    pub fn begin_shutdown(&mut self) -> JoinHandle<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take().expect("running")
    }
}

/// A client that sends and receives raw frames.
pub struct RawClient {
    pub framed: Framed<TcpStream, NetdiskCodec>,
    next_id: u64,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> RawClient {
        let stream = tokio::time::timeout(LIMIT, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        RawClient {
            framed: Framed::new(stream, NetdiskCodec::new()),
            next_id: 1,
        }
    }

    /// Connects from a chosen loopback source address (127.0.0.0/8).
    pub async fn connect_from(addr: SocketAddr, source: std::net::IpAddr) -> RawClient {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(source, 0))
            .expect("bind source");
        let stream = tokio::time::timeout(LIMIT, socket.connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        RawClient {
            framed: Framed::new(stream, NetdiskCodec::new()),
            next_id: 1,
        }
    }

    /// Connects and reads the server's hello.
    pub async fn connect_hello(addr: SocketAddr) -> (RawClient, Message) {
        let mut client = RawClient::connect(addr).await;
        let hello = client.recv().await;
        (client, hello)
    }

    /// Connects and logs in; panics if login fails.
    pub async fn login(addr: SocketAddr, user: &str, password: &str) -> RawClient {
        let (mut client, hello) = RawClient::connect_hello(addr).await;
        assert!(matches!(hello, Message::Hello(_)), "got {hello:?}");
        match client.try_login(user, password).await {
            Message::LoginOk(_) => client,
            other => panic!("login failed: {other:?}"),
        }
    }

    /// Runs the SCRAM exchange; returns login_ok (after checking the
    /// server's proof) or the server's error.
    pub async fn try_login(&mut self, user: &str, password: &str) -> Message {
        let id = self.id();
        let nonce = B64.encode(rand_bytes());
        let (first, data) = ClientFirst::new(user, password, &nonce).expect("client first");
        self.send(Message::Login(Login {
            id,
            protocol: PROTOCOL_VERSION,
            mechanism: "SCRAM-SHA-256".into(),
            data,
        }))
        .await;
        let challenge = match self.recv().await {
            Message::LoginChallenge(c) => c,
            other => return other,
        };
        let (last, data) = first
            .handle_server_first(&challenge.data)
            .expect("server first");
        self.send(Message::LoginProof(LoginProof { id, data }))
            .await;
        let reply = self.recv().await;
        if let Message::LoginOk(ok) = &reply {
            last.verify_server_final(&ok.data).expect("server proof");
        }
        reply
    }

    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub async fn send(&mut self, message: Message) {
        tokio::time::timeout(LIMIT, self.framed.send(message))
            .await
            .expect("send in time")
            .expect("send");
    }

    /// Starts an upload of `size` bytes to `path`: `put`, which must be
    /// answered `put_ready`, then the `put_data` header. Returns the id;
    /// the body goes with `send_raw`, then `end_upload`.
    pub async fn start_upload(&mut self, path: &str, size: u64) -> u64 {
        let id = self.id();
        self.send(Message::Put(Put {
            id,
            path: path.into(),
            size,
            ..Default::default()
        }))
        .await;
        let ready = self.recv().await;
        assert!(
            matches!(ready, Message::PutReady(_)),
            "expected put_ready, got {ready:?}"
        );
        self.send(Message::PutData(PutData {
            id,
            size,
            ..Default::default()
        }))
        .await;
        id
    }

    /// Ends an upload with `put_end` and returns the server's answer.
    pub async fn end_upload(&mut self, id: u64, blake3: String) -> Message {
        self.send(Message::PutEnd(PutEnd { id, blake3 })).await;
        self.recv().await
    }

    /// Writes raw bytes (anything at all) to the socket.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let stream = self.framed.get_mut();
        tokio::time::timeout(LIMIT, stream.write_all(bytes))
            .await
            .expect("write in time")
            .expect("write");
    }

    /// The next frame, `None` when the server closed the connection.
    pub async fn next_frame(&mut self) -> Option<Frame> {
        match tokio::time::timeout(LIMIT, self.framed.next())
            .await
            .expect("frame in time")
        {
            Some(Ok(frame)) => Some(frame),
            Some(Err(_)) | None => None,
        }
    }

    /// The next header; panics on body bytes or a closed connection.
    pub async fn recv(&mut self) -> Message {
        match self.next_frame().await {
            Some(Frame::Message(m)) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Asserts the server closes the connection (after any final frames).
    pub async fn expect_closed(&mut self) {
        for _ in 0..8 {
            if self.next_frame().await.is_none() {
                return;
            }
        }
        panic!("server kept the connection open");
    }
}

pub fn rand_bytes() -> [u8; 18] {
    use rand::RngCore;
    let mut out = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut out);
    out
}

/// Every file (not directory) under `dir`, as relative paths, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(items) = std::fs::read_dir(&d) else {
            continue;
        };
        for item in items.flatten() {
            let path = item.path();
            if item.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                pending.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

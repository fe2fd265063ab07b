//! End-to-end harness: a real server on 127.0.0.1:0 (on its own runtime
//! thread, so tests may be sync or async) and a bounded runner for the
//! built `netdisk` binary.
#![allow(dead_code)] // each test binary uses a different part of the harness

use netdisk_client::{ServerTrust, Transport};
use netdisk_proto::scram::MIN_ITERATIONS;
use netdisk_proto::Fingerprint;
use netdisk_server::{Server, ServerConfig};
use netdisk_store::DataDir;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Every wait in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(120);

pub struct TestServer {
    pub addr: SocketAddr,
    /// `None` when the test asked for plaintext.
    pub fingerprint: Option<Fingerprint>,
    pub root: PathBuf,
    pub dir: tempfile::TempDir,
    /// What it runs with, to start it again (`restart`).
    config: ServerConfig,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A server running on its own runtime thread.
struct Running {
    addr: SocketAddr,
    fingerprint: Option<Fingerprint>,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn spawn_server(config: ServerConfig) -> Running {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let server = Server::bind(config).await.expect("bind");
            addr_tx
                .send((server.local_addr().expect("addr"), server.fingerprint()))
                .expect("send addr");
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .expect("server run");
        });
    });
    let (addr, fingerprint) = addr_rx.recv_timeout(LIMIT).expect("server started");
    Running {
        addr,
        fingerprint,
        stop,
        thread,
    }
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(|_| {})
    }

    /// Starts a server; `adjust` may change the config.
    pub fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("data");
        let mut config = ServerConfig {
            root: root.clone(),
            listen: "127.0.0.1:0".into(),
            ..ServerConfig::default()
        };
        adjust(&mut config);
        let running = spawn_server(config.clone());
        TestServer {
            addr: running.addr,
            fingerprint: running.fingerprint,
            root,
            dir,
            config,
            stop: Some(running.stop),
            thread: Some(running.thread),
        }
    }

    /// Stops the server (its sessions end); its data stays.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Starts the server again (stopping it first if it runs): same data,
    /// address and certificate.
    pub fn restart(&mut self) {
        self.stop();
        let mut config = self.config.clone();
        config.listen = self.addr.to_string();
        let running = spawn_server(config);
        assert_eq!(running.addr, self.addr);
        assert_eq!(running.fingerprint, self.fingerprint);
        self.stop = Some(running.stop);
        self.thread = Some(running.thread);
    }

    /// How a library client reaches this server: TLS pinned to its
    /// certificate, or plaintext if the test asked for that.
    pub fn transport(&self) -> Transport {
        transport_for(self.fingerprint)
    }

    /// Adds a user with a cheap iteration count (tests log in many times).
    pub fn add_user(&self, name: &str, password: &str) {
        add_user(&self.root, name, password, None);
    }

    pub fn set_quota(&self, name: &str, quota: Option<u64>) {
        let data = DataDir::open(&self.root).expect("data dir");
        data.users()
            .expect("users")
            .set_quota(name, quota)
            .expect("quota");
    }

    pub fn home(&self, user: &str) -> PathBuf {
        self.root.join("homes").join(user)
    }

    /// A scratch directory for local files.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).expect("scratch dir");
        path
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn netdisk_bin() -> &'static str {
    env!("CARGO_BIN_EXE_netdisk")
}

/// A `netdisk` command with a clean environment for the client settings.
pub fn netdisk() -> Command {
    let mut cmd = Command::new(netdisk_bin());
    for var in [
        "NETDISK_SERVER",
        "NETDISK_USER",
        "NETDISK_PASSWORD",
        "NETDISK_FINGERPRINT",
        "NETDISK_SITE_KEY_FILE",
        "NETDISK_CONNECT_TIMEOUT",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A `netdisk` client command logged in as `user` on `server`.
pub fn netdisk_as(server: &TestServer, user: &str, password: &str) -> Command {
    let mut cmd = netdisk();
    cmd.env("NETDISK_SERVER", server.addr.to_string())
        .env("NETDISK_USER", user)
        .env("NETDISK_PASSWORD", password);
    match server.fingerprint {
        Some(fingerprint) => cmd.env("NETDISK_FINGERPRINT", fingerprint.to_string()),
        None => cmd.arg("--plaintext"),
    };
    cmd
}

pub fn transport_for(fingerprint: Option<Fingerprint>) -> Transport {
    match fingerprint {
        Some(fingerprint) => Transport::Tls(ServerTrust::Fingerprint(fingerprint)),
        None => Transport::Plaintext,
    }
}

pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(&self) -> &Self {
        assert!(
            self.status.success(),
            "command failed ({}):\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs a command to completion with `stdin` as input, killing it after LIMIT.
pub fn run(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn netdisk");
    let mut input = child.stdin.take().expect("stdin");
    let bytes = stdin.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let stdout = reader(child.stdout.take().expect("stdout"));
    let stderr = reader(child.stderr.take().expect("stderr"));
    let status = wait_bounded(&mut child);
    let _ = writer.join();
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Runs a command whose stdout is a pipe nobody reads any more, as in
/// `netdisk ls | head -1` once head has gone: every write to it fails
/// (EPIPE). Stdin is empty; stderr is captured.
pub fn run_with_stdout_closed(cmd: &mut Command) -> Output {
    // `true` holds the pipe's only read end; once it has exited, the read
    // end is closed before the command even starts.
    let mut gone_reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn true");
    let write_end = gone_reader.stdin.take().expect("pipe");
    wait_bounded(&mut gone_reader);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn netdisk");
    let stderr = reader(child.stderr.take().expect("stderr"));
    let status = wait_bounded(&mut child);
    Output {
        status,
        stdout: String::new(),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Waits for a child, killing it (and failing) after LIMIT.
pub fn wait_bounded(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("netdisk did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Deterministic test content of `len` bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

pub fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write local file");
}

/// Adds a user to the data directory at `root`.
pub fn add_user(root: &Path, name: &str, password: &str, quota: Option<u64>) {
    let data = DataDir::open(root).expect("data dir");
    data.users()
        .expect("users")
        .with_iterations(MIN_ITERATIONS)
        .add(name, password, quota)
        .expect("add user");
    data.create_home(name).expect("home");
}

/// The first two lines a `netdisk serve` child printed (its addresses),
/// waiting at most LIMIT.
pub fn first_lines(child: &mut Child) -> [String; 2] {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = std::io::BufReader::new(stdout);
        let mut lines = [String::new(), String::new()];
        for line in &mut lines {
            let _ = std::io::BufRead::read_line(&mut stdout, line);
        }
        let _ = tx.send(lines);
    });
    rx.recv_timeout(LIMIT).expect("server printed its address")
}

/// Spawns `netdisk GLOBAL serve --listen 127.0.0.1:0 --root ROOT ARGS`
/// with `env`; returns it, the native address it printed first, and its
/// second line.
fn spawn_serve(
    global: &[&str],
    root: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, String, String) {
    let mut child = netdisk()
        .args(global)
        .args(["serve", "--listen", "127.0.0.1:0", "--root"])
        .arg(root)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let [first, second] = first_lines(&mut child);
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    (child, addr, second)
}

/// A `netdisk serve` process, for tests that kill the server.
pub struct ServerProcess {
    pub child: Child,
    pub addr: String,
    pub fingerprint: Fingerprint,
}

impl ServerProcess {
    pub fn start(root: &Path) -> ServerProcess {
        Self::start_with_args(root, &[])
    }

    /// Starts `netdisk serve` with more flags (`--grace 2`, say).
    pub fn start_with_args(root: &Path, args: &[&str]) -> ServerProcess {
        Self::start_with_env(root, args, &[])
    }

    /// Starts `netdisk serve` with more flags and environment variables.
    pub fn start_with_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let (child, addr, second) = spawn_serve(&[], root, args, env);
        let fingerprint = second
            .trim()
            .strip_prefix("TLS certificate fingerprint ")
            .unwrap_or_else(|| panic!("unexpected second line {second:?}"))
            .parse()
            .expect("fingerprint");
        ServerProcess {
            child,
            addr,
            fingerprint,
        }
    }

    /// SIGKILL: no chance to clean up, as in a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = wait_bounded(&mut self.child);
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends SIGKILL to a process by id (usable from a progress callback).
pub fn sigkill(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

/// Bytes sent past `cut_at` before `cut_upload` pulls the plug. The last
/// bytes sent can be lost with the connection (still in the client's TLS
/// layer, or not yet read by the server when the reset arrives; seen
/// once on a loaded machine: 16 KiB short); with the margin, the server
/// has received at least `cut_at`.
const CUT_MARGIN: u64 = 512 * 1024;

/// Uploads `local` as alice (password "pw") and cuts the connection once
/// `cut_at` bytes have surely left the client: the progress callback
/// unwinds the upload task `CUT_MARGIN` bytes later, which drops the
/// client mid-body. The file must be longer than that.
pub async fn cut_upload(
    addr: &str,
    transport: &Transport,
    local: &Path,
    remote: &str,
    resume: bool,
    cut_at: u64,
) {
    let (addr, local, remote) = (addr.to_owned(), local.to_owned(), remote.to_owned());
    let transport = transport.clone();
    let task = tokio::spawn(async move {
        let mut client = netdisk_client::Client::connect(&addr, &transport)
            .await
            .expect("connect");
        client.login("alice", "pw").await.expect("login");
        let mut cut = |sent: u64, _total: u64| {
            if sent >= cut_at + CUT_MARGIN {
                // Not a failure: unwinding is how the test pulls the plug.
                std::panic::resume_unwind(Box::new("cutting the connection"));
            }
        };
        let _ = client
            .put_file(&local, &remote, resume, Some(&mut cut))
            .await;
        panic!("the upload finished before the cut at {cut_at} bytes");
    });
    let outcome = tokio::time::timeout(LIMIT, task)
        .await
        .expect("upload reached the cut");
    let payload = outcome.expect_err("the upload was cut").into_panic();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"cutting the connection")
    );
}

/// `netdisk --plaintext serve --http`, and the two addresses it printed.
pub struct Served {
    child: Child,
    pub native: String,
    pub http: String,
}

impl Served {
    pub fn start(root: &Path) -> Served {
        Self::start_with_env(root, &[], &[])
    }

    /// Starts it with more flags and environment variables.
    pub fn start_with_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
        let mut with_http = vec!["--http", "127.0.0.1:0"];
        with_http.extend_from_slice(args);
        let (child, native, second) = spawn_serve(&["--plaintext"], root, &with_http, env);
        let http = second
            .trim()
            .strip_prefix("HTTP API on http://")
            .and_then(|rest| rest.strip_suffix("/api/v1/"))
            .unwrap_or_else(|| panic!("unexpected second line {second:?}"))
            .to_owned();
        Served {
            child,
            native,
            http,
        }
    }

    /// The CLI, logged in as alice with password pw.
    pub fn cli(&self) -> Command {
        let mut cmd = netdisk();
        cmd.args(["--plaintext", "--server", &self.native, "--user", "alice"])
            .env("NETDISK_PASSWORD", "pw");
        cmd
    }

    /// One HTTP/1.1 request on its own connection: the status and body.
    pub fn http(&self, method: &str, path: &str, bearer: Option<&str>) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(&self.http).expect("connect");
        stream.set_read_timeout(Some(LIMIT)).expect("timeout");
        let auth = bearer
            .map(|token| format!("Authorization: Bearer {token}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
            self.http
        )
        .expect("request");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("answer");
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header");
        let head = String::from_utf8_lossy(&answer[..split]).to_string();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("status");
        (status, answer[split + 4..].to_vec())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = wait_bounded(&mut self.child);
    }
}

/// Each line of `stdout` as JSON (`--json` output).
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

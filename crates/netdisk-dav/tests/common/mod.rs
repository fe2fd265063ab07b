//! A real netdisk server and web gateway on 127.0.0.1:0 in the test's
//! process, with users alice and bob (password "pw"), and a reqwest
//! client for WebDAV requests.
#![allow(dead_code)] // each test binary uses its own part of it

use netdisk_http::{HttpConfig, HttpGateway};
use netdisk_proto::scram::MIN_ITERATIONS;
use netdisk_server::{Server, ServerConfig, Transport};
use netdisk_store::DataDir;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const PASSWORD: &str = "pw";

pub struct Gateway {
    pub _dir: tempfile::TempDir,
    pub root: PathBuf,
    /// `http://127.0.0.1:PORT` (or https).
    pub origin: String,
    pub http: reqwest::Client,
    stop: CancellationToken,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Gateway {
    /// Plaintext unless `tls`; alice's quota is `quota` bytes (None: unlimited).
    pub async fn start(transport: Transport, quota: Option<u64>) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("data");
        let config = ServerConfig {
            root: root.clone(),
            listen: "127.0.0.1:0".into(),
            transport: transport.clone(),
            max_login_failures: 4,
            ..ServerConfig::default()
        };
        let server = Server::bind(config).await.expect("bind");
        {
            let users = DataDir::open(&root)
                .expect("data dir")
                .users()
                .expect("users")
                .with_iterations(MIN_ITERATIONS);
            users.add("alice", PASSWORD, quota).expect("alice");
            users.add("bob", PASSWORD, None).expect("bob");
        }
        let http = HttpConfig {
            listen: "127.0.0.1:0".into(),
            ..HttpConfig::default()
        };
        let gateway = HttpGateway::bind(server.store(), server.tls(), http)
            .await
            .expect("bind http");
        let addr = gateway.local_addr().expect("addr");
        let (client, scheme) = match transport {
            Transport::Plaintext => (client_trusting(rustls::RootCertStore::empty()), "http"),
            _ => (tls_client(&root), "https"),
        };
        let stop = CancellationToken::new();
        let (a, b) = (stop.clone(), stop.clone());
        let done = tokio::spawn(async move {
            let (served, ()) = tokio::join!(
                server.run(a.cancelled_owned()),
                gateway.run(b.cancelled_owned())
            );
            served.expect("server");
        });
        Gateway {
            _dir: dir,
            root,
            origin: format!("{scheme}://{addr}"),
            http: client,
            stop,
            done: Some(done),
        }
    }

    /// The WebDAV URL of a path in the home (`""`: the home).
    pub fn dav(&self, path: &str) -> String {
        format!("{}/dav/{path}", self.origin)
    }

    pub fn home(&self, user: &str) -> PathBuf {
        self.root.join("homes").join(user)
    }

    /// A request as alice with her password.
    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.http
            .request(method, self.dav(path))
            .basic_auth("alice", Some(PASSWORD))
    }

    /// A PUT of `body` as alice, answered.
    pub async fn put(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.request("PUT", path)
            .body(body)
            .send()
            .await
            .expect("put")
    }

    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(done) = self.done.take() {
            tokio::time::timeout(Duration::from_secs(30), done)
                .await
                .expect("shutdown within 30 s")
                .expect("server task");
        }
    }
}

/// A client that trusts the server's generated certificate.
pub fn tls_client(root: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(root.join("tls/cert.pem")).expect("cert");
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.expect("pem")).expect("root");
    }
    client_trusting(roots)
}

/// reqwest on rustls with ring (the server's provider), trusting `roots`.
pub fn client_trusting(roots: rustls::RootCertStore) -> reqwest::Client {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("tls 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .expect("client")
}

/// A tool's path, or a failure that says how to install it: a missing
/// tool fails the test rather than skipping it.
pub fn require_tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not installed: apt-get install {name} (.ci/run does)")
        })
}

/// An answer read off the wire by [`raw_request`].
pub struct RawAnswer {
    pub status: u16,
    /// Everything after the status line: headers and body, as sent.
    pub rest: Vec<u8>,
}

impl RawAnswer {
    pub fn contains(&self, needle: &[u8]) -> bool {
        self.rest.windows(needle.len()).any(|w| w == needle)
    }
}

/// One request written as is (the target is not normalised, unlike an
/// URL given to reqwest, which resolves `..` and `%2e%2e`), as alice,
/// on a connection of its own, read until the server closes it.
pub async fn raw_request(
    gateway: &Gateway,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawAnswer {
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = gateway
        .origin
        .strip_prefix("http://")
        .expect("raw requests go to a plaintext gateway");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"));
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {credentials}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("answer within 30 s")
        .expect("read answer");
    let status = answer
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {:?}", String::from_utf8_lossy(&answer)));
    RawAnswer {
        status,
        rest: answer.get(12..).unwrap_or_default().to_vec(),
    }
}

//! The test gateway: a real `netdisk-server` + gateway on 127.0.0.1:0 in
//! the test's process, and helpers to drive it with reqwest.
#![allow(dead_code)] // each test binary uses its own part of it

use netdisk_http::{HttpConfig, HttpGateway};
use netdisk_proto::scram::MIN_ITERATIONS;
use netdisk_server::{Server, ServerConfig, Transport};
use netdisk_store::DataDir;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Gateway {
    pub _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub base: String,
    pub http: reqwest::Client,
    stop: CancellationToken,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Gateway {
    pub async fn start(transport: Transport, tune: impl FnOnce(&mut HttpConfig)) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("data");
        let config = ServerConfig {
            root: root.clone(),
            listen: "127.0.0.1:0".into(),
            transport: transport.clone(),
            default_quota: Some(10 << 20),
            max_login_failures: 4,
            ..ServerConfig::default()
        };
        let server = Server::bind(config).await.expect("bind");
        {
            let users = DataDir::open(&root)
                .expect("data dir")
                .users()
                .expect("users");
            let users = users.with_iterations(MIN_ITERATIONS);
            users.add("alice", "pw", None).expect("alice");
            users.add("bob", "pw", None).expect("bob");
        }
        let mut http = HttpConfig {
            listen: "127.0.0.1:0".into(),
            ..HttpConfig::default()
        };
        tune(&mut http);
        let gateway = HttpGateway::bind(server.store(), server.tls(), http)
            .await
            .expect("bind http");
        let addr = gateway.local_addr().expect("addr");
        let client = match transport {
            Transport::Plaintext => client_trusting(rustls::RootCertStore::empty()),
            _ => tls_client(&root),
        };
        let scheme = if matches!(transport, Transport::Plaintext) {
            "http"
        } else {
            "https"
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
            base: format!("{scheme}://{addr}/api/v1"),
            http: client,
            stop,
            done: Some(done),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    pub fn home(&self, user: &str) -> PathBuf {
        self.root.join("homes").join(user)
    }

    pub async fn login(&self, user: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("login"))
            .json(&serde_json::json!({ "user": user, "password": password }))
            .send()
            .await
            .expect("login request")
    }

    pub async fn token(&self, user: &str) -> String {
        let response = self.login(user, "pw").await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn put(&self, token: &str, path: &str, body: Vec<u8>) -> reqwest::Response {
        let hash = blake3::hash(&body).to_hex().to_string();
        self.http
            .put(self.url(&format!("files/{path}")))
            .bearer_auth(token)
            .header("x-netdisk-blake3", hash)
            .body(body)
            .send()
            .await
            .expect("put")
    }

    /// A request with no body, as `token`'s user.
    pub async fn call(&self, method: Method, token: &str, path: &str) -> reqwest::Response {
        self.http
            .request(method, self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
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

/// A client that trusts the server's generated certificate (as a pinned root).
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

pub async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("error json");
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

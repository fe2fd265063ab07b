//! The client against a scripted server over an in-memory stream: the
//! failures a real server should never produce, but a hostile or broken
//! one could.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use netdisk_client::{Client, ClientError};
use netdisk_proto::handshake::{Hello, LoginChallenge, LoginOk};
use netdisk_proto::response::{GetData, GetEnd};
use netdisk_proto::scram::{ClientHello, ScramError, ServerFirst, Verifier};
use netdisk_proto::{ErrorCode, Frame, Message, NetdiskCodec, PROTOCOL_VERSION};
use std::time::Duration;
use tokio::io::DuplexStream;
use tokio_util::codec::Framed;

type Server = Framed<DuplexStream, NetdiskCodec>;

const LIMIT: Duration = Duration::from_secs(30);

fn hello(protocol: u32) -> Message {
    Message::Hello(Hello {
        protocol,
        server: "fake".into(),
        version: "0".into(),
        auth: vec!["SCRAM-SHA-256".into()],
        challenge: B64.encode([7u8; 32]),
        site_key: false,
        idle_timeout: None,
    })
}

async fn recv(server: &mut Server) -> Message {
    match tokio::time::timeout(LIMIT, server.next())
        .await
        .expect("in time")
    {
        Some(Ok(Frame::Message(m))) => m,
        other => panic!("fake server expected a message, got {other:?}"),
    }
}

/// Plays the server side of a login; `forge` replaces the server signature.
async fn serve_login(server: &mut Server, password: &str, forge: bool) {
    let Message::Login(login) = recv(server).await else {
        panic!("expected login")
    };
    let hello = ClientHello::parse(&login.data).expect("client first");
    let verifier = Verifier::from_password(password, b"0123456789abcdef", 4096).expect("verifier");
    let (state, data) = ServerFirst::new(&hello, verifier, "servernonce").expect("server first");
    server
        .send(Message::LoginChallenge(LoginChallenge {
            id: login.id,
            data,
        }))
        .await
        .expect("send");
    let Message::LoginProof(proof) = recv(server).await else {
        panic!("expected proof")
    };
    let mut data = state.handle_client_final(&proof.data).expect("valid proof");
    if forge {
        data = format!("v={}", B64.encode([0u8; 32]));
    }
    let ok = Message::LoginOk(LoginOk {
        id: login.id,
        data,
        user: hello.user,
        cwd: "~".into(),
    });
    server.send(ok).await.expect("send");
}

fn pair() -> (DuplexStream, Server) {
    let (client, server) = tokio::io::duplex(1 << 20);
    (client, Framed::new(server, NetdiskCodec::new()))
}

#[tokio::test]
async fn a_forged_server_signature_fails_the_login() {
    let (stream, mut server) = pair();
    let fake = tokio::spawn(async move {
        server.send(hello(PROTOCOL_VERSION)).await.expect("hello");
        serve_login(&mut server, "pw", true).await;
    });
    let mut client = Client::handshake(stream).await.expect("handshake");
    let err = client
        .login("alice", "pw")
        .await
        .expect_err("forged signature accepted");
    assert!(
        matches!(err, ClientError::Auth(ScramError::InvalidServerSignature)),
        "{err}"
    );
    fake.await.expect("fake server");
}

#[tokio::test]
async fn another_protocol_version_is_refused() {
    let (stream, mut server) = pair();
    server
        .send(hello(PROTOCOL_VERSION + 1))
        .await
        .expect("hello");
    let err = Client::handshake(stream)
        .await
        .err()
        .expect("handshake should fail");
    assert_eq!(err.code(), Some(ErrorCode::UnsupportedVersion));
    assert!(
        err.to_string()
            .contains(&format!("protocol {}", PROTOCOL_VERSION + 1)),
        "{err}"
    );
}

#[tokio::test]
async fn a_corrupted_download_leaves_the_old_file_and_no_temp_file() {
    corrupted_download(false).await;
}

#[tokio::test]
async fn a_download_differing_from_the_hash_sent_up_front_is_refused() {
    corrupted_download(true).await;
}

/// The server sends bytes that do not match the hash it gives, in
/// `get_end` alone or (`up_front`) in `get_data` too.
async fn corrupted_download(up_front: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("report.txt");
    std::fs::write(&target, b"the old, good version").expect("old file");
    let (stream, mut server) = pair();
    let fake = tokio::spawn(async move {
        server.send(hello(PROTOCOL_VERSION)).await.expect("hello");
        serve_login(&mut server, "pw", false).await;
        let Message::Get(get) = recv(&mut server).await else {
            panic!("expected get")
        };
        let body = b"tampered bytes".to_vec();
        let wrong = blake3::hash(b"what the server thinks it sent")
            .to_hex()
            .to_string();
        server
            .send(Message::GetData(GetData {
                id: get.id,
                offset: 0,
                size: body.len() as u64,
                modified: None,
                mode: None,
                restarted: None,
                blake3: up_front.then(|| wrong.clone()),
            }))
            .await
            .expect("send");
        server.send(bytes::Bytes::from(body)).await.expect("body");
        server
            .send(Message::GetEnd(GetEnd {
                id: get.id,
                blake3: wrong,
            }))
            .await
            .expect("send");
        // Keep the stream open until the client is done.
        let _ = tokio::time::timeout(LIMIT, server.next()).await;
    });
    let mut client = Client::handshake(stream).await.expect("handshake");
    client.login("alice", "pw").await.expect("login");
    let err = client
        .get_file("report.txt", &target, false, None)
        .await
        .expect_err("corruption accepted");
    assert_eq!(err.code(), Some(ErrorCode::Integrity), "{err}");
    assert_eq!(
        std::fs::read(&target).expect("old file"),
        b"the old, good version"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "temporary file left behind: {names:?}");
    drop(client);
    fake.await.expect("fake server");
}

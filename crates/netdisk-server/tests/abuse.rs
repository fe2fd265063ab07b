//! Bounded work for every peer: the site-key check, failed-login
//! throttling, the per-address cap, slow headers and bodies; and the audit
//! log that records what happened.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{RawClient, TestServer, LIMIT};
use netdisk_proto::handshake::SiteProof;
use netdisk_proto::request::{Get, Mv, Pwd, Rm};
use netdisk_proto::{ErrorCode, Message, SiteKey};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn expect_error(message: Message, code: ErrorCode) -> String {
    match message {
        Message::Error(e) => {
            assert_eq!(e.code, code, "{}", e.message);
            e.message
        }
        other => panic!("expected {code}, got {other:?}"),
    }
}

async fn pwd_works(client: &mut RawClient) {
    let id = client.id();
    client.send(Message::Pwd(Pwd { id })).await;
    assert!(matches!(client.recv().await, Message::Cwd(_)));
}

fn site_key(byte: u8) -> SiteKey {
    SiteKey::from_bytes(vec![byte; 32]).expect("key")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_site_key_gates_login_right_wrong_and_missing() {
    let server = TestServer::start_with(|c| c.site_key = Some(site_key(1))).await;
    server.add_user("alice", "pw");

    // Right key: the proof, then an ordinary login.
    let (mut client, hello) = RawClient::connect_hello(server.addr).await;
    let Message::Hello(hello) = hello else {
        panic!("no hello")
    };
    assert!(hello.site_key, "hello must announce the site key");
    let mac = site_key(1).prove(&hello.challenge).expect("challenge");
    client.send(Message::SiteProof(SiteProof { mac })).await;
    assert!(matches!(
        client.try_login("alice", "pw").await,
        Message::LoginOk(_)
    ));

    // Wrong key: refused and closed before any login.
    let (mut wrong, hello) = RawClient::connect_hello(server.addr).await;
    let Message::Hello(hello) = hello else {
        panic!("no hello")
    };
    let mac = site_key(2).prove(&hello.challenge).expect("challenge");
    wrong.send(Message::SiteProof(SiteProof { mac })).await;
    expect_error(wrong.recv().await, ErrorCode::SiteKeyRefused);
    wrong.expect_closed().await;

    // A proof over another connection's challenge is wrong too.
    let (mut replay, _) = RawClient::connect_hello(server.addr).await;
    let mac = site_key(1)
        .prove(&B64.encode([0u8; 32]))
        .expect("challenge");
    replay.send(Message::SiteProof(SiteProof { mac })).await;
    expect_error(replay.recv().await, ErrorCode::SiteKeyRefused);

    // No proof at all: the login itself is refused.
    let (mut missing, _) = RawClient::connect_hello(server.addr).await;
    expect_error(
        missing.try_login("alice", "pw").await,
        ErrorCode::SiteKeyRefused,
    );
    missing.expect_closed().await;

    let refusals: Vec<_> = server
        .audit_lines()
        .into_iter()
        .filter(|l| l["event"] == "site_key_refused")
        .collect();
    assert_eq!(refusals.len(), 3, "{refusals:?}");
    assert!(refusals.iter().all(|l| l["peer"]
        .as_str()
        .is_some_and(|p| p.starts_with("127.0.0.1:"))));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_logins_are_throttled_then_locked_out() {
    let server = TestServer::start_with(|c| {
        c.max_login_failures = 4;
        c.lockout = Duration::from_secs(600);
    })
    .await;
    server.add_user("alice", "pw");
    server.add_user("bob", "pw");
    let mut delays = Vec::new();
    for _ in 0..4 {
        let (mut client, _) = RawClient::connect_hello(server.addr).await;
        let started = Instant::now();
        expect_error(
            client.try_login("alice", "wrong").await,
            ErrorCode::AuthFailed,
        );
        delays.push(started.elapsed());
    }
    // The third and fourth failures are answered only after a delay.
    assert!(delays[2] >= Duration::from_millis(250), "{delays:?}");
    assert!(delays[3] >= Duration::from_millis(500), "{delays:?}");

    // Locked out: even the right password is refused, without a SCRAM exchange.
    let (mut client, _) = RawClient::connect_hello(server.addr).await;
    let message = expect_error(client.try_login("alice", "pw").await, ErrorCode::Throttled);
    assert!(message.contains("try again in"), "{message}");

    // The whole source address is locked out too, for any user.
    let (mut client, _) = RawClient::connect_hello(server.addr).await;
    expect_error(client.try_login("bob", "pw").await, ErrorCode::Throttled);

    // Another address may still log in as bob, but not as alice.
    let other: IpAddr = "127.0.0.2".parse().expect("ip");
    let mut client = RawClient::connect_from(server.addr, other).await;
    client.recv().await;
    assert!(matches!(
        client.try_login("bob", "pw").await,
        Message::LoginOk(_)
    ));
    let mut client = RawClient::connect_from(server.addr, other).await;
    client.recv().await;
    expect_error(client.try_login("alice", "pw").await, ErrorCode::Throttled);

    let results: Vec<String> = server
        .audit_lines()
        .iter()
        .filter(|l| l["event"] == "login")
        .map(|l| {
            format!(
                "{}:{}",
                l["user"].as_str().unwrap_or(""),
                l["result"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            "alice:failed",
            "alice:failed",
            "alice:failed",
            "alice:failed",
            "alice:throttled",
            "bob:throttled",
            "bob:ok",
            "alice:throttled"
        ]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_per_address_are_capped() {
    let server = TestServer::start_with(|c| c.max_connections_per_ip = 2).await;
    server.add_user("alice", "pw");
    let mut first = RawClient::login(server.addr, "alice", "pw").await;
    let _second = RawClient::login(server.addr, "alice", "pw").await;
    let mut third = RawClient::connect(server.addr).await;
    let message = expect_error(third.recv().await, ErrorCode::Busy);
    assert!(message.contains("your address"), "{message}");
    third.expect_closed().await;
    // Another loopback address has its own allowance.
    let other: IpAddr = "127.0.0.3".parse().expect("ip");
    let mut elsewhere = RawClient::connect_from(server.addr, other).await;
    assert!(matches!(elsewhere.recv().await, Message::Hello(_)));
    assert!(matches!(
        elsewhere.try_login("alice", "pw").await,
        Message::LoginOk(_)
    ));
    pwd_works(&mut first).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickled_header_and_a_stalled_body_are_cut_while_others_are_served() {
    let server = TestServer::start_with(|c| {
        c.header_timeout = Duration::from_millis(500);
        c.stall_timeout = Duration::from_secs(1);
        c.login_timeout = Duration::from_secs(2);
    })
    .await;
    server.add_user("alice", "pw");
    let mut normal = RawClient::login(server.addr, "alice", "pw").await;

    // Before login: a header trickled byte by byte is cut by the login timeout.
    let (mut early, _) = RawClient::connect_hello(server.addr).await;
    // After login: the first bytes of a header, then nothing.
    let mut trickler = RawClient::login(server.addr, "alice", "pw").await;
    // An upload that announces 1 MiB and sends 10 bytes.
    let mut staller = RawClient::login(server.addr, "alice", "pw").await;
    staller.start_upload("stalled.bin", 1 << 20).await;
    staller.send_raw(b"0123456789").await;

    let started = Instant::now();
    trickler.send_raw(&[40, 0]).await;
    let header = [40u8, 0, 0, 0, b'{', b'"'];
    let mut cut_early = false;
    for byte in header {
        // Each byte well inside any single timeout; the whole never completes.
        if tokio::time::timeout(Duration::from_millis(300), early.next_frame())
            .await
            .is_ok()
        {
            cut_early = true;
            break;
        }
        early.send_raw(&[byte]).await;
        pwd_works(&mut normal).await;
    }
    let code = |message| match message {
        Some(netdisk_proto::Frame::Message(Message::Error(e))) => e.code,
        other => panic!("expected an error frame, got {other:?}"),
    };
    if !cut_early {
        assert_eq!(code(early.next_frame().await), ErrorCode::Timeout);
    }
    assert_eq!(code(trickler.next_frame().await), ErrorCode::Timeout);
    trickler.expect_closed().await;
    assert_eq!(code(staller.next_frame().await), ErrorCode::Timeout);
    staller.expect_closed().await;
    early.expect_closed().await;
    assert!(started.elapsed() < LIMIT);
    // The patient client was served throughout and still is.
    pwd_works(&mut normal).await;
    assert!(!server.home("alice").join("stalled.bin").exists());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_records_logins_transfers_removals_and_renames() {
    let server = TestServer::start().await;
    server.add_user("alice", "pw");
    let (mut failed, _) = RawClient::connect_hello(server.addr).await;
    expect_error(
        failed.try_login("alice", "nope").await,
        ErrorCode::AuthFailed,
    );
    let mut client = RawClient::login(server.addr, "alice", "pw").await;

    let body = b"audited bytes";
    let hash = blake3::hash(body).to_hex().to_string();
    let id = client.start_upload("a.txt", body.len() as u64).await;
    client.send_raw(body).await;
    assert!(matches!(
        client.end_upload(id, hash.clone()).await,
        Message::PutDone(_)
    ));
    let id = client.start_upload("bad.txt", 3).await;
    client.send_raw(b"xyz").await;
    expect_error(
        client.end_upload(id, hash.clone()).await,
        ErrorCode::Integrity,
    );

    let id = client.id();
    client
        .send(Message::Get(Get {
            id,
            path: "a.txt".into(),
            ..Default::default()
        }))
        .await;
    assert!(matches!(client.recv().await, Message::GetData(_)));
    assert!(matches!(
        client.next_frame().await,
        Some(netdisk_proto::Frame::Body(_))
    ));
    assert!(matches!(client.recv().await, Message::GetEnd(_)));

    let id = client.id();
    client
        .send(Message::Mv(Mv {
            id,
            from: "a.txt".into(),
            to: "b.txt".into(),
        }))
        .await;
    client.recv().await;
    for path in ["b.txt", "missing.txt"] {
        let id = client.id();
        client
            .send(Message::Rm(Rm {
                id,
                path: path.into(),
                recursive: false,
            }))
            .await;
        client.recv().await;
    }

    let lines = server.audit_lines();
    let brief: Vec<String> = lines
        .iter()
        .map(|l| {
            let what = l["path"].as_str().or(l["from"].as_str()).unwrap_or("-");
            let direction = l["direction"].as_str().unwrap_or("");
            format!(
                "{} {direction} {what} {}",
                l["event"].as_str().unwrap_or("?"),
                l["result"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            "login  - failed",
            "login  - ok",
            "transfer upload ~/a.txt ok",
            "transfer upload ~/bad.txt integrity",
            "transfer download ~/a.txt ok",
            "rename  ~/a.txt ok",
            "remove  ~/b.txt ok",
            "remove  ~/missing.txt not_found",
        ]
    );
    let upload = &lines[2];
    assert_eq!(upload["user"], "alice");
    assert_eq!(upload["bytes"], body.len() as u64);
    assert_eq!(upload["blake3"], hash.as_str());
    assert!(upload["duration_ms"].is_u64());
    assert!(upload["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(lines[4]["blake3"], hash.as_str());
    assert_eq!(lines[5]["to"], "~/b.txt");
    server.shutdown().await;
}

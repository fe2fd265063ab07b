//! The life of connections: the connection cap, login and idle timeouts,
//! stalled transfers, and graceful shutdown.

mod common;

use common::{files_under, RawClient, TestServer, LIMIT};
use netdisk_proto::request::Pwd;
use netdisk_proto::{ErrorCode, Frame, Message};
use std::time::Duration;

fn expect_error(message: Message, code: ErrorCode) {
    match message {
        Message::Error(e) => assert_eq!(e.code, code, "{}", e.message),
        other => panic!("expected {code}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_connection_over_the_cap_is_told_busy() {
    let server = TestServer::start_with(|c| c.max_connections = 2).await;
    server.add_user("alice", "pw");
    let first = RawClient::login(server.addr, "alice", "pw").await;
    let _second = RawClient::login(server.addr, "alice", "pw").await;
    let mut third = RawClient::connect(server.addr).await;
    expect_error(third.recv().await, ErrorCode::Busy);
    third.expect_closed().await;

    // Once a connection ends its slot is free again; the server notices the
    // close asynchronously, so retry (bounded) until a hello arrives.
    drop(first);
    let mut admitted = false;
    for _ in 0..200 {
        let (mut client, hello) = RawClient::connect_hello(server.addr).await;
        if matches!(hello, Message::Hello(_)) {
            assert!(matches!(
                client.try_login("alice", "pw").await,
                Message::LoginOk(_)
            ));
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(admitted, "a freed slot was never reused");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_clients_are_cut_at_login_and_when_idle() {
    let server = TestServer::start_with(|c| {
        c.login_timeout = Duration::from_millis(300);
        c.idle_timeout = Duration::from_millis(300);
    })
    .await;
    server.add_user("alice", "pw");
    let (mut silent, hello) = RawClient::connect_hello(server.addr).await;
    assert!(matches!(hello, Message::Hello(_)));
    expect_error(silent.recv().await, ErrorCode::Timeout);
    silent.expect_closed().await;

    let mut idle = RawClient::login(server.addr, "alice", "pw").await;
    expect_error(idle.recv().await, ErrorCode::Timeout);
    idle.expect_closed().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_transfer_that_makes_progress_is_not_cut() {
    let server = TestServer::start_with(|c| c.idle_timeout = Duration::from_millis(200)).await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    let content = vec![7u8; 10 * 64 * 1024];
    let id = client.start_upload("slow.bin", content.len() as u64).await;
    // Pauses are the behaviour under test here: the whole upload takes
    // about 1 s, five times the idle timeout, but bytes keep coming.
    for piece in content.chunks(64 * 1024) {
        client.send_raw(piece).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let blake3 = blake3::hash(&content).to_hex().to_string();
    assert!(matches!(
        client.end_upload(id, blake3).await,
        Message::PutDone(_)
    ));
    assert_eq!(
        std::fs::read(server.home("alice").join("slow.bin")).expect("stored"),
        content
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_upload_is_cut_and_leaves_nothing() {
    let server = TestServer::start_with(|c| c.stall_timeout = Duration::from_millis(300)).await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    client.start_upload("stalled.bin", 1000).await;
    client.send_raw(&[1u8; 500]).await;
    // The server gives up: it may still manage to say so before closing.
    match client.next_frame().await {
        None => {}
        Some(Frame::Message(Message::Error(e))) => {
            assert_eq!(e.code, ErrorCode::Timeout);
            client.expect_closed().await;
        }
        other => panic!("got {other:?}"),
    }
    let mut other = RawClient::login(server.addr, "alice", "pw").await;
    let id = other.id();
    other.send(Message::Pwd(Pwd { id })).await;
    assert!(matches!(other.recv().await, Message::Cwd(_)));
    assert!(!server.home("alice").join("stalled.bin").exists());
    assert!(files_under(&server.staging("alice")).is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_lets_a_running_upload_finish_and_sends_idle_clients_away() {
    let mut server = TestServer::start().await;
    server.add_user("alice", "pw");
    let mut uploader = RawClient::login(server.addr, "alice", "pw").await;
    let mut idle = RawClient::login(server.addr, "alice", "pw").await;
    let content = vec![3u8; 2 << 20];
    let id = uploader.start_upload("big.bin", content.len() as u64).await;
    let (head, tail) = content.split_at(content.len() / 2);
    uploader.send_raw(head).await;

    let stopped = server.begin_shutdown();
    // The idle session hears that the server is going away.
    match idle.recv().await {
        Message::Error(e) => {
            assert_eq!(e.code, ErrorCode::Busy);
            assert!(e.message.contains("shutting down"), "{}", e.message);
        }
        other => panic!("got {other:?}"),
    }
    idle.expect_closed().await;
    // New connections are no longer accepted.
    assert!(
        tokio::net::TcpStream::connect(server.addr).await.is_err() || {
            let mut late = RawClient::connect(server.addr).await;
            late.next_frame().await.is_none()
        }
    );

    uploader.send_raw(tail).await;
    let blake3 = blake3::hash(&content).to_hex().to_string();
    assert!(matches!(
        uploader.end_upload(id, blake3).await,
        Message::PutDone(_)
    ));
    drop(uploader);
    tokio::time::timeout(LIMIT, stopped)
        .await
        .expect("server stopped in time")
        .expect("server task");
    assert_eq!(
        std::fs::read(server.home("alice").join("big.bin")).expect("stored"),
        content
    );
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_of_one_user_share_their_home_handles_until_the_home_is_replaced() {
    let server = TestServer::start().await;
    server.add_user("alice", "pw");
    let mut first = RawClient::login(server.addr, "alice", "pw").await;
    let before = open_descriptors();
    let mut sessions = Vec::new();
    for _ in 0..20 {
        sessions.push(RawClient::login(server.addr, "alice", "pw").await);
    }
    // Each session: its socket on both ends. Without sharing, two more
    // directory handles each (60 in all).
    let grown = open_descriptors().saturating_sub(before);
    assert!(grown <= 44, "20 sessions took {grown} descriptors");

    // The home is deleted and made again (user del --purge, user add) while
    // a session still holds the old one: a new session must get the new one.
    let data = netdisk_store::DataDir::open(&server.root).expect("data dir");
    data.remove_home("alice").expect("purge");
    data.create_home("alice").expect("recreate");
    let mut fresh = RawClient::login(server.addr, "alice", "pw").await;
    let body = b"into the new home";
    let id = fresh.start_upload("new.txt", body.len() as u64).await;
    fresh.send_raw(body).await;
    let hash = blake3::hash(body).to_hex().to_string();
    assert!(matches!(
        fresh.end_upload(id, hash).await,
        Message::PutDone(_)
    ));
    assert_eq!(
        std::fs::read(server.home("alice").join("new.txt")).expect("in the new home"),
        body
    );
    let id = first.id();
    first.send(Message::Pwd(Pwd { id })).await;
    assert!(matches!(first.recv().await, Message::Cwd(_)));
    drop(sessions);
    server.shutdown().await;
}

//! `put_small`: many small files sent without waiting, committed in
//! batches, each answered in order once it is durable.

mod common;

use bytes::BytesMut;
use common::{files_under, RawClient, TestServer};
use futures_util::SinkExt;
use netdisk_proto::request::{Df, Get, Ls, Mkdir, PutSmall, Pwd, PUT_SMALL_MAX};
use netdisk_proto::{ErrorCode, Frame, Message, NetdiskCodec};
use std::time::Duration;
use tokio_util::codec::Encoder;

fn content(i: usize) -> Vec<u8> {
    (0..(i * 37) % 5000).map(|b| (b * 7 + i) as u8).collect()
}

fn put_small(id: u64, path: &str, body: &[u8]) -> Message {
    Message::PutSmall(PutSmall {
        id,
        path: path.into(),
        size: body.len() as u64,
        blake3: blake3::hash(body).to_hex().to_string(),
        ..Default::default()
    })
}

/// Queues a `put_small` and its body without flushing.
async fn feed(client: &mut RawClient, message: Message, body: &[u8]) {
    client.framed.feed(message).await.expect("feed");
    client
        .framed
        .feed(bytes::Bytes::copy_from_slice(body))
        .await
        .expect("feed body");
}

#[tokio::test]
async fn pipelined_small_uploads_are_answered_in_order_and_only_good_ones_stored() {
    let server = TestServer::start().await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    let id = client.id();
    client
        .send(Message::Mkdir(Mkdir {
            id,
            path: "d".into(),
            parents: false,
        }))
        .await;
    assert!(matches!(client.recv().await, Message::Done(_)));

    // 300 requests in one burst, some of them bad, then an `ls`.
    let mut expected = Vec::new();
    for i in 0..300usize {
        let id = client.id();
        let body = content(i);
        let (message, wanted) = match i {
            5 => {
                let mut wrong = put_small(id, &format!("d/f{i}"), &body);
                if let Message::PutSmall(req) = &mut wrong {
                    req.blake3 = blake3::hash(b"something else").to_hex().to_string();
                }
                (wrong, Err(ErrorCode::Integrity))
            }
            7 => (
                put_small(id, "../escape", &body),
                Err(ErrorCode::PermissionDenied),
            ),
            9 => (put_small(id, "missing/f", &body), Err(ErrorCode::NotFound)),
            11 => (put_small(id, "d", &body), Err(ErrorCode::IsADirectory)),
            _ => (put_small(id, &format!("d/f{i}"), &body), Ok(body.clone())),
        };
        feed(&mut client, message, &body).await;
        expected.push((id, i, wanted));
    }
    // One over the size limit: its body is read and dropped, the session goes on.
    let too_large_id = client.id();
    let big = vec![1u8; PUT_SMALL_MAX as usize + 1];
    feed(&mut client, put_small(too_large_id, "d/big", &big), &big).await;
    let ls_id = client.id();
    client
        .framed
        .feed(Message::Ls(Ls {
            id: ls_id,
            path: Some("d".into()),
        }))
        .await
        .expect("feed");
    SinkExt::<Message>::flush(&mut client.framed)
        .await
        .expect("flush");

    for (id, i, wanted) in &expected {
        let answer = client.recv().await;
        match (wanted, answer) {
            (Ok(body), Message::PutDone(done)) => {
                assert_eq!(done.id, *id);
                assert_eq!(done.path, format!("~/d/f{i}"));
                assert_eq!(done.size, body.len() as u64);
                assert_eq!(done.blake3, blake3::hash(body).to_hex().to_string());
            }
            (Err(code), Message::Error(e)) => {
                assert_eq!(e.id, Some(*id));
                assert_eq!(e.code, *code, "file {i}: {}", e.message);
            }
            (wanted, other) => panic!("file {i}: wanted {wanted:?}, got {other:?}"),
        }
    }
    match client.recv().await {
        Message::Error(e) => {
            assert_eq!((e.id, e.code), (Some(too_large_id), ErrorCode::TooLarge));
        }
        other => panic!("expected too_large, got {other:?}"),
    }
    // The listing comes after every answer and sees every committed file.
    let mut listed = Vec::new();
    loop {
        match client.recv().await {
            Message::Listing(listing) => {
                assert_eq!(listing.id, ls_id);
                listed.extend(listing.entries.into_iter().map(|e| e.name));
                if !listing.more {
                    break;
                }
            }
            other => panic!("expected a listing, got {other:?}"),
        }
    }
    let good: Vec<_> = expected.iter().filter(|(_, _, w)| w.is_ok()).collect();
    assert_eq!(listed.len(), good.len());
    for (_, i, wanted) in &good {
        let stored = std::fs::read(server.home("alice").join(format!("d/f{i}"))).expect("stored");
        assert_eq!(&stored, wanted.as_ref().expect("good"));
    }
    assert!(
        !server.home("alice").join("d/f5").exists(),
        "bad hash not stored"
    );
    assert!(!server.home("alice").join("d/big").exists());
    assert!(!server.root.join("escape").exists());
    assert!(
        files_under(&server.staging("alice")).is_empty(),
        "no staging leftovers"
    );

    // Each upload has its audit line, with its result.
    let audit = server.audit_lines();
    let transfers: Vec<_> = audit
        .iter()
        .filter(|line| line["event"] == "transfer")
        .collect();
    assert_eq!(transfers.len(), 301);
    assert_eq!(
        transfers
            .iter()
            .filter(|line| line["result"] == "ok")
            .count(),
        good.len()
    );
    assert!(transfers
        .iter()
        .any(|line| line["path"] == "~/d/f5" && line["result"] == "integrity"));
}

#[tokio::test]
async fn a_cut_connection_leaves_only_answered_or_whole_files() {
    // The stalled body is cut after this long.
    let server = TestServer::start_with(|config| {
        config.stall_timeout = std::time::Duration::from_millis(300)
    })
    .await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    let bodies: Vec<Vec<u8>> = (1..=10).map(content).collect();
    for (i, body) in bodies.iter().enumerate() {
        let id = client.id();
        client
            .framed
            .feed(put_small(id, &format!("f{i}"), body))
            .await
            .expect("feed");
        // The last body stops half way: the server waits for the rest.
        let sent = if i == 9 {
            &body[..body.len() / 2]
        } else {
            &body[..]
        };
        client
            .framed
            .feed(bytes::Bytes::copy_from_slice(sent))
            .await
            .expect("feed");
    }
    SinkExt::<Message>::flush(&mut client.framed)
        .await
        .expect("flush");
    // Answers for any batch committed early, then the timeout, then the
    // close: the session has ended when the stream does.
    let mut timed_out = false;
    for _ in 0..20 {
        match client.next_frame().await {
            Some(Frame::Message(Message::PutDone(_))) => {}
            Some(Frame::Message(Message::Error(e))) => {
                assert_eq!(e.code, ErrorCode::Timeout);
                timed_out = true;
            }
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    assert!(timed_out, "the stalled body was cut");

    // A batch may have been committed before the cut (the server commits
    // whenever nothing more has arrived yet); whatever is stored is whole,
    // and the incomplete last one is not.
    let home = server.home("alice");
    for (i, body) in bodies.iter().enumerate().take(9) {
        if let Ok(stored) = std::fs::read(home.join(format!("f{i}"))) {
            assert_eq!(&stored, body, "f{i} stored whole or not at all");
        }
    }
    assert!(!home.join("f9").exists());
    assert!(files_under(&server.staging("alice")).is_empty());
    let audit = server.audit_lines();
    let transfers: Vec<_> = audit
        .iter()
        .filter(|line| line["event"] == "transfer")
        .collect();
    assert_eq!(transfers.len(), 9, "one line per upload read in full");
    for line in transfers {
        let path = line["path"].as_str().expect("path");
        let stored = home.join(path.trim_start_matches("~/")).exists();
        let expected = if stored { "ok" } else { "interrupted" };
        assert_eq!(line["result"], expected, "{path}");
    }
}

#[tokio::test]
async fn small_uploads_respect_the_quota_file_by_file() {
    let server = TestServer::start_with(|config| config.default_quota = Some(10_000)).await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    let body = vec![9u8; 4000];
    let ids: Vec<u64> = (0..4).map(|_| client.id()).collect();
    for (n, id) in ids.iter().enumerate() {
        feed(&mut client, put_small(*id, &format!("q{n}"), &body), &body).await;
    }
    SinkExt::<Message>::flush(&mut client.framed)
        .await
        .expect("flush");
    let mut codes = Vec::new();
    for id in &ids {
        match client.recv().await {
            Message::PutDone(done) => {
                assert_eq!(done.id, *id);
                codes.push(None);
            }
            Message::Error(e) => {
                assert_eq!(e.id, Some(*id));
                codes.push(Some(e.code));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        codes,
        vec![
            None,
            None,
            Some(ErrorCode::QuotaExceeded),
            Some(ErrorCode::QuotaExceeded)
        ]
    );
    let id = client.id();
    client.send(Message::Df(Df { id })).await;
    match client.recv().await {
        Message::Usage(usage) => assert_eq!(usage.used, 8000),
        other => panic!("expected usage, got {other:?}"),
    }
}

#[tokio::test]
async fn sessions_share_a_bounded_room_for_waiting_bodies_and_all_finish() {
    // 1 MiB for all sessions together: one largest body at a time.
    let server = TestServer::start_with(|config| config.small_upload_memory = 1024 * 1024).await;
    server.add_user("alice", "pw");
    let body = vec![7u8; 100 * 1024];
    let mut sessions = Vec::new();
    for s in 0..3 {
        let mut client = RawClient::login(server.addr, "alice", "pw").await;
        let body = body.clone();
        sessions.push(tokio::spawn(async move {
            // 2 MB each, sent at once: more than the whole room.
            let mut ids = Vec::new();
            for n in 0..20 {
                let id = client.id();
                feed(
                    &mut client,
                    put_small(id, &format!("s{s}-{n}"), &body),
                    &body,
                )
                .await;
                ids.push(id);
            }
            SinkExt::<Message>::flush(&mut client.framed)
                .await
                .expect("flush");
            for id in ids {
                match client.recv().await {
                    Message::PutDone(done) => assert_eq!(done.id, id),
                    other => panic!("expected put_done, got {other:?}"),
                }
            }
        }));
    }
    for session in sessions {
        tokio::time::timeout(std::time::Duration::from_secs(60), session)
            .await
            .expect("no session waits forever")
            .expect("session");
    }
    assert_eq!(files_under(&server.home("alice")).len(), 60);
}

#[tokio::test(flavor = "multi_thread")]
async fn at_shutdown_every_stored_small_upload_was_answered() {
    let mut server = TestServer::start().await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    let mut sent = Vec::new();
    for i in 0..400usize {
        let id = client.id();
        let body = content(i);
        feed(&mut client, put_small(id, &format!("f{i}"), &body), &body).await;
        sent.push((id, i));
    }
    SinkExt::<Message>::flush(&mut client.framed)
        .await
        .expect("flush");
    // Some of the burst is committed, perhaps one batch in flight, some
    // not yet read when the server is told to stop.
    let stopped = server.begin_shutdown();
    let mut answered = Vec::new();
    let mut told_to_leave = false;
    for (id, i) in &sent {
        match client.next_frame().await {
            Some(Frame::Message(Message::PutDone(done))) => {
                assert_eq!(done.id, *id, "answers in request order");
                answered.push(format!("f{i}"));
            }
            Some(Frame::Message(Message::Error(e))) => {
                assert_eq!(e.code, ErrorCode::Busy, "{}", e.message);
                told_to_leave = true;
                break;
            }
            None => break,
            Some(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(told_to_leave || answered.len() == sent.len());
    tokio::time::timeout(common::LIMIT, stopped)
        .await
        .expect("server stopped in time")
        .expect("server task");
    // Committed means answered: no file is in place without its put_done.
    let mut stored: Vec<String> = std::fs::read_dir(server.home("alice"))
        .expect("home")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    stored.sort();
    answered.sort();
    assert_eq!(stored, answered);
    for name in &stored {
        let i: usize = name[1..].parse().expect("index");
        let bytes = std::fs::read(server.home("alice").join(name)).expect("stored");
        assert_eq!(bytes, content(i));
    }
    assert!(files_under(&server.staging("alice")).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_split_across_writes_are_stored_whole_and_a_stalled_one_is_cut() {
    let server = TestServer::start_with(|c| c.stall_timeout = Duration::from_secs(1)).await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;

    // Two bodies written in uneven pieces, the second header in the same
    // write as the end of the first body: the server reads each body
    // straight from the socket, and must stop exactly at its end.
    let first: Vec<u8> = (0..PUT_SMALL_MAX).map(|i| (i % 253) as u8).collect();
    let second: Vec<u8> = (0..PUT_SMALL_MAX / 3).map(|i| (i % 241) as u8).collect();
    let files = [
        ("first", first, client.id()),
        ("second", second, client.id()),
    ];
    let mut wire = BytesMut::new();
    for (name, body, id) in &files {
        NetdiskCodec::new()
            .encode(put_small(*id, name, body), &mut wire)
            .expect("encode");
        wire.extend_from_slice(body);
    }
    for piece in wire.chunks(77_777) {
        client.send_raw(piece).await;
    }
    for (name, body, id) in &files {
        match client.recv().await {
            Message::PutDone(done) => {
                assert_eq!((done.id, done.size), (*id, body.len() as u64));
            }
            other => panic!("expected put_done for {name}, got {other:?}"),
        }
        let stored = std::fs::read(server.home("alice").join(name)).expect("stored");
        assert!(stored == *body, "{name} stored with other bytes");
    }

    // A body that stops after 10 of its bytes: cut after the stall
    // timeout, nothing stored.
    let body = vec![7u8; 64 * 1024];
    let mut wire = BytesMut::new();
    NetdiskCodec::new()
        .encode(put_small(client.id(), "stalled", &body), &mut wire)
        .expect("encode");
    wire.extend_from_slice(&body[..10]);
    client.send_raw(&wire).await;
    match client.next_frame().await {
        Some(Frame::Message(Message::Error(e))) => assert_eq!(e.code, ErrorCode::Timeout),
        other => panic!("expected a timeout error, got {other:?}"),
    }
    client.expect_closed().await;
    assert!(!server.home("alice").join("stalled").exists());
    server.shutdown().await;
}

/// Reads one download's answer: `get_data`, its body, `get_end`.
async fn receive_download(client: &mut RawClient, id: u64) -> Vec<u8> {
    let size = match client.recv().await {
        Message::GetData(data) if data.id == id => data.size,
        other => panic!("expected get_data for {id}, got {other:?}"),
    };
    let mut body = Vec::new();
    while (body.len() as u64) < size {
        match client.next_frame().await {
            Some(Frame::Body(chunk)) => body.extend_from_slice(&chunk),
            other => panic!("expected body bytes for {id}, got {other:?}"),
        }
    }
    match client.recv().await {
        Message::GetEnd(end) if end.id == id => {
            assert_eq!(end.blake3, blake3::hash(&body).to_hex().to_string());
        }
        other => panic!("expected get_end for {id}, got {other:?}"),
    }
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelined_downloads_are_answered_in_order_and_a_lone_one_at_once() {
    let server = TestServer::start().await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    let files: Vec<Vec<u8>> = (0..60).map(content).collect();
    for (i, body) in files.iter().enumerate() {
        let id = client.id();
        feed(&mut client, put_small(id, &format!("f{i}"), body), body).await;
    }
    SinkExt::<Message>::flush(&mut client.framed)
        .await
        .expect("flush");
    for _ in &files {
        assert!(matches!(client.recv().await, Message::PutDone(_)));
    }

    // Every get in one burst, then a pwd: the server queues the answers
    // while requests keep coming, and sends them all, in order.
    let mut ids = Vec::new();
    for i in 0..files.len() {
        let id = client.id();
        ids.push(id);
        let get = Get {
            id,
            path: format!("f{i}"),
            ..Get::default()
        };
        client.framed.feed(Message::Get(get)).await.expect("feed");
    }
    let pwd_id = client.id();
    client
        .framed
        .feed(Message::Pwd(Pwd { id: pwd_id }))
        .await
        .expect("feed");
    SinkExt::<Message>::flush(&mut client.framed)
        .await
        .expect("flush");
    for (id, expected) in ids.iter().zip(&files) {
        assert!(receive_download(&mut client, *id).await == *expected);
    }
    assert!(matches!(client.recv().await, Message::Cwd(cwd) if cwd.id == pwd_id));

    // One get alone, nothing behind it: answered without waiting for more.
    let id = client.id();
    client
        .send(Message::Get(Get {
            id,
            path: "f7".into(),
            ..Get::default()
        }))
        .await;
    assert!(receive_download(&mut client, id).await == files[7]);
    server.shutdown().await;
}

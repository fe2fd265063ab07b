//! Hostile paths and malformed input on a raw socket: refused with the
//! right code, nothing outside the home read or written, and the server
//! keeps serving.

mod common;

use common::{files_under, RawClient, TestServer};
use netdisk_proto::request::*;
use netdisk_proto::{ErrorCode, Frame, Message};
use std::os::unix::fs::symlink;

/// Sends one request and returns the error code, or None on success.
async fn code_of(client: &mut RawClient, request: Message) -> Option<ErrorCode> {
    client.send(request).await;
    match client.recv().await {
        Message::Error(e) => Some(e.code),
        Message::PutReady(ready) => {
            // A put that was accepted: finish it cleanly with an empty body
            // and a wrong hash, so nothing is stored.
            client
                .send(Message::PutData(PutData {
                    id: ready.id,
                    size: 0,
                    ..Default::default()
                }))
                .await;
            client
                .send(Message::PutEnd(PutEnd {
                    id: ready.id,
                    blake3: "0".repeat(64),
                }))
                .await;
            match client.recv().await {
                Message::Error(e) => assert_eq!(e.code, ErrorCode::Integrity),
                other => panic!("hostile put stored something: {other:?}"),
            }
            None
        }
        Message::GetData(data) => {
            // Only a file inside the home may come back; never one from outside.
            let mut body = Vec::new();
            while (body.len() as u64) < data.size {
                match client.next_frame().await {
                    Some(Frame::Body(bytes)) => body.extend_from_slice(&bytes),
                    other => panic!("download cut short: {other:?}"),
                }
            }
            assert!(matches!(client.recv().await, Message::GetEnd(_)));
            assert_eq!(
                body, b"bait",
                "a get returned something other than the home's bait"
            );
            None
        }
        _ => None,
    }
}

async fn assert_still_home(client: &mut RawClient) {
    let id = client.id();
    client.send(Message::Pwd(Pwd { id })).await;
    match client.recv().await {
        Message::Cwd(cwd) => assert_eq!(cwd.path, "~"),
        other => panic!("session broken: {other:?}"),
    }
}

/// Every request kind that takes a path, aimed at `path`.
fn requests(client: &mut RawClient, path: &str) -> Vec<Message> {
    let p = path.to_owned();
    vec![
        Message::Stat(Stat {
            id: client.id(),
            path: p.clone(),
            ..Default::default()
        }),
        Message::Ls(Ls {
            id: client.id(),
            path: Some(p.clone()),
        }),
        Message::Cd(Cd {
            id: client.id(),
            path: p.clone(),
        }),
        Message::Get(Get {
            id: client.id(),
            path: p.clone(),
            ..Default::default()
        }),
        Message::Rm(Rm {
            id: client.id(),
            path: p.clone(),
            recursive: true,
        }),
        Message::Rmdir(Rmdir {
            id: client.id(),
            path: p.clone(),
        }),
        Message::Mkdir(Mkdir {
            id: client.id(),
            path: p.clone(),
            parents: true,
        }),
        Message::Put(Put {
            id: client.id(),
            path: p.clone(),
            size: 0,
            ..Default::default()
        }),
        Message::Mv(Mv {
            id: client.id(),
            from: p.clone(),
            to: "moved".into(),
        }),
        Message::Mv(Mv {
            id: client.id(),
            from: "bait.txt".into(),
            to: p,
        }),
    ]
}

/// One form of the hostile-path corpus (`tests/data/hostile_paths.json`).
#[derive(serde::Deserialize)]
struct Form {
    path: String,
    /// An error code it must be refused with, or "contained" (may work,
    /// but only inside the home), or "not_followed" (a planted symlink that
    /// leads outside: reads and writes through it fail).
    expect: String,
    why: String,
}

/// Names and contents of every file under `dir`, except those `skip` names.
fn snapshot(dir: &std::path::Path, skip: impl Fn(&str) -> bool) -> Vec<(String, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .filter(|f| !skip(f))
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap_or_default();
            (f, bytes)
        })
        .collect()
}

async fn back_home(client: &mut RawClient) {
    let id = client.id();
    client
        .send(Message::Cd(Cd {
            id,
            path: "~".into(),
        }))
        .await;
    assert!(matches!(client.recv().await, Message::Cwd(_)));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hostile_path_corpus_is_refused_or_contained() {
    let corpus: Vec<Form> =
        serde_json::from_str(include_str!("data/hostile_paths.json")).expect("corpus");
    assert!(corpus.len() >= 100, "only {} forms", corpus.len());
    let server = TestServer::start().await;
    server.add_user("alice", "pw");
    server.add_user("bob", "pw");
    let outside = tempfile::tempdir().expect("outside dir");
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, b"outside secret").expect("outside file");
    std::fs::write(server.home("bob").join("bob.txt"), b"bob's file").expect("bob file");
    let home = server.home("alice");
    std::fs::write(home.join("bait.txt"), b"bait").expect("bait");
    std::fs::create_dir(home.join("dir")).expect("dir");
    // Symlinks an operator (or a restored backup) left in the home.
    for (target, link) in [
        (std::path::PathBuf::from("/etc"), "etc-link"),
        (outside.path().to_owned(), "outside-link"),
        (secret.clone(), "secret-link"),
        ("../../..".into(), "up-link"),
        (server.home("bob"), "bob-link"),
        ("secret-link".into(), "chain-link"),
        ("/".into(), "root-link"),
        (secret.clone(), "abs-secret-link"),
        ("loop-link".into(), "loop-link"),
        ("../../../..".into(), "dir/inner-up-link"),
        (server.staging("alice"), "staging-link"),
    ] {
        symlink(target, home.join(link)).expect("symlink");
    }
    let outside_before = snapshot(outside.path(), |_| false);
    // The database and the audit log change with every login and request;
    // what alice removes from her home goes to her trash.
    let elsewhere = |f: &str| {
        f.starts_with("homes/alice")
            || f.starts_with("kept/alice")
            || f.starts_with("users.db")
            || f == "audit.log"
    };
    let root_before = snapshot(&server.root, elsewhere);
    let passwd_before = std::fs::read("/etc/passwd").unwrap_or_default();

    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    for form in &corpus {
        let path = form.path.as_str();
        let what = format!("{path:?} ({})", form.why);
        match form.expect.as_str() {
            "contained" => {
                for request in requests(&mut client, path) {
                    code_of(&mut client, request).await;
                }
            }
            "not_followed" => {
                let mut reads = vec![
                    Message::Get(Get {
                        id: client.id(),
                        path: path.into(),
                        ..Default::default()
                    }),
                    Message::Ls(Ls {
                        id: client.id(),
                        path: Some(path.into()),
                    }),
                    Message::Cd(Cd {
                        id: client.id(),
                        path: path.into(),
                    }),
                ];
                for request in reads.drain(..) {
                    let kind = request.type_name();
                    let code = code_of(&mut client, request).await;
                    assert!(
                        matches!(
                            code,
                            Some(
                                ErrorCode::PermissionDenied
                                    | ErrorCode::NotFound
                                    | ErrorCode::NotADirectory
                            )
                        ),
                        "{kind} {what}: {code:?}"
                    );
                }
                let writes = vec![
                    Message::Put(Put {
                        id: client.id(),
                        path: format!("{path}/new.txt"),
                        ..Default::default()
                    }),
                    Message::Mkdir(Mkdir {
                        id: client.id(),
                        path: format!("{path}/newdir"),
                        parents: true,
                    }),
                    Message::Mv(Mv {
                        id: client.id(),
                        from: "bait.txt".into(),
                        to: format!("{path}/bait.txt"),
                    }),
                ];
                for request in writes {
                    let kind = request.type_name();
                    assert!(
                        code_of(&mut client, request).await.is_some(),
                        "{kind} through {what} accepted"
                    );
                }
                // Destructive requests only through links into scratch space.
                if path.contains('/')
                    && !["etc", "root", "up-link"].iter().any(|w| path.contains(w))
                {
                    let rm = Message::Rm(Rm {
                        id: client.id(),
                        path: path.into(),
                        recursive: true,
                    });
                    assert!(code_of(&mut client, rm).await.is_some(), "rm {what}");
                }
            }
            code => {
                let want: ErrorCode =
                    serde_json::from_value(serde_json::Value::String(code.into())).expect("code");
                for request in requests(&mut client, path) {
                    let kind = request.type_name();
                    assert_eq!(
                        code_of(&mut client, request).await,
                        Some(want),
                        "{kind} {what}"
                    );
                }
            }
        }
        back_home(&mut client).await;
        assert_still_home(&mut client).await;
    }

    assert_eq!(std::fs::read(&secret).expect("secret"), b"outside secret");
    assert!(
        outside_before == snapshot(outside.path(), |_| false),
        "something outside changed"
    );
    assert!(
        root_before == snapshot(&server.root, elsewhere),
        "something elsewhere in the data directory changed"
    );
    assert_eq!(
        std::fs::read("/etc/passwd").unwrap_or_default(),
        passwd_before
    );
    for link in ["etc-link", "secret-link", "up-link", "staging-link"] {
        assert!(
            home.join(link).symlink_metadata().is_ok(),
            "{link} is still a link"
        );
    }
    server.shutdown().await;
}

/// A second client can still log in and work.
async fn assert_server_serves(server: &TestServer) {
    let mut other = RawClient::login(server.addr, "alice", "pw").await;
    assert_still_home(&mut other).await;
}

fn frame(json: &[u8]) -> Vec<u8> {
    let mut out = (json.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(json);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_frames_get_an_error_then_a_close() {
    let server = TestServer::start().await;
    server.add_user("alice", "pw");
    let cases: Vec<(Vec<u8>, ErrorCode, Option<u64>)> = vec![
        (u32::MAX.to_le_bytes().to_vec(), ErrorCode::TooLarge, None),
        (frame(b"{not json"), ErrorCode::BadRequest, None),
        (frame(b"\xff\xfe\xfd"), ErrorCode::BadRequest, None),
        (
            frame(br#"{"type":"frobnicate","id":41}"#),
            ErrorCode::BadRequest,
            Some(41),
        ),
        (
            frame(br#"{"type":"mkdir","id":42}"#),
            ErrorCode::BadRequest,
            Some(42),
        ),
        (
            frame(br#"{"type":"mkdir","id":"x","path":"a"}"#),
            ErrorCode::BadRequest,
            None,
        ),
        (frame(b"[1,2,3]"), ErrorCode::BadRequest, None),
        (vec![0, 0, 0, 0], ErrorCode::BadRequest, None),
        // A request where login is expected.
        (
            frame(br#"{"type":"pwd","id":43}"#),
            ErrorCode::BadRequest,
            Some(43),
        ),
    ];
    for (bytes, code, id) in cases {
        let (mut client, _) = RawClient::connect_hello(server.addr).await;
        client.send_raw(&bytes).await;
        match client.next_frame().await {
            Some(Frame::Message(Message::Error(e))) => {
                assert_eq!(
                    (e.code, e.id),
                    (code, id),
                    "{:?}",
                    String::from_utf8_lossy(&bytes)
                );
            }
            other => panic!("expected an error for {bytes:?}, got {other:?}"),
        }
        client.expect_closed().await;
    }
    // The same after login.
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    client.send_raw(&frame(br#"{"type":"nope","id":9}"#)).await;
    assert!(
        matches!(client.recv().await, Message::Error(e) if e.code == ErrorCode::BadRequest && e.id == Some(9))
    );
    client.expect_closed().await;

    let (mut old, _) = RawClient::connect_hello(server.addr).await;
    old.send_raw(&frame(br#"{"type":"login","id":1,"protocol":99,"mechanism":"SCRAM-SHA-256","data":"n,,n=alice,r=abc"}"#))
        .await;
    assert!(
        matches!(old.recv().await, Message::Error(e) if e.code == ErrorCode::UnsupportedVersion)
    );
    old.expect_closed().await;
    assert_server_serves(&server).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_upload_leaves_nothing_and_a_bad_hash_keeps_the_old_file() {
    let server = TestServer::start().await;
    server.add_user("alice", "pw");
    let target = server.home("alice").join("doc.txt");
    std::fs::write(&target, b"version one").expect("old file");

    // Announce 1 MiB, send 100 KiB, drop the connection.
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    client.start_upload("doc.txt", 1 << 20).await;
    client.send_raw(&vec![b'x'; 100 * 1024]).await;
    drop(client);
    // The server removes the staging file when it notices; poll the
    // observable state, bounded.
    let mut clean = false;
    for _ in 0..400 {
        if files_under(&server.staging("alice")).is_empty() {
            clean = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        clean,
        "staging file left behind: {:?}",
        files_under(&server.staging("alice"))
    );
    assert_eq!(std::fs::read(&target).expect("target"), b"version one");

    // A wrong hash: integrity, old file intact, same connection still works.
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    let id = client.start_upload("doc.txt", 11).await;
    client.send_raw(b"version two").await;
    let wrong = blake3::hash(b"something else").to_hex().to_string();
    let reply = client.end_upload(id, wrong).await;
    assert!(
        matches!(&reply, Message::Error(e) if e.code == ErrorCode::Integrity && e.id == Some(id)),
        "{reply:?}"
    );
    assert_eq!(std::fs::read(&target).expect("target"), b"version one");
    assert_still_home(&mut client).await;

    // The right hash replaces it.
    let id = client.start_upload("doc.txt", 11).await;
    client.send_raw(b"version two").await;
    let hash = blake3::hash(b"version two").to_hex().to_string();
    match client.end_upload(id, hash.clone()).await {
        Message::PutDone(done) => assert_eq!(
            (done.path.as_str(), done.size, done.blake3),
            ("~/doc.txt", 11, hash)
        ),
        other => panic!("got {other:?}"),
    }
    assert_eq!(std::fs::read(&target).expect("target"), b"version two");

    // put_data that disagrees with put: protocol error, closed, nothing left.
    let id = client.id();
    client
        .send(Message::Put(Put {
            id,
            path: "other.txt".into(),
            size: 10,
            ..Default::default()
        }))
        .await;
    assert!(matches!(client.recv().await, Message::PutReady(_)));
    client
        .send(Message::PutData(PutData {
            id,
            size: 5,
            ..Default::default()
        }))
        .await;
    assert!(matches!(client.recv().await, Message::Error(e) if e.code == ErrorCode::BadRequest));
    client.expect_closed().await;
    assert!(!server.home("alice").join("other.txt").exists());
    assert_server_serves(&server).await;
    server.shutdown().await;
}

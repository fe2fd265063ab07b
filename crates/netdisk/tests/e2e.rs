//! The client library against a real server: verified round trips of
//! several sizes, isolation between users, and many clients at once.

mod common;

use common::*;
use netdisk_client::{Client, NetStream};
use netdisk_proto::ErrorCode;
use std::path::Path;

async fn login(server: &TestServer, user: &str, password: &str) -> Client<NetStream> {
    let mut client = Client::connect(&server.addr.to_string(), &server.transport())
        .await
        .expect("connect");
    client.login(user, password).await.expect("login");
    client
}

async fn round_trip(
    client: &mut Client<NetStream>,
    server: &TestServer,
    name: &str,
    content: &[u8],
) {
    let local = server.scratch("rt");
    let source = local.join(name);
    write_file(&source, content);
    let put = client
        .put_file(&source, name, false, None)
        .await
        .expect("put");
    let want = blake3::hash(content).to_hex().to_string();
    assert_eq!(put.size, content.len() as u64);
    assert_eq!(put.blake3, want);
    let stored = std::fs::read(server.home("alice").join(name)).expect("stored file");
    assert!(stored == content, "stored bytes differ for {name}");

    let target = local.join(format!("{name}.back"));
    let got = client
        .get_file(name, &target, false, None)
        .await
        .expect("get");
    assert_eq!(got.blake3, want);
    assert_eq!(got.size, content.len() as u64);
    let back = std::fs::read(&target).expect("downloaded");
    assert!(back == content, "downloaded bytes differ for {name}");
    assert_no_temp_files(&local);
}

fn assert_no_temp_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains("netdisk-part"),
            "temporary file left behind: {name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn round_trips_empty_small_and_100_mib() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let mut client = login(&server, "alice", "pw").await;
    round_trip(&mut client, &server, "empty.bin", b"").await;
    round_trip(&mut client, &server, "small.txt", b"hello, netdisk\n").await;
    round_trip(
        &mut client,
        &server,
        "big.bin",
        &pattern(100 * 1024 * 1024, 7),
    )
    .await;
    // The session is still usable after large transfers.
    let listing = client.ls(None).await.expect("ls");
    let names: Vec<_> = listing.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["big.bin", "empty.bin", "small.txt"]);
    let usage = client.df().await.expect("df");
    assert_eq!(usage.used, 100 * 1024 * 1024 + 15);
    assert_eq!(usage.quota, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn users_cannot_reach_each_other() {
    let server = TestServer::start();
    server.add_user("alice", "pw-a");
    server.add_user("bob", "pw-b");
    let mut bob = login(&server, "bob", "pw-b").await;
    let local = server.scratch("bob");
    write_file(&local.join("secret.txt"), b"bob's secret");
    bob.put_file(&local.join("secret.txt"), "secret.txt", false, None)
        .await
        .expect("bob put");

    let mut alice = login(&server, "alice", "pw-a").await;
    assert!(
        alice.ls(None).await.expect("ls").entries.is_empty(),
        "alice sees an empty home"
    );
    for path in [
        "../bob/secret.txt",
        "~/../bob/secret.txt",
        "/homes/bob/secret.txt",
        "secret.txt",
    ] {
        let err = alice.stat(path).await.expect_err(path);
        assert!(
            matches!(
                err.code(),
                Some(ErrorCode::PermissionDenied | ErrorCode::NotFound)
            ),
            "{path}: {err}"
        );
        let target = server.scratch("alice").join("stolen");
        assert!(
            alice.get_file(path, &target, false, None).await.is_err(),
            "{path}"
        );
        assert!(!target.exists());
        assert!(alice.rm(path).await.is_err(), "{path}");
    }
    assert_eq!(
        std::fs::read(server.home("bob").join("secret.txt")).expect("bob's file"),
        b"bob's secret"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn error_codes() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let wrong = async {
        let mut client = Client::connect(&server.addr.to_string(), &server.transport())
            .await
            .expect("connect");
        client
            .login("alice", "nope")
            .await
            .expect_err("wrong password")
    }
    .await;
    assert_eq!(wrong.code(), Some(ErrorCode::AuthFailed));
    let unknown = async {
        let mut client = Client::connect(&server.addr.to_string(), &server.transport())
            .await
            .expect("connect");
        client
            .login("nobody", "pw")
            .await
            .expect_err("unknown user")
    }
    .await;
    assert_eq!(unknown.code(), Some(ErrorCode::AuthFailed));
    assert_eq!(unknown.to_string(), wrong.to_string());

    let mut c = login(&server, "alice", "pw").await;
    c.mkdir("d", false).await.expect("mkdir");
    assert_eq!(
        c.mkdir("d", false).await.expect_err("dup").code(),
        Some(ErrorCode::Exists)
    );
    c.mkdir("d/e/f", true).await.expect("mkdir -p");
    assert_eq!(
        c.rmdir("d").await.expect_err("non-empty").code(),
        Some(ErrorCode::NotEmpty)
    );
    let target = server.scratch("x").join("missing");
    assert_eq!(
        c.get_file("missing.bin", &target, false, None)
            .await
            .expect_err("missing")
            .code(),
        Some(ErrorCode::NotFound)
    );
    assert!(!target.exists());
    assert_eq!(c.cd("d/e").await.expect("cd"), "~/d/e");
    assert_eq!(c.pwd().await.expect("pwd"), "~/d/e");
    c.rmdir("f").await.expect("rmdir");
}

#[tokio::test(flavor = "multi_thread")]
async fn thirty_two_clients_at_once() {
    let server = TestServer::start();
    for i in 0..4 {
        server.add_user(&format!("user{i}"), "pw");
    }
    let local = server.scratch("many");
    let mut tasks = Vec::new();
    for n in 0..32u8 {
        let addr = server.addr.to_string();
        let transport = server.transport();
        let dir = local.join(format!("c{n}"));
        std::fs::create_dir_all(&dir).expect("dir");
        tasks.push(tokio::spawn(async move {
            let user = format!("user{}", n % 4);
            let mut client = Client::connect(&addr, &transport).await.expect("connect");
            client.login(&user, "pw").await.expect("login");
            let content = pattern(64 * 1024 + usize::from(n), n);
            let name = format!("file{n}.bin");
            write_file(&dir.join(&name), &content);
            client
                .put_file(&dir.join(&name), &name, false, None)
                .await
                .expect("put");
            let back = dir.join("back.bin");
            client
                .get_file(&name, &back, false, None)
                .await
                .expect("get");
            assert!(
                std::fs::read(&back).expect("read back") == content,
                "client {n}: content differs"
            );
            let listing = client.ls(None).await.expect("ls");
            assert!(
                listing.entries.iter().any(|e| e.name == name),
                "client {n}: not listed"
            );
        }));
    }
    for task in tasks {
        tokio::time::timeout(LIMIT, task)
            .await
            .expect("in time")
            .expect("client task");
    }
    for i in 0..4 {
        let listing = std::fs::read_dir(server.home(&format!("user{i}")))
            .expect("home")
            .count();
        assert_eq!(listing, 8, "user{i} has its 8 files");
    }
}

//! Interrupted transfers continue where they stopped, after proving the
//! kept bytes are the same on both sides; otherwise they start over and
//! say why. Includes a server killed with SIGKILL mid-transfer.

mod common;

use common::*;
use netdisk_client::{Client, NetStream, Transport};
use std::time::{Duration, SystemTime};

const MIB: u64 = 1024 * 1024;

async fn login(addr: &str, transport: &Transport, user: &str) -> Client<NetStream> {
    let mut client = Client::connect(addr, transport).await.expect("connect");
    client.login(user, "pw").await.expect("login");
    client
}

/// Sets a file's modification time (part of a source's identity on resume).
fn set_mtime(path: &std::path::Path, time: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(time)
        .expect("mtime");
}

/// Waits (bounded) until the server has written `min` kept bytes for alice.
async fn kept_bytes(server: &TestServer, min: u64) -> u64 {
    for _ in 0..400 {
        let kept: u64 = std::fs::read_dir(server.root.join("staging/alice"))
            .expect("staging")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        if kept >= min {
            return kept;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server never kept {min} bytes");
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_uploads_resume_at_several_offsets() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("up").join("data.bin");
    let content = pattern(8 * MIB as usize, 11);
    write_file(&local, &content);
    let addr = server.addr.to_string();
    for (round, cut_at) in [MIB, 3 * MIB, 6 * MIB].into_iter().enumerate() {
        let remote = format!("data{round}.bin");
        cut_upload(&addr, &server.transport(), &local, &remote, true, cut_at).await;
        let kept = kept_bytes(&server, 1).await;
        assert!(
            !server.home("alice").join(&remote).exists(),
            "nothing under the name before it completes"
        );
        // Partial uploads are invisible to ls but count as used space.
        let mut client = login(&addr, &server.transport(), "alice").await;
        let listing = client.ls(None).await.expect("ls");
        assert!(
            listing.entries.iter().all(|e| e.name != remote),
            "partial listed"
        );
        let usage = client.df().await.expect("df");
        // Until the server notices the cut the bytes are still reserved;
        // afterwards they are used. Either way they are accounted for.
        assert!(
            usage.used + usage.reserved >= kept,
            "partial bytes count: used {} reserved {} kept {kept}",
            usage.used,
            usage.reserved
        );

        let done = client
            .put_file(&local, &remote, true, None)
            .await
            .expect("resume");
        assert!(
            done.resumed_from > 0 && done.resumed_from <= 8 * MIB,
            "{done:?}"
        );
        assert_eq!(done.restarted, None);
        assert_eq!(done.blake3, blake3::hash(&content).to_hex().to_string());
        assert!(std::fs::read(server.home("alice").join(&remote)).expect("stored") == content);
        let staging = std::fs::read_dir(server.root.join("staging/alice"))
            .expect("staging")
            .count();
        assert_eq!(staging, 0, "partial and its sidecar are gone after commit");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_source_or_different_prefix_restarts_from_zero() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let addr = server.addr.to_string();
    let local = server.scratch("up").join("doc.bin");
    let first = pattern(4 * MIB as usize, 1);
    write_file(&local, &first);
    let stamp = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    set_mtime(&local, stamp);

    // Same size and time, different bytes: the client sees the prefix differ.
    cut_upload(&addr, &server.transport(), &local, "doc.bin", true, 2 * MIB).await;
    kept_bytes(&server, 1).await;
    let second = pattern(4 * MIB as usize, 2);
    write_file(&local, &second);
    set_mtime(&local, stamp);
    let mut client = login(&addr, &server.transport(), "alice").await;
    let done = client
        .put_file(&local, "doc.bin", true, None)
        .await
        .expect("put");
    assert_eq!(done.resumed_from, 0);
    assert!(
        done.restarted.as_deref().unwrap_or("").contains("differ"),
        "{done:?}"
    );
    assert!(std::fs::read(server.home("alice").join("doc.bin")).expect("stored") == second);

    // A new modification time: the server discards the kept bytes itself.
    cut_upload(
        &addr,
        &server.transport(),
        &local,
        "doc2.bin",
        true,
        2 * MIB,
    )
    .await;
    kept_bytes(&server, 1).await;
    set_mtime(&local, stamp + Duration::from_secs(60));
    let done = client
        .put_file(&local, "doc2.bin", true, None)
        .await
        .expect("put");
    assert_eq!(done.resumed_from, 0);
    assert!(
        done.restarted.as_deref().unwrap_or("").contains("changed"),
        "{done:?}"
    );
    assert!(std::fs::read(server.home("alice").join("doc2.bin")).expect("stored") == second);

    // Without resume a cut upload leaves nothing behind.
    cut_upload(&addr, &server.transport(), &local, "plain.bin", false, MIB).await;
    let mut empty = false;
    for _ in 0..400 {
        if std::fs::read_dir(server.root.join("staging/alice"))
            .expect("staging")
            .count()
            == 0
        {
            empty = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(empty, "a plain cut upload left a staging file");
}

#[tokio::test(flavor = "multi_thread")]
async fn downloads_resume_from_a_verified_prefix() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let content = pattern(5 * MIB as usize, 9);
    std::fs::write(server.home("alice").join("movie.bin"), &content).expect("remote file");
    let modified = std::fs::metadata(server.home("alice").join("movie.bin"))
        .expect("meta")
        .modified()
        .expect("mtime")
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("epoch")
        .as_secs();
    let dir = server.scratch("down");
    let target = dir.join("movie.bin");
    let part = dir.join(format!(
        ".movie.bin.netdisk-part.{}.{modified}",
        content.len()
    ));
    let mut client = login(&server.addr.to_string(), &server.transport(), "alice").await;

    // A kept prefix that matches: only the rest is sent.
    write_file(&part, &content[..2 * MIB as usize]);
    let done = client
        .get_file("movie.bin", &target, true, None)
        .await
        .expect("get");
    assert_eq!(done.resumed_from, 2 * MIB);
    assert!(std::fs::read(&target).expect("file") == content);
    assert!(!part.exists());

    // A kept prefix that differs: the server says so and sends everything.
    std::fs::remove_file(&target).expect("rm");
    let mut wrong = content[..MIB as usize].to_vec();
    wrong[10] ^= 0xff;
    write_file(&part, &wrong);
    let done = client
        .get_file("movie.bin", &target, true, None)
        .await
        .expect("get");
    assert_eq!(done.resumed_from, 0);
    assert!(
        done.restarted.as_deref().unwrap_or("").contains("differ"),
        "{done:?}"
    );
    assert!(std::fs::read(&target).expect("file") == content);

    // A prefix of another version of the file (other size in its name).
    let stale = dir.join(format!(
        ".movie.bin.netdisk-part.{}.{modified}",
        content.len() + 1
    ));
    write_file(&stale, &content[..MIB as usize]);
    let done = client
        .get_file("movie.bin", &target, true, None)
        .await
        .expect("get");
    assert_eq!(done.resumed_from, 0);
    assert!(
        done.restarted.as_deref().unwrap_or("").contains("changed"),
        "{done:?}"
    );
    assert!(!stale.exists(), "stale partial removed");

    // --no-resume ignores and removes a kept prefix.
    write_file(&part, &content[..MIB as usize]);
    let done = client
        .get_file("movie.bin", &target, false, None)
        .await
        .expect("get");
    assert_eq!((done.resumed_from, done.restarted), (0, None));
    assert!(!part.exists());
    assert!(std::fs::read(&target).expect("file") == content);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_upload_resumes_after_restart_and_usage_matches_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    add_user(&root, "alice", "pw", None);
    let local = dir.path().join("big.bin");
    let content = pattern(32 * MIB as usize, 5);
    write_file(&local, &content);

    let server = ServerProcess::start(&root);
    let pid = server.child.id();
    let mut client = login(
        &server.addr,
        &transport_for(Some(server.fingerprint)),
        "alice",
    )
    .await;
    let mut killed = false;
    let mut kill_at_half = |sent: u64, _total: u64| {
        if !killed && sent >= 16 * MIB {
            sigkill(pid);
            killed = true;
        }
    };
    let cut = client
        .put_file(&local, "big.bin", true, Some(&mut kill_at_half))
        .await;
    assert!(cut.is_err(), "the upload survived a killed server");
    drop(server);
    assert!(!root.join("homes/alice/big.bin").exists());

    let server = ServerProcess::start(&root);
    let out = run(
        netdisk()
            .arg("put")
            .arg(&local)
            .env("NETDISK_SERVER", &server.addr)
            .env("NETDISK_FINGERPRINT", server.fingerprint.to_string())
            .env("NETDISK_USER", "alice")
            .env("NETDISK_PASSWORD", "pw"),
        "",
    );
    out.ok();
    let resumed: u64 = out
        .stderr
        .split("resuming at ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'resuming at N bytes' in: {}", out.stderr));
    assert!(resumed > 0 && resumed < 32 * MIB, "resumed at {resumed}");
    assert!(std::fs::read(root.join("homes/alice/big.bin")).expect("stored") == content);

    let df = run(
        netdisk()
            .arg("df")
            .env("NETDISK_SERVER", &server.addr)
            .env("NETDISK_FINGERPRINT", server.fingerprint.to_string())
            .env("NETDISK_USER", "alice")
            .env("NETDISK_PASSWORD", "pw"),
        "",
    );
    let on_disk: u64 = 32 * MIB;
    assert!(
        df.ok().stdout.contains(&format!("({on_disk} bytes)")),
        "{}",
        df.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_cut_by_a_killed_server_resumes_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    add_user(&root, "alice", "pw", None);
    let content = pattern(32 * MIB as usize, 8);
    std::fs::write(root.join("homes/alice/film.bin"), &content).expect("remote file");
    let target = dir.path().join("film.bin");

    let server = ServerProcess::start(&root);
    let pid = server.child.id();
    let mut client = login(
        &server.addr,
        &transport_for(Some(server.fingerprint)),
        "alice",
    )
    .await;
    let mut killed = false;
    let mut kill_at_half = |got: u64, _total: u64| {
        if !killed && got >= 16 * MIB {
            sigkill(pid);
            killed = true;
        }
    };
    assert!(client
        .get_file("film.bin", &target, true, Some(&mut kill_at_half))
        .await
        .is_err());
    drop(server);
    assert!(
        !target.exists(),
        "an unfinished download is not under the target name"
    );

    let server = ServerProcess::start(&root);
    let out = run(
        netdisk()
            .arg("get")
            .arg("film.bin")
            .arg(&target)
            .env("NETDISK_SERVER", &server.addr)
            .env("NETDISK_FINGERPRINT", server.fingerprint.to_string())
            .env("NETDISK_USER", "alice")
            .env("NETDISK_PASSWORD", "pw"),
        "",
    );
    out.ok();
    assert!(out.stderr.contains("resuming at "), "{}", out.stderr);
    assert!(std::fs::read(&target).expect("downloaded") == content);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("netdisk-part"))
        .collect();
    assert!(leftovers.is_empty(), "partial left behind");
}

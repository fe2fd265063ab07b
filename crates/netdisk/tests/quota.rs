//! Quotas: reserved atomically before an upload starts, freed at once by
//! deletes and overwrites, equal to the bytes on disk.

mod common;

use common::*;
use netdisk_client::{Client, NetStream};
use netdisk_proto::ErrorCode;
use std::time::Duration;

const MIB: u64 = 1024 * 1024;

async fn login(server: &TestServer, user: &str) -> Client<NetStream> {
    let mut client = Client::connect(&server.addr.to_string(), &server.transport())
        .await
        .expect("connect");
    client.login(user, "pw").await.expect("login");
    client
}

fn bytes_on_disk(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for item in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let meta = item.metadata().expect("meta");
            if meta.is_dir() {
                pending.push(item.path());
            } else {
                total += meta.len();
            }
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_racing_uploads_never_pass_the_quota() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    server.set_quota("alice", Some(10 * MIB + MIB / 2));
    let local = server.scratch("race").join("one.bin");
    write_file(&local, &pattern(MIB as usize, 4));
    let mut tasks = Vec::new();
    for n in 0..16 {
        let addr = server.addr.to_string();
        let transport = server.transport();
        let local = local.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(&addr, &transport).await.expect("connect");
            client.login("alice", "pw").await.expect("login");
            client
                .put_file(&local, &format!("f{n}.bin"), true, None)
                .await
        }));
    }
    let (mut won, mut lost) = (0, 0);
    for task in tasks {
        match tokio::time::timeout(LIMIT, task)
            .await
            .expect("in time")
            .expect("task")
        {
            Ok(_) => won += 1,
            Err(e) => {
                assert_eq!(e.code(), Some(ErrorCode::QuotaExceeded), "{e}");
                lost += 1;
            }
        }
    }
    assert_eq!((won, lost), (10, 6));
    let home = server.home("alice");
    assert_eq!(bytes_on_disk(&home), 10 * MIB, "committed total");
    assert_eq!(
        bytes_on_disk(&server.root.join("staging/alice")),
        0,
        "losers leave nothing"
    );
    let usage = login(&server, "alice").await.df().await.expect("df");
    assert_eq!(
        (usage.used, usage.reserved, usage.quota),
        (10 * MIB, 0, Some(10 * MIB + MIB / 2))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn over_quota_is_refused_cleanly_and_the_trash_makes_room() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    server.set_quota("alice", Some(3 * MIB));
    let dir = server.scratch("q");
    let (small, big) = (dir.join("small.bin"), dir.join("big.bin"));
    write_file(&small, &pattern(2 * MIB as usize, 1));
    write_file(&big, &pattern(4 * MIB as usize, 2));
    let mut client = login(&server, "alice").await;
    client
        .put_file(&small, "a.bin", true, None)
        .await
        .expect("fits");
    let err = client
        .put_file(&small, "b.bin", true, None)
        .await
        .expect_err("over");
    assert_eq!(err.code(), Some(ErrorCode::QuotaExceeded));
    assert!(err.to_string().contains("quota"), "{err}");
    // Nothing left behind, and the connection still works.
    assert!(!server.home("alice").join("b.bin").exists());
    assert_eq!(bytes_on_disk(&server.root.join("staging/alice")), 0);
    assert_eq!(client.df().await.expect("df").used, 2 * MIB);
    // Overwriting a file counts its bytes as freed at the commit: with
    // 1 MiB free, a 2 MiB file over the 2 MiB one fits, by `put` and by
    // `put_small`, and the usage stays what is on disk.
    client
        .put_file(&small, "a.bin", true, None)
        .await
        .expect("an overwrite of the same size fits");
    assert_eq!(client.df().await.expect("df").used, 2 * MIB);
    let photo = dir.join("photo.jpg");
    write_file(&photo, &pattern(MIB as usize, 3));
    client
        .put_file(&photo, "p.jpg", false, None)
        .await
        .expect("fits");
    // 3 MiB used of 3: only an overwrite can still go up.
    let overwrite = [netdisk_client::SmallUpload {
        remote: "p.jpg".into(),
        local: photo.clone(),
    }];
    let mut results = Vec::new();
    client
        .put_small_files(&overwrite, |_, result| results.push(result.map(|_| ())))
        .await
        .expect("batch");
    assert!(matches!(results.as_slice(), [Ok(())]), "{results:?}");
    let elsewhere = [netdisk_client::SmallUpload {
        remote: "q.jpg".into(),
        local: photo,
    }];
    let mut results = Vec::new();
    client
        .put_small_files(&elsewhere, |_, result| {
            results.push(result.err().and_then(|e| e.code()))
        })
        .await
        .expect("batch");
    assert_eq!(
        results,
        [Some(ErrorCode::QuotaExceeded)],
        "a new file does not fit"
    );
    assert_eq!(client.df().await.expect("df").used, 3 * MIB);
    assert_eq!(bytes_on_disk(&server.home("alice")), 3 * MIB);
    client.rm("p.jpg").await.expect("rm");
    client.rm("a.bin").await.expect("rm");
    let usage = client.df().await.expect("df");
    assert_eq!(
        (usage.used, usage.trash),
        (3 * MIB, 3 * MIB),
        "removed files wait in the trash, counted"
    );
    client
        .put_file(&small, "c.bin", true, None)
        .await
        .expect("fits again: the trash makes room");
    let usage = client.df().await.expect("df");
    assert_eq!((usage.used, usage.trash), (2 * MIB, 0));
    assert_eq!(
        client
            .put_file(&big, "d.bin", true, None)
            .await
            .expect_err("too big")
            .code(),
        Some(ErrorCode::QuotaExceeded)
    );

    // The quota can change while the server runs.
    server.set_quota("alice", None);
    client
        .put_file(&big, "d.bin", true, None)
        .await
        .expect("unlimited now");
    let usage = client.df().await.expect("df");
    assert_eq!((usage.used, usage.quota), (6 * MIB, None));
    // mv over an existing file keeps the replaced one as a version,
    // counted; purging the versions frees it.
    client.mv("c.bin", "d.bin").await.expect("mv");
    let usage = client.df().await.expect("df");
    assert_eq!((usage.used, usage.versions), (6 * MIB, 4 * MIB));
    assert_eq!(bytes_on_disk(&server.home("alice")), 2 * MIB);
    client.versions_purge("d.bin", None).await.expect("purge");
    assert_eq!(client.df().await.expect("df").used, 2 * MIB);
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_partials_count_and_expire() {
    let server = TestServer::start_with(|config| config.partial_ttl = Duration::from_secs(1));
    server.add_user("alice", "pw");
    let local = server.scratch("p").join("part.bin");
    write_file(&local, &pattern(4 * MIB as usize, 3));
    cut_upload(
        &server.addr.to_string(),
        &server.transport(),
        &local,
        "part.bin",
        true,
        2 * MIB,
    )
    .await;

    let mut client = login(&server, "alice").await;
    // The kept bytes count as used until the sweeper expires them (it
    // runs every second with this TTL): poll the observable usage, bounded.
    let mut seen_kept = false;
    let mut expired = false;
    for _ in 0..400 {
        let usage = client.df().await.expect("df");
        seen_kept |= usage.used > 0;
        if seen_kept && usage.used == 0 {
            expired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(seen_kept, "kept partial bytes were never counted");
    assert!(expired, "the partial never expired");
    assert_eq!(bytes_on_disk(&server.root.join("staging/alice")), 0);
}

/// #16: a kept partial shows in `df` as its own figure, and a complete
/// upload of the same target, plain or small, releases it and its quota.
#[tokio::test(flavor = "multi_thread")]
async fn a_completed_upload_releases_the_kept_partial_of_its_target() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let dir = server.scratch("kept");
    let (big, small) = (dir.join("big.bin"), dir.join("small.bin"));
    write_file(&big, &pattern(4 * MIB as usize, 5));
    write_file(&small, &pattern(1000, 6));
    let mut client = login(&server, "alice").await;
    for (target, local) in [("plain.bin", &big), ("small.bin", &small)] {
        cut_upload(
            &server.addr.to_string(),
            &server.transport(),
            &big,
            target,
            true,
            2 * MIB,
        )
        .await;
        // The cut session lets go of its partial once it notices the cut
        // (then its reservation ends); until then the partial is claimed
        // and a commit leaves it alone. Poll the observable usage, bounded.
        let mut usage = client.df().await.expect("df");
        for _ in 0..400 {
            if usage.reserved == 0 && usage.partials >= 2 * MIB {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
            usage = client.df().await.expect("df");
        }
        assert!(
            usage.reserved == 0 && usage.partials >= 2 * MIB,
            "df shows the kept bytes: {usage:?}"
        );
        let committed = if local == &small {
            let files = [netdisk_client::SmallUpload {
                remote: target.into(),
                local: small.clone(),
            }];
            let mut ok = false;
            client
                .put_small_files(&files, |_, result| ok = result.is_ok())
                .await
                .expect("batch");
            ok
        } else {
            client.put_file(&big, target, false, None).await.is_ok()
        };
        assert!(committed, "{target} uploaded");
        let usage = client.df().await.expect("df");
        assert_eq!(usage.partials, 0, "{target}: the partial was released");
        assert_eq!(
            usage.used,
            bytes_on_disk(&server.home("alice")),
            "{target}: used is what the home holds"
        );
    }
    assert_eq!(bytes_on_disk(&server.root.join("staging/alice")), 0);
}

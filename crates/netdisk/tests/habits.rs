//! #16's habits of sftp, scp and rsync users: kept partial uploads they
//! can see and discard, times (and with -p modes) kept both ways,
//! incremental re-runs, dry runs, filters, remote wildcards, and standard
//! input and output as files.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

const MIB: u64 = 1024 * 1024;

fn set_mtime(path: &Path, secs: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .expect("set mtime");
}

fn mtime(path: &Path) -> u64 {
    std::fs::metadata(path)
        .expect("metadata")
        .modified()
        .expect("mtime")
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn netdisk_json(server: &TestServer, args: &[&str]) -> Vec<serde_json::Value> {
    let out = run(
        netdisk_as(server, "alice", "pw").arg("--json").args(args),
        "",
    );
    out.ok();
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_partials_are_listed_discarded_and_credited_to_a_fresh_upload() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    server.set_quota("alice", Some(10 * MIB));
    let local = server.scratch("partials");
    let big = local.join("big.bin");
    write_file(&big, &pattern(6 * MIB as usize, 3));
    cut_upload(
        &server.addr.to_string(),
        &server.transport(),
        &big,
        "big.bin",
        true,
        4 * MIB,
    )
    .await;
    // The cut session lets go of the partial once it notices the cut: poll.
    let mut listed = Vec::new();
    for _ in 0..400 {
        listed = netdisk_json(&server, &["partials", "ls"]);
        if listed.len() == 1 && listed[0]["active"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["path"], "~/big.bin");
    assert_eq!(listed[0]["size"], 6 * MIB);
    let kept = listed[0]["kept"].as_u64().expect("kept");
    assert!(kept >= 4 * MIB, "{kept}");
    assert!(listed[0]["expires"].as_i64().expect("expires") > 0);
    let text = run(
        netdisk_as(&server, "alice", "pw").args(["partials", "ls"]),
        "",
    );
    assert!(
        text.ok().stdout.contains("~/big.bin") && text.stdout.contains("kept until"),
        "{}",
        text.stdout
    );

    // 6 MiB more does not fit beside the kept bytes in 10 MiB; a fresh
    // upload discards them first and fits.
    run(
        netdisk_as(&server, "alice", "pw").args(["put", "--no-resume", big.to_str().unwrap()]),
        "",
    )
    .ok();
    let usage = &netdisk_json(&server, &["df"])[0];
    assert_eq!(usage["used"], 6 * MIB, "{usage}");
    assert_eq!(usage["partials"], 0, "{usage}");
    assert!(netdisk_json(&server, &["partials", "ls"]).is_empty());

    // partials rm frees the bytes; a target without one is an error.
    let mid = local.join("mid.bin");
    write_file(&mid, &pattern(3 * MIB as usize, 4));
    cut_upload(
        &server.addr.to_string(),
        &server.transport(),
        &mid,
        "again.bin",
        true,
        2 * MIB,
    )
    .await;
    let mut usage = netdisk_json(&server, &["df"]).remove(0);
    for _ in 0..400 {
        if usage["partials"].as_u64() >= Some(2 * MIB) && usage["reserved"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        usage = netdisk_json(&server, &["df"]).remove(0);
    }
    assert!(usage["partials"].as_u64() >= Some(2 * MIB), "{usage}");
    run(
        netdisk_as(&server, "alice", "pw").args(["partials", "rm", "again.bin"]),
        "",
    )
    .ok();
    let usage = &netdisk_json(&server, &["df"])[0];
    assert_eq!(usage["partials"], 0, "{usage}");
    assert_eq!(usage["used"], 6 * MIB, "{usage}");
    let missing = run(
        netdisk_as(&server, "alice", "pw").args(["partials", "rm", "again.bin"]),
        "",
    );
    assert_eq!(missing.status.code(), Some(1), "{}", missing.stderr);
    assert!(
        missing.stderr.contains("no interrupted upload"),
        "{}",
        missing.stderr
    );
    let audit = std::fs::read_to_string(server.root.join("audit.log")).unwrap_or_default();
    assert!(
        audit.contains("\"event\":\"partial_remove\""),
        "partial_rm is audited: {audit}"
    );
}

#[test]
fn modification_times_are_kept_both_ways_and_modes_with_p() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("times");
    let (small, large) = (local.join("small.txt"), local.join("large.bin"));
    write_file(&small, b"a small file\n");
    write_file(&large, &pattern(3 * MIB as usize, 9));
    for (file, secs) in [(&small, 1_500_000_000), (&large, 1_400_000_000)] {
        set_mtime(file, secs);
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o750)).expect("chmod");
    }
    let sources = [small.to_str().unwrap(), large.to_str().unwrap(), "."];
    run(
        netdisk_as(&server, "alice", "pw").arg("put").args(sources),
        "",
    )
    .ok();
    let home = server.home("alice");
    assert_eq!(
        mtime(&home.join("small.txt")),
        1_500_000_000,
        "put_small keeps the time"
    );
    assert_eq!(
        mtime(&home.join("large.bin")),
        1_400_000_000,
        "put keeps the time"
    );
    assert_ne!(mode(&home.join("small.txt")), 0o750, "modes only with -p");

    let stat = &netdisk_json(&server, &["stat", "large.bin"])[0];
    assert_eq!(stat["modified"], 1_400_000_000);
    let expected = blake3::hash(&std::fs::read(&large).expect("read"))
        .to_hex()
        .to_string();
    assert_eq!(stat["blake3"], expected.as_str(), "stat shows the BLAKE3");

    run(
        netdisk_as(&server, "alice", "pw")
            .args(["put", "-p"])
            .args(sources),
        "",
    )
    .ok();
    assert_eq!(mode(&home.join("small.txt")), 0o750);
    assert_eq!(mode(&home.join("large.bin")), 0o750);

    let back = local.join("back");
    std::fs::create_dir_all(&back).expect("dir");
    let back_dir = back.to_str().unwrap();
    run(
        netdisk_as(&server, "alice", "pw").args(["get", "small.txt", "large.bin", back_dir]),
        "",
    )
    .ok();
    assert_eq!(mtime(&back.join("small.txt")), 1_500_000_000);
    assert_eq!(mtime(&back.join("large.bin")), 1_400_000_000);
    assert_ne!(mode(&back.join("large.bin")), 0o750, "modes only with -p");
    run(
        netdisk_as(&server, "alice", "pw").args(["get", "-p", "small.txt", "large.bin", back_dir]),
        "",
    )
    .ok();
    assert_eq!(mode(&back.join("small.txt")), 0o750);
    assert_eq!(mode(&back.join("large.bin")), 0o750);
}

/// A tree of a few small files and one streamed one, with a nested directory.
fn photo_tree(root: &Path) {
    std::fs::create_dir_all(root.join("trip/raw")).expect("dirs");
    write_file(&root.join("a.jpg"), b"jpeg a");
    write_file(&root.join("b.jpg"), b"jpeg b");
    write_file(&root.join("notes.tmp"), b"scratch");
    write_file(&root.join("trip/c.jpg"), &pattern(2 * MIB as usize, 1));
    write_file(&root.join("trip/raw/c.cr2"), b"raw c");
    for name in [
        "a.jpg",
        "b.jpg",
        "notes.tmp",
        "trip/c.jpg",
        "trip/raw/c.cr2",
    ] {
        set_mtime(&root.join(name), 1_600_000_000);
    }
}

fn summary(lines: &[serde_json::Value]) -> &serde_json::Value {
    lines
        .iter()
        .find(|l| l["type"] == "summary")
        .unwrap_or_else(|| panic!("no summary in {lines:?}"))
}

#[test]
fn tree_re_runs_copy_only_what_changed() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("tree");
    let photos = local.join("photos");
    photo_tree(&photos);
    let up = ["put", "-r", photos.to_str().unwrap()];

    let first = netdisk_json(&server, &up);
    assert_eq!(summary(&first)["files"], 5, "{first:?}");
    let again = netdisk_json(&server, &up);
    assert_eq!(summary(&again)["files"], 0, "{again:?}");
    assert_eq!(summary(&again)["skipped_identical"], 5, "{again:?}");
    let text = run(netdisk_as(&server, "alice", "pw").args(up), "");
    assert!(
        text.ok().stdout.contains("uploaded 0 files")
            && text.stdout.contains("5 identical, skipped"),
        "{}",
        text.stdout
    );

    // A changed file goes again; a touched one (new time, same bytes) too,
    // unless --checksum compares the hashes.
    write_file(&photos.join("a.jpg"), b"jpeg A, edited");
    set_mtime(&photos.join("b.jpg"), 1_700_000_000);
    let dry = run(
        netdisk_as(&server, "alice", "pw").args([
            "put",
            "-r",
            "--dry-run",
            photos.to_str().unwrap(),
        ]),
        "",
    );
    assert!(dry.ok().stdout.contains("would upload"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("dry run: would upload 2 files"),
        "{}",
        dry.stdout
    );
    assert_eq!(
        std::fs::read(server.home("alice").join("photos/a.jpg")).expect("remote a"),
        b"jpeg a",
        "a dry run copies nothing"
    );
    let checksum = netdisk_json(
        &server,
        &["put", "-r", "--checksum", photos.to_str().unwrap()],
    );
    assert_eq!(
        summary(&checksum)["files"],
        1,
        "only the edited one: {checksum:?}"
    );
    let quick = netdisk_json(&server, &up);
    assert_eq!(summary(&quick)["files"], 1, "the touched one: {quick:?}");

    // --ignore-existing skips even what differs.
    write_file(&photos.join("b.jpg"), b"jpeg B, edited too");
    let existing = netdisk_json(
        &server,
        &["put", "-r", "--ignore-existing", photos.to_str().unwrap()],
    );
    assert_eq!(summary(&existing)["files"], 0, "{existing:?}");
    assert_eq!(summary(&existing)["skipped_existing"], 5, "{existing:?}");

    // Downloads: the same rules against the local files.
    let copy = local.join("copy");
    std::fs::create_dir_all(&copy).expect("dir");
    let down = ["get", "-r", "photos", copy.to_str().unwrap()];
    assert_eq!(summary(&netdisk_json(&server, &down))["files"], 5);
    let again = netdisk_json(&server, &down);
    assert_eq!(summary(&again)["files"], 0, "{again:?}");
    assert_eq!(summary(&again)["skipped_identical"], 5, "{again:?}");
    write_file(&copy.join("photos/trip/raw/c.cr2"), b"changed locally");
    assert_eq!(summary(&netdisk_json(&server, &down))["files"], 1);
    assert_eq!(
        std::fs::read(copy.join("photos/trip/raw/c.cr2")).expect("restored"),
        b"raw c"
    );
}

#[test]
fn excludes_and_includes_choose_what_a_tree_copy_takes() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("filters");
    let photos = local.join("photos");
    photo_tree(&photos);
    let lines = netdisk_json(
        &server,
        &[
            "put",
            "-r",
            "--exclude",
            "*.tmp",
            "--exclude",
            "raw/",
            photos.to_str().unwrap(),
            "no-scratch",
        ],
    );
    assert_eq!(summary(&lines)["files"], 3, "{lines:?}");
    assert_eq!(summary(&lines)["excluded"], 2, "{lines:?}");
    let home = server.home("alice").join("no-scratch");
    assert!(home.join("a.jpg").exists() && home.join("trip/c.jpg").exists());
    assert!(!home.join("notes.tmp").exists() && !home.join("trip/raw").exists());

    // Only the JPEGs, tree kept: the rsync idiom.
    netdisk_json(
        &server,
        &[
            "put",
            "-r",
            "--include",
            "*/",
            "--include",
            "*.jpg",
            "--exclude",
            "*",
            photos.to_str().unwrap(),
            "jpegs",
        ],
    );
    let jpegs = server.home("alice").join("jpegs");
    assert!(jpegs.join("trip/c.jpg").exists() && jpegs.join("b.jpg").exists());
    assert!(!jpegs.join("notes.tmp").exists() && !jpegs.join("trip/raw/c.cr2").exists());
    let bad = run(
        netdisk_as(&server, "alice", "pw").args([
            "put",
            "-r",
            "--exclude",
            "[",
            photos.to_str().unwrap(),
        ]),
        "",
    );
    assert!(
        !bad.status.success() && bad.stderr.contains("--exclude"),
        "{}",
        bad.stderr
    );
}

#[test]
fn remote_wildcards_and_standard_streams() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("globs");
    let photos = local.join("photos");
    photo_tree(&photos);
    run(
        netdisk_as(&server, "alice", "pw").args(["put", "-r", photos.to_str().unwrap()]),
        "",
    )
    .ok();
    write_file(&server.home("alice").join("photos/.hidden.jpg"), b"dot");

    let out = local.join("out");
    std::fs::create_dir_all(&out).expect("dir");
    run(
        netdisk_as(&server, "alice", "pw").args(["get", "photos/*.jpg", out.to_str().unwrap()]),
        "",
    )
    .ok();
    let mut got: Vec<_> = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    got.sort();
    assert_eq!(
        got,
        ["a.jpg", "b.jpg"],
        "* skips dot files, as a shell does"
    );

    let listed = netdisk_json(&server, &["ls", "photos/*.tmp"]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "notes.tmp");
    run(
        netdisk_as(&server, "alice", "pw").args(["rm", "photos/*.tmp"]),
        "",
    )
    .ok();
    assert!(!server.home("alice").join("photos/notes.tmp").exists());
    let none = run(
        netdisk_as(&server, "alice", "pw").args(["rm", "photos/*.tmp"]),
        "",
    );
    assert!(
        !none.status.success() && none.stderr.contains("no remote match"),
        "{}",
        none.stderr
    );

    // put - reads standard input; cat and get X - write standard output.
    let text = "from a pipe\n".repeat(1000);
    run(
        netdisk_as(&server, "alice", "pw").args(["put", "-", "piped.txt"]),
        &text,
    )
    .ok();
    assert_eq!(
        std::fs::read_to_string(server.home("alice").join("piped.txt")).expect("piped"),
        text
    );
    let cat = run(
        netdisk_as(&server, "alice", "pw").args(["cat", "piped.txt", "photos/a.jpg"]),
        "",
    );
    assert_eq!(cat.ok().stdout, format!("{text}jpeg a"));
    let got = run(
        netdisk_as(&server, "alice", "pw").args(["get", "photos/b.jpg", "-"]),
        "",
    );
    assert_eq!(got.ok().stdout, "jpeg b");
    let nameless = run(netdisk_as(&server, "alice", "pw").args(["put", "-"]), "x");
    assert!(
        !nameless.status.success() && nameless.stderr.contains("put - REMOTE"),
        "{}",
        nameless.stderr
    );
}

//! Whole directories: put -r, get -r and rm -r through the CLI, with
//! scp's rule for the target, empty directories, and symlinks skipped.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Every file and directory under `root`, with file contents.
fn snapshot(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for item in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = item.path();
            let rel = path
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            let kind = item.file_type().expect("type");
            if kind.is_dir() {
                out.insert(rel, None);
                pending.push(path);
            } else if kind.is_file() {
                out.insert(rel, Some(std::fs::read(&path).expect("read")));
            }
        }
    }
    out
}

#[test]
fn trees_round_trip_with_scp_rules() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("local");
    let tree = local.join("photos");
    std::fs::create_dir_all(tree.join("2025/summer")).expect("dirs");
    std::fs::create_dir_all(tree.join("empty/nested-empty")).expect("dirs");
    std::fs::create_dir_all(tree.join("many")).expect("dirs");
    std::fs::write(tree.join("2025/summer/beach.jpg"), pattern(300_000, 1)).expect("file");
    std::fs::write(tree.join("top.txt"), b"top").expect("file");
    std::fs::write(tree.join("zero.bin"), b"").expect("file");
    for n in 0..2000 {
        std::fs::write(
            tree.join(format!("many/f{n:04}.txt")),
            pattern(100 + n % 50, n as u8),
        )
        .expect("file");
    }
    // Files over 1 MiB go first, streamed, largest first; 34 photos of
    // exactly 1 MiB (the largest small file) make more than one 32 MiB
    // group, shared by the sessions.
    std::fs::create_dir_all(tree.join("videos")).expect("dirs");
    std::fs::write(tree.join("videos/short.mp4"), pattern(1_500_000, 2)).expect("file");
    std::fs::write(tree.join("videos/long.mp4"), pattern(3_000_000, 3)).expect("file");
    std::fs::create_dir_all(tree.join("camera")).expect("dirs");
    for n in 0..34 {
        std::fs::write(
            tree.join(format!("camera/IMG_{n:04}.jpg")),
            pattern(1 << 20, 100 + n as u8),
        )
        .expect("file");
    }
    std::os::unix::fs::symlink("/etc/passwd", tree.join("link-out")).expect("symlink");
    let cli = || netdisk_as(&server, "alice", "pw");

    // A missing target becomes the copy.
    let put = run(cli().args(["put", "-r"]).arg(&tree).arg("backup"), "");
    put.ok();
    assert!(put.stderr.contains("skipping symlink"), "{}", put.stderr);
    let mut expected = snapshot(&tree);
    expected.remove("link-out");
    assert_eq!(snapshot(&server.home("alice").join("backup")), expected);

    // An existing directory receives the tree inside it under its own name.
    run(cli().args(["mkdir", "albums"]), "").ok();
    run(cli().args(["put", "-r", "-q"]).arg(&tree).arg("albums"), "").ok();
    assert_eq!(
        snapshot(&server.home("alice").join("albums/photos")),
        expected
    );

    // Without -r a directory is refused with a clear message.
    let refused = run(cli().arg("put").arg(&tree), "");
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stderr.contains("use -r"), "{}", refused.stderr);

    // get -r: into an existing directory, and to a new name.
    let into = server.scratch("into");
    run(cli().args(["get", "-r", "-q", "backup"]).arg(&into), "").ok();
    assert_eq!(snapshot(&into.join("backup")), expected);
    let fresh = server.scratch("x").join("restored");
    run(
        cli().args(["get", "-r", "-q", "albums/photos"]).arg(&fresh),
        "",
    )
    .ok();
    assert_eq!(snapshot(&fresh), expected);

    // rm -r removes a tree into the trash; rm without -r refuses a
    // directory and says what would remove it.
    let no_r = run(cli().args(["rm", "backup"]), "");
    assert!(
        no_r.stderr.contains("is a directory (use rm -r)"),
        "{}",
        no_r.stderr
    );
    run(cli().args(["rm", "-r", "backup", "albums"]), "").ok();
    assert!(snapshot(&server.home("alice")).is_empty());
    let df = || {
        let df = run(cli().args(["--json", "df"]), "");
        serde_json::from_str::<serde_json::Value>(df.ok().stdout.trim()).expect("json")
    };
    let kept = df();
    assert_eq!(kept["used"], kept["trash"], "the trees wait in the trash");
    run(cli().args(["trash", "purge", "--all"]), "").ok();
    assert_eq!(df()["used"], 0, "purging the trash frees the space");
}

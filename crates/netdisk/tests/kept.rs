//! The trash and old versions through the real CLI against a real
//! server: rm and rm -r keep what they remove, restores (by path, by id,
//! elsewhere, never over a file), overwrites keep versions that come back
//! byte for byte, purges free the space, and df says where it goes.

mod common;

use common::*;
use serde_json::Value;

fn json_lines(output: &Output) -> Vec<Value> {
    output
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn the_trash_and_versions_from_the_command_line() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let cli = || netdisk_as(&server, "alice", "pw");
    let local = server.scratch("local");
    let home = server.home("alice");

    // A file and a tree, removed.
    let note = local.join("note.txt");
    write_file(&note, b"first words");
    let album = local.join("album");
    std::fs::create_dir_all(album.join("2026")).expect("dirs");
    write_file(&album.join("2026/a.jpg"), &pattern(30_000, 1));
    write_file(&album.join("b.jpg"), &pattern(20_000, 2));
    run(cli().arg("put").arg(&note).arg("note.txt"), "").ok();
    run(cli().args(["put", "-r"]).arg(&album).arg("album"), "").ok();
    run(cli().args(["rm", "note.txt"]), "").ok();
    run(cli().args(["rm", "-r", "album"]), "").ok();
    assert!(!home.join("note.txt").exists() && !home.join("album").exists());

    let listed = run(cli().args(["--json", "trash", "ls"]), "");
    let items = json_lines(listed.ok());
    assert_eq!(items.len(), 2, "{}", listed.stdout);
    assert_eq!(
        (items[0]["path"].as_str(), items[0]["size"].as_u64()),
        (Some("~/note.txt"), Some(11))
    );
    assert_eq!(items[1]["kind"], "dir");
    let text = run(cli().args(["trash", "ls"]), "");
    assert!(text.ok().stdout.contains("~/album/"), "{}", text.stdout);

    // Back by path: the tree whole.
    run(cli().args(["trash", "restore", "album"]), "").ok();
    assert_eq!(
        std::fs::read(home.join("album/2026/a.jpg")).expect("restored"),
        pattern(30_000, 1)
    );
    // Over a file of the same name: refused, both kept; --to elsewhere.
    write_file(&note, b"second words");
    run(cli().arg("put").arg(&note).arg("note.txt"), "").ok();
    let id = items[0]["id"].as_str().expect("id");
    let refused = run(cli().args(["trash", "restore", id]), "");
    assert!(!refused.status.success());
    assert!(refused.stderr.contains("exists"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read(home.join("note.txt")).expect("kept"),
        b"second words"
    );
    run(
        cli().args(["trash", "restore", id, "--to", "old/note.txt"]),
        "",
    )
    .ok();
    assert_eq!(
        std::fs::read(home.join("old/note.txt")).expect("restored"),
        b"first words"
    );
    // Hostile ids and unknown paths: refused, nothing touched.
    for (bad, why) in [
        ("../../users.db", "outside your home"),
        ("00000000000000000001-abcd", "no such item"),
        ("nothing/here", "no such item"),
    ] {
        let out = run(cli().args(["trash", "restore", bad]), "");
        assert!(!out.status.success(), "{bad}");
        assert!(out.stderr.contains(why), "{bad}: {}", out.stderr);
    }

    // Overwrites keep versions; one comes back byte for byte.
    let doc = local.join("doc.bin");
    for n in 0..4u8 {
        write_file(&doc, &pattern(10_000 + n as usize, n));
        run(cli().arg("put").arg(&doc).arg("doc.bin"), "").ok();
    }
    let versions = json_lines(run(cli().args(["--json", "versions", "doc.bin"]), "").ok());
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[0]["size"], 10_002, "newest first");
    let oldest = versions[2]["id"].as_str().expect("id");
    assert_eq!(
        versions[2]["blake3"].as_str(),
        Some(blake3::hash(&pattern(10_000, 0)).to_hex().as_str())
    );
    run(cli().args(["versions", "restore", "doc.bin", oldest]), "").ok();
    assert_eq!(
        std::fs::read(home.join("doc.bin")).expect("doc"),
        pattern(10_000, 0)
    );
    let after = json_lines(run(cli().args(["--json", "versions", "doc.bin"]), "").ok());
    assert_eq!(after.len(), 4);
    assert_eq!(
        after[0]["size"], 10_003,
        "the replaced file is the newest version"
    );

    // df says where the space goes; purges free it.
    let df = || -> Value {
        let out = run(cli().args(["--json", "df"]), "");
        serde_json::from_str(out.ok().stdout.trim()).expect("json")
    };
    let before = df();
    assert_eq!(before["trash"], 0, "everything was restored");
    assert_eq!(before["versions"], 10_002 + 10_001 + 10_000 + 10_003);
    run(cli().args(["versions", "purge", "doc.bin"]), "").ok();
    run(cli().args(["rm", "-r", "album", "old"]), "").ok();
    let kept = df();
    assert_eq!(kept["versions"], 0);
    assert_eq!(kept["trash"], 50_011);
    let purged = run(cli().args(["trash", "purge", "--all"]), "");
    assert!(purged.ok().stdout.contains("2 items"), "{}", purged.stdout);
    let end = df();
    assert_eq!(
        (end["trash"].as_u64(), end["used"].as_u64()),
        (Some(0), Some(12 + 10_000))
    );
    let none = run(cli().args(["trash", "purge", "nope"]), "");
    assert!(
        !none.status.success() && none.stderr.contains("no item"),
        "{}",
        none.stderr
    );

    // The same commands in the shell (it shares them).
    run(cli().args(["rm", "note.txt"]), "").ok();
    let shell = run(
        cli().arg("shell"),
        "trash ls\ntrash restore note.txt\nversions doc.bin\n",
    );
    let text = &shell.ok().stdout;
    assert!(
        text.contains("~/note.txt") && text.contains("restored to ~/note.txt"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(home.join("note.txt")).expect("back"),
        b"second words"
    );

    // A user's own settings, set by the operator.
    let root = server.root.to_string_lossy().into_owned();
    let set = run(
        netdisk().args([
            "user",
            "retention",
            "alice",
            "--keep-versions",
            "2",
            "--root",
            &root,
        ]),
        "",
    );
    assert!(
        set.ok()
            .stdout
            .contains("keep_trash the server's, keep_versions 2"),
        "{}",
        set.stdout
    );
    let unknown = run(
        netdisk().args(["user", "retention", "nobody", "--reset", "--root", &root]),
        "",
    );
    assert!(!unknown.status.success(), "{}", unknown.stdout);
}

const MIB: usize = 1024 * 1024;

async fn login(server: &ServerProcess) -> netdisk_client::Client<netdisk_client::NetStream> {
    let transport = transport_for(Some(server.fingerprint));
    let mut client = netdisk_client::Client::connect(&server.addr, &transport)
        .await
        .expect("connect");
    client.login("alice", "pw").await.expect("login");
    client
}

/// Regular files below `dir` (each inode once, items' meta.json left
/// out) and their bytes.
fn files_below(dir: &std::path::Path, seen: &mut std::collections::HashSet<u64>) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let meta = entry.metadata().expect("metadata");
        if meta.is_dir() {
            total += files_below(&entry.path(), seen);
        } else if meta.is_file() && entry.file_name() != "meta.json" && seen.insert(meta.ino()) {
            total += meta.len();
        }
    }
    total
}

/// After a crash, a restart and a login: the file is one whole version, every
/// kept version is whole (its bytes match its recorded hash, which is one
/// that was uploaded), nothing of a plain upload is left in staging, and
/// the usage the server reports is the bytes on disk.
async fn assert_consistent(root: &std::path::Path, server: &ServerProcess, hashes: &[String]) {
    // The user's first session sweeps what the crash left half made.
    let mut client = login(server).await;
    let usage = client.df().await.expect("df");
    let current = std::fs::read(root.join("homes/alice/doc.bin")).expect("the file is there");
    let current = blake3::hash(&current).to_hex().to_string();
    assert!(hashes.contains(&current), "a half-written file");
    let versions = root.join("kept/alice/versions");
    for key in std::fs::read_dir(&versions).into_iter().flatten().flatten() {
        for item in std::fs::read_dir(key.path()).expect("key").flatten() {
            let meta: Value = serde_json::from_slice(
                &std::fs::read(item.path().join("meta.json")).expect("meta"),
            )
            .expect("meta json");
            let data = std::fs::read(item.path().join("data")).expect("a version's data");
            let hash = blake3::hash(&data).to_hex().to_string();
            assert!(hashes.contains(&hash), "a half version");
            assert_eq!(meta["blake3"].as_str(), Some(hash.as_str()), "{meta}");
        }
    }
    let mut seen = std::collections::HashSet::new();
    let on_disk = files_below(&root.join("homes/alice"), &mut seen)
        + files_below(&root.join("kept/alice"), &mut seen);
    assert_eq!(usage.used, on_disk, "the usage and the disk");
    let mut staged = std::collections::HashSet::new();
    assert_eq!(files_below(&root.join("staging/alice"), &mut staged), 0);
}

/// Kills the server `later` after its staging area holds `size` bytes
/// (an upload's whole body, received: it is then syncing and committing),
/// or once `done` says the request finished first; polled every
/// millisecond, for at most two seconds. `later` spreads the kills over
/// the commit's steps: fault injection, not a wait for anything.
async fn kill_when_staged(
    root: &std::path::Path,
    server: &mut ServerProcess,
    size: u64,
    later: std::time::Duration,
    done: impl Fn() -> bool,
) {
    let staging = root.join("staging/alice");
    for _ in 0..2000 {
        let mut seen = std::collections::HashSet::new();
        if files_below(&staging, &mut seen) >= size || done() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    tokio::time::sleep(later).await;
    server.kill();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_in_overwrites_and_restores_keeps_one_whole_copy_of_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    add_user(&root, "alice", "pw", None);
    // Large enough that syncing one takes milliseconds: the kills land in
    // the commit, not only before it.
    let contents: Vec<Vec<u8>> = (0..6).map(|n| pattern(24 * MIB + n, n as u8)).collect();
    let hashes: Vec<String> = contents
        .iter()
        .map(|c| blake3::hash(c).to_hex().to_string())
        .collect();
    let local = dir.path().join("doc.bin");
    write_file(&local, &contents[0]);
    let mut server = ServerProcess::start(&root);
    login(&server)
        .await
        .put_file(&local, "doc.bin", false, None)
        .await
        .expect("the first upload");

    // Overwrites, each killed once the server holds all of its bytes in
    // staging: it is then verifying, syncing, keeping the old file as a
    // version and committing.
    let mut committed = 0;
    for (round, content) in contents[1..].iter().enumerate() {
        write_file(&local, content);
        let later = std::time::Duration::from_millis(4 * round as u64);
        let mut client = login(&server).await;
        let source = local.clone();
        let put =
            tokio::spawn(async move { client.put_file(&source, "doc.bin", false, None).await });
        kill_when_staged(&root, &mut server, content.len() as u64, later, || {
            put.is_finished()
        })
        .await;
        let _ = put.await;
        server = ServerProcess::start(&root);
        assert_consistent(&root, &server, &hashes).await;
        let now = std::fs::read(root.join("homes/alice/doc.bin")).expect("doc");
        committed += usize::from(&now == content);
    }
    eprintln!("{committed} of 5 killed overwrites had committed");
    // One more, whole, so there are old versions to restore.
    write_file(&local, &contents[0]);
    login(&server)
        .await
        .put_file(&local, "doc.bin", false, None)
        .await
        .expect("an overwrite");

    // Version restores, each killed once the restoring upload is staged whole.
    for round in 0..3 {
        let later = std::time::Duration::from_millis(8 * round);
        let mut client = login(&server).await;
        let list = client.versions("doc.bin").await.expect("versions");
        let oldest = list.versions.last().expect("an old version").id.clone();
        let size = list.versions.last().expect("oldest").size;
        let restore = tokio::spawn(async move { client.version_restore("doc.bin", &oldest).await });
        kill_when_staged(&root, &mut server, size, later, || restore.is_finished()).await;
        let _ = restore.await;
        server = ServerProcess::start(&root);
        assert_consistent(&root, &server, &hashes).await;
    }

    // A tree restored from the trash, the server killed as the request
    // goes: the tree is whole in the home or in the trash, not both.
    let tree = dir.path().join("tree");
    for n in 0..50 {
        let file = tree.join(format!("d{}/f{n}", n % 5));
        std::fs::create_dir_all(file.parent().expect("parent")).expect("local dirs");
        write_file(&file, &pattern(1000 + n, 3));
    }
    let mut client = login(&server).await;
    client.mkdir("tree", false).await.expect("mkdir");
    for n in 0..50 {
        let name = format!("d{}/f{n}", n % 5);
        client
            .mkdir(&format!("tree/d{}", n % 5), true)
            .await
            .expect("mkdir -p");
        client
            .put_file(&tree.join(&name), &format!("tree/{name}"), false, None)
            .await
            .expect("put");
    }
    client.rm_tree("tree").await.expect("rm -r");
    let restore = tokio::spawn(async move {
        client
            .trash_restore(netdisk_proto::request::TrashRestore {
                path: Some("tree".into()),
                ..Default::default()
            })
            .await
    });
    server.kill();
    let _ = restore.await;
    server = ServerProcess::start(&root);
    let in_home = root.join("homes/alice/tree").exists();
    let mut client = login(&server).await;
    let trash = client.trash().await.expect("trash");
    assert_eq!(
        trash.len(),
        usize::from(!in_home),
        "in one place: {trash:?}"
    );
    if !in_home {
        client
            .trash_restore(netdisk_proto::request::TrashRestore {
                path: Some("tree".into()),
                ..Default::default()
            })
            .await
            .expect("restore after the restart");
    }
    for n in 0..50 {
        let name = format!("d{}/f{n}", n % 5);
        assert_eq!(
            std::fs::read(root.join("homes/alice/tree").join(&name)).expect("whole"),
            pattern(1000 + n, 3)
        );
    }
    assert_consistent(&root, &server, &hashes).await;
}

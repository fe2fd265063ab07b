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
}

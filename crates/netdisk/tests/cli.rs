//! The built `netdisk` binary, end to end: serve, user management,
//! transfers and errors as a person at a terminal sees them.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

#[test]
fn serve_prints_its_port_hints_at_users_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    let mut child = netdisk()
        .args(["serve", "--listen", "127.0.0.1:0", "--root"])
        .arg(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read listening line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    line.clear();
    stdout.read_line(&mut line).expect("read fingerprint line");
    let fingerprint = line
        .trim()
        .strip_prefix("TLS certificate fingerprint ")
        .unwrap_or_else(|| panic!("unexpected second line {line:?}"))
        .to_owned();
    let port: u16 = addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    assert!(addr.starts_with("127.0.0.1:") && port != 0, "{addr}");
    assert!(
        root.join("users.db").exists(),
        "data directory created on first start"
    );

    // A user added while the server runs can log in at once.
    run(
        netdisk()
            .args(["user", "add", "carol", "--password-stdin", "--root"])
            .arg(&root),
        "pw\n",
    )
    .ok();
    let out = run(
        netdisk()
            .args(["pwd", "--fingerprint", &fingerprint])
            .env("NETDISK_SERVER", &addr)
            .env("NETDISK_USER", "carol")
            .env("NETDISK_PASSWORD", "pw"),
        "",
    );
    assert_eq!(out.ok().stdout.trim(), "~");

    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = wait_bounded(&mut child);
    assert!(status.success(), "serve exited with {status}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(
        stderr.contains("netdisk user add NAME --root"),
        "no hint about adding users in: {stderr}"
    );
}

/// A FIFO in a home once hung a download in `open`, on a thread that
/// neither a timeout nor SIGTERM could reach, and the server never
/// exited. Now the download is refused at once, and whatever a session's
/// blocking calls do, the process ends soon after the grace period.
#[test]
fn a_download_of_a_fifo_is_refused_and_sigterm_still_ends_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    add_user(&root, "alice", "pw", None);
    let status = std::process::Command::new("mkfifo")
        .arg(root.join("homes/alice/pipe"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let mut server = ServerProcess::start_with_args(&root, &["--grace", "2"]);
    let client = |args: &[&str]| {
        let mut cmd = netdisk();
        cmd.args(args)
            .current_dir(dir.path())
            .env("NETDISK_SERVER", &server.addr)
            .env("NETDISK_FINGERPRINT", server.fingerprint.to_string())
            .env("NETDISK_USER", "alice")
            .env("NETDISK_PASSWORD", "pw");
        cmd
    };
    let out = run(&mut client(&["get", "pipe", "copy"]), "");
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
    assert!(!dir.path().join("copy").exists());

    // SIGTERM with the same download in flight: the process exits.
    let mut in_flight = client(&["get", "pipe", "copy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn get");
    let term = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let started = std::time::Instant::now();
    let status = wait_bounded(&mut server.child);
    assert!(status.success(), "serve exited with {status}");
    // The grace period (2 s) and the limit on blocking calls (2 s), with room.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "serve took {:?} to stop",
        started.elapsed()
    );
    wait_bounded(&mut in_flight);
    assert!(!dir.path().join("copy").exists());
}

#[test]
fn user_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    let root_arg = root.to_str().expect("utf-8 temp path");
    let add = |name: &str, extra: &[&str], password: &str| {
        let mut cmd = netdisk();
        cmd.args(["user", "add", name, "--password-stdin", "--root", root_arg])
            .args(extra);
        run(&mut cmd, password)
    };
    add("alice", &[], "s3cret\n").ok();
    add("bob", &["--quota", "2G"], "pw\n").ok();
    assert!(root.join("homes/alice").is_dir(), "home created");

    let dup = add("alice", &[], "x\n");
    assert_eq!(dup.status.code(), Some(1));
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);
    assert_eq!(
        dup.stderr.trim().lines().count(),
        1,
        "one-line error: {}",
        dup.stderr
    );

    for bad in ["", "a/b", "..", "x\ty", &"n".repeat(65)] {
        let out = add(bad, &[], "pw\n");
        assert!(!out.status.success(), "user name {bad:?} accepted");
        assert!(out.stderr.contains("user name"), "{bad:?}: {}", out.stderr);
    }
    let empty = add("dave", &[], "\n");
    assert!(!empty.status.success(), "empty password accepted");
    let bad_quota = add("erin", &["--quota", "lots"], "pw\n");
    assert_eq!(bad_quota.status.code(), Some(2), "{}", bad_quota.stderr);

    let list = run(netdisk().args(["user", "list", "--root", root_arg]), "");
    let text = &list.ok().stdout;
    assert!(text.contains("alice") && text.contains("bob"), "{text}");
    assert!(text.contains("unlimited"), "{text}");
    assert!(!text.contains("dave") && !text.contains("erin"), "{text}");

    run(
        netdisk().args([
            "user",
            "passwd",
            "alice",
            "--password-stdin",
            "--root",
            root_arg,
        ]),
        "new\n",
    )
    .ok();
    let missing = run(
        netdisk().args([
            "user",
            "passwd",
            "nobody",
            "--password-stdin",
            "--root",
            root_arg,
        ]),
        "x\n",
    );
    assert_eq!(missing.status.code(), Some(1));
    run(
        netdisk().args(["user", "del", "bob", "--root", root_arg]),
        "",
    )
    .ok();
    let list = run(netdisk().args(["user", "list", "--root", root_arg]), "");
    assert!(!list.ok().stdout.contains("bob"));
}

#[test]
fn admin_commands_other_than_add_refuse_a_missing_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let typo = dir.path().join("typo");
    let typo_arg = typo.to_str().expect("utf-8 temp path");
    // An existing directory that is not a data directory is refused too.
    let plain_dir = dir.path().to_str().expect("utf-8 temp path");
    for root in [typo_arg, plain_dir] {
        for args in [
            vec!["list"],
            vec!["passwd", "alice", "--password-stdin"],
            vec!["quota", "alice", "1G"],
            vec!["del", "alice", "--purge"],
        ] {
            let out = run(
                netdisk().arg("user").args(&args).args(["--root", root]),
                "pw\n",
            );
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains("not a netdisk data directory") && out.stderr.contains(root),
                "{args:?}: {}",
                out.stderr
            );
            assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
        }
    }
    assert!(!typo.exists(), "a data directory was created at the typo");
    let created: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(created.is_empty(), "created {created:?}");

    // `user add` still creates one.
    run(
        netdisk().args([
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--root",
            typo_arg,
        ]),
        "pw\n",
    )
    .ok();
    let list = run(netdisk().args(["user", "list", "--root", typo_arg]), "");
    assert!(list.ok().stdout.contains("alice"), "{}", list.stdout);
}

#[test]
fn a_closed_stdout_neither_panics_nor_cuts_a_transfer_short() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let tree = server.scratch("many");
    let content = |i: usize| pattern(50 + i, i as u8);
    for i in 0..300 {
        write_file(&tree.join(format!("f{i:03}.txt")), &content(i));
    }
    let quiet_failure = |out: &Output| {
        // 141: as a program stopped by SIGPIPE; never a panic (101).
        assert_eq!(out.status.code(), Some(141), "{}", out.stderr);
        assert!(out.stderr.is_empty(), "{}", out.stderr);
    };

    let put = run_with_stdout_closed(
        netdisk_as(&server, "alice", "pw")
            .args(["put", "-r"])
            .arg(&tree)
            .arg("copy"),
    );
    quiet_failure(&put);
    let copy = server.home("alice").join("copy");
    for i in 0..300 {
        let name = format!("f{i:03}.txt");
        let stored = std::fs::read(copy.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(stored, content(i), "{name}");
    }

    quiet_failure(&run_with_stdout_closed(
        netdisk_as(&server, "alice", "pw").args(["ls", "copy"]),
    ));
    quiet_failure(&run_with_stdout_closed(
        netdisk_as(&server, "alice", "pw").args(["--json", "ls", "-l", "copy"]),
    ));
    // A failure still says so, with its own status.
    let failed = run_with_stdout_closed(netdisk_as(&server, "alice", "pw").args(["ls", "nope"]));
    assert_eq!(failed.status.code(), Some(1), "{}", failed.stderr);
    assert!(failed.stderr.contains("no such file"), "{}", failed.stderr);
}

/// #16: a local name the server cannot store (a backslash, a newline)
/// is skipped with a warning, the rest of the tree still goes up, and the
/// end says how many were skipped and exits 1.
#[test]
fn put_r_skips_names_the_server_cannot_store_and_says_so_at_the_end() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let tree = server.scratch("odd");
    for dir in ["sub", "bad\\dir"] {
        std::fs::create_dir_all(tree.join(dir)).expect("dir");
    }
    for name in [
        "a.txt",
        "back\\slash.txt",
        "new\nline.txt",
        "sub/b.txt",
        "bad\\dir/c.txt",
    ] {
        write_file(&tree.join(name), name.as_bytes());
    }
    let out = run(
        netdisk_as(&server, "alice", "pw")
            .args(["put", "-r"])
            .arg(&tree)
            .arg("copy"),
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let copy = server.home("alice").join("copy");
    assert_eq!(std::fs::read(copy.join("a.txt")).expect("a.txt"), b"a.txt");
    assert_eq!(
        std::fs::read(copy.join("sub/b.txt")).expect("b.txt"),
        b"sub/b.txt"
    );
    assert_eq!(
        std::fs::read_dir(&copy).expect("copy").count(),
        2,
        "only a.txt and sub were stored"
    );
    let warnings: Vec<_> = out
        .stderr
        .lines()
        .filter(|l| l.contains("skipping"))
        .collect();
    assert_eq!(
        warnings.len(),
        3,
        "one line each, the newline escaped: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("3 local names were skipped"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_server_that_accepts_but_never_speaks_is_given_up_on_in_time() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (done, until_done) = std::sync::mpsc::channel::<()>();
    // Accepts both clients and keeps them connected, never writing a byte.
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(2).collect();
        let _ = until_done.recv_timeout(LIMIT);
        drop(held);
    });
    let config = tempfile::tempdir().expect("tempdir");
    for (extra, stage) in [
        (None, "no TLS handshake within 1 s"),
        (Some("--plaintext"), "no hello from the server within 1 s"),
    ] {
        let start = std::time::Instant::now();
        let mut cmd = netdisk();
        cmd.args([
            "--connect-timeout",
            "1",
            "--server",
            &addr,
            "--user",
            "alice",
        ])
        .args(extra)
        .arg("ls")
        .env("XDG_CONFIG_HOME", config.path());
        let out = run(&mut cmd, "");
        let took = start.elapsed();
        assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
        assert!(
            out.stderr.contains(stage) && out.stderr.contains("--connect-timeout"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
        assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
    }
    let _ = done.send(());

    // Zero would never connect: refused as a usage error.
    let zero = run(netdisk().args(["--connect-timeout", "0", "ls"]), "");
    assert_eq!(zero.status.code(), Some(2), "{}", zero.stderr);
}

#[test]
fn commands_end_their_tls_connections_in_good_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    std::fs::create_dir_all(&root).expect("root");
    let log = dir.path().join("server.log");
    std::fs::write(
        root.join("netdisk.toml"),
        format!(
            "[log]\nserver = {:?}\n",
            log.to_str().expect("utf-8 temp path")
        ),
    )
    .expect("config");
    add_user(&root, "alice", "pw", None);
    let mut server = ServerProcess::start(&root);
    let cli = || {
        let mut cmd = netdisk();
        cmd.env("NETDISK_SERVER", &server.addr)
            .env("NETDISK_USER", "alice")
            .env("NETDISK_PASSWORD", "pw")
            .env("NETDISK_FINGERPRINT", server.fingerprint.to_string());
        cmd
    };
    // Enough files for a second session.
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).expect("tree");
    for i in 0..40 {
        write_file(&tree.join(format!("f{i:02}")), &pattern(10, i));
    }
    run(cli().arg("pwd"), "").ok();
    run(cli().arg("ls"), "").ok();
    let failed = run(cli().args(["rm", "missing.txt"]), "");
    assert_eq!(failed.status.code(), Some(1), "{}", failed.stderr);
    run(cli().args(["put", "-r"]).arg(&tree).arg("tree"), "").ok();

    // Once stopped, the server has logged every connection's end.
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    assert!(wait_bounded(&mut server.child).success());
    let text = std::fs::read_to_string(&log).expect("server log");
    assert_eq!(text.matches("logged in").count(), 5, "{text}");
    assert!(
        !text.contains("close_notify") && !text.contains("closing connection"),
        "{text}"
    );
}

#[test]
fn transfers_and_errors_through_the_cli() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("local");
    let small = local.join("small.bin");
    let empty = local.join("empty.bin");
    write_file(&small, &pattern(100_000, 1));
    write_file(&empty, b"");
    let cli = || netdisk_as(&server, "alice", "pw");

    run(cli().args(["mkdir", "docs"]), "").ok();
    let put = run(cli().arg("put").arg(&small).arg(&empty).arg("docs"), "");
    put.ok();
    assert!(put.stdout.contains("~/docs/small.bin"), "{}", put.stdout);
    let hash = blake3::hash(&pattern(100_000, 1)).to_hex().to_string();
    assert!(
        !put.stdout.contains(&hash),
        "one short line: {}",
        put.stdout
    );
    assert!(
        put.stdout.contains("uploaded 2 files (97.7 KiB) in "),
        "a summary: {}",
        put.stdout
    );
    let verbose = run(cli().args(["put", "-v"]).arg(&small).arg("docs"), "");
    assert!(
        verbose.ok().stdout.contains(&hash),
        "-v: the hash: {}",
        verbose.stdout
    );
    assert_eq!(
        std::fs::read(server.home("alice").join("docs/small.bin")).expect("stored"),
        pattern(100_000, 1)
    );

    let ls = run(cli().args(["ls", "docs"]), "");
    assert_eq!(
        ls.ok().stdout.lines().collect::<Vec<_>>(),
        vec!["empty.bin", "small.bin"]
    );
    let long = run(cli().args(["ls", "-l", "docs"]), "");
    assert!(long.ok().stdout.contains("100000"), "{}", long.stdout);
    // -h is human-readable sizes, as in ls and df; --help is the help.
    let human = run(cli().args(["ls", "-lh", "docs"]), "");
    let text = &human.ok().stdout;
    assert!(
        text.contains("97.7 KiB") && !text.contains("100000") && !text.contains("Usage"),
        "{text}"
    );
    let help = run(cli().args(["ls", "--help"]), "");
    assert!(
        help.ok().stdout.contains("--human-readable"),
        "{}",
        help.stdout
    );

    let back = local.join("back.bin");
    run(cli().arg("get").arg("docs/small.bin").arg(&back), "").ok();
    assert_eq!(
        std::fs::read(&back).expect("downloaded"),
        pattern(100_000, 1)
    );
    let into = server.scratch("into");
    run(
        cli()
            .arg("get")
            .arg("docs/empty.bin")
            .arg("docs/small.bin")
            .arg(&into),
        "",
    )
    .ok();
    assert_eq!(std::fs::read(into.join("empty.bin")).expect("empty"), b"");
    assert_eq!(
        std::fs::read(into.join("small.bin")).expect("small"),
        pattern(100_000, 1)
    );

    run(cli().args(["mv", "docs/small.bin", "docs/renamed.bin"]), "").ok();
    let stat = run(cli().args(["stat", "docs/renamed.bin"]), "");
    assert!(stat.ok().stdout.contains("100000"), "{}", stat.stdout);
    let df = run(cli().arg("df"), "");
    let text = &df.ok().stdout;
    // The second `put` of small.bin kept the first as an old version.
    assert!(
        text.contains("unlimited")
            && text.contains("used:     195.3 KiB (200000 bytes)")
            && text.contains("97.7 KiB (100000 bytes) in old versions"),
        "{text}"
    );
    let df = run(cli().args(["df", "-h"]), "");
    let text = &df.ok().stdout;
    assert!(
        text.contains("used:     195.3 KiB\n")
            && !text.contains("bytes")
            && !text.contains("Usage"),
        "{text}"
    );

    // Failures: exit 1, one line on stderr naming the path and the reason.
    let cases: &[(&[&str], &str)] = &[
        (&["rm", "nope.txt"], "no such file or directory"),
        (&["rmdir", "docs"], "not empty"),
        (&["mkdir", "docs"], "exists"),
        (&["rm", "docs"], "is a directory"),
        (&["get", "missing.bin"], "no such file or directory"),
        (&["ls", "../.."], "outside your home"),
        (&["cd", "/etc"], "absolute"),
    ];
    for (args, reason) in cases {
        let out = run(cli().args(*args).current_dir(&local), "");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.starts_with("netdisk: "),
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(reason), "{args:?}: {}", out.stderr);
    }
    assert!(
        !local.join("missing.bin").exists(),
        "failed get leaves no file"
    );

    let wrong = run(netdisk_as(&server, "alice", "wrong").arg("ls"), "");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(wrong.stderr.contains("login failed"), "{}", wrong.stderr);
    let nobody = run(netdisk_as(&server, "nobody", "pw").arg("ls"), "");
    assert_eq!(
        nobody.stderr, wrong.stderr,
        "unknown user looks like a wrong password"
    );

    let unreachable = run(
        netdisk()
            .args(["ls"])
            .env("NETDISK_SERVER", "127.0.0.1:1")
            .env("NETDISK_USER", "a")
            .env("NETDISK_PASSWORD", "b"),
        "",
    );
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(
        unreachable.stderr.contains("127.0.0.1:1"),
        "{}",
        unreachable.stderr
    );
}

#[test]
fn json_output_and_no_progress_without_a_terminal() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("json");
    let file = local.join("data.bin");
    write_file(&file, &pattern(3_000_000, 2));
    let cli = || netdisk_as(&server, "alice", "pw");

    // Not a terminal: no progress bars, no escape codes, only the result.
    let put = run(cli().arg("put").arg(&file), "");
    put.ok();
    assert!(put.stderr.is_empty(), "stderr not empty: {:?}", put.stderr);
    assert!(!put.stdout.contains('\u{1b}'));

    let put = run(
        cli().arg("--json").arg("put").arg(&file).arg("copy.bin"),
        "",
    );
    let record: serde_json::Value =
        serde_json::from_str(put.ok().stdout.trim()).expect("one JSON line");
    assert_eq!(record["type"], "put");
    assert_eq!(record["remote"], "~/copy.bin");
    assert_eq!(record["size"], 3_000_000);
    assert_eq!(record["resumed_from"], 0);
    assert_eq!(
        record["blake3"],
        blake3::hash(&pattern(3_000_000, 2)).to_hex().to_string()
    );

    let ls = run(cli().args(["--json", "ls"]), "");
    let entries: Vec<serde_json::Value> = ls
        .ok()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let names: Vec<_> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, vec!["copy.bin", "data.bin"]);
    assert_eq!(entries[0]["path"], "~/copy.bin");
    assert_eq!(entries[0]["kind"], "file");

    let stat = run(cli().args(["--json", "stat", "copy.bin"]), "");
    let stat: serde_json::Value = serde_json::from_str(stat.ok().stdout.trim()).expect("JSON");
    assert_eq!(
        (stat["path"].as_str(), stat["size"].as_u64()),
        (Some("~/copy.bin"), Some(3_000_000))
    );

    let df = run(cli().args(["--json", "df"]), "");
    let df: serde_json::Value = serde_json::from_str(df.ok().stdout.trim()).expect("JSON");
    assert_eq!(df["used"], 6_000_000);
    assert!(df["quota"].is_null() && df["free"].is_null());

    let back = local.join("back.bin");
    let get = run(cli().args(["--json", "get", "copy.bin"]).arg(&back), "");
    let record: serde_json::Value = serde_json::from_str(get.ok().stdout.trim()).expect("JSON");
    assert_eq!(
        (record["type"].as_str(), record["size"].as_u64()),
        (Some("get"), Some(3_000_000))
    );

    // --quiet: nothing on success.
    let quiet = run(cli().arg("-q").arg("put").arg(&file).arg("q.bin"), "");
    assert!(quiet.ok().stdout.is_empty() && quiet.stderr.is_empty());
}

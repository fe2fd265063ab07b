//! Three `netdisk serve` processes on one PostgreSQL catalog and a 3-node
//! Garage cluster (docs/CLUSTER.md), driven by the real client: users,
//! files and quotas are the same on every server, and an upload cut by a
//! server killed mid-way goes on from its kept parts on another server.

mod common;

use common::*;
use netdisk_client::{Client, NetStream};
use netdisk_testbed::{require_engines, Garage, Postgres, TestbedError};
use std::path::Path;
use std::process::Command;

const MIB: usize = 1 << 20;

/// PostgreSQL and a 3-node Garage, or `None` (the reason printed) where
/// they are not installed and CI did not ask for them.
fn engines() -> Option<(Postgres, Garage)> {
    match Postgres::start().and_then(|postgres| Ok((postgres, Garage::start(3)?))) {
        Ok(engines) => Some(engines),
        Err(TestbedError::Missing(missing)) if !require_engines() => {
            eprintln!("skipped: {missing}");
            None
        }
        Err(error) => panic!("engines: {error}"),
    }
}

/// `count` servers, each with its own data directory (its TLS key) and
/// its own Garage node.
fn start_servers(
    postgres: &Postgres,
    garage: &Garage,
    dir: &Path,
    count: usize,
) -> Vec<ServerProcess> {
    let keys = [
        ("AWS_ACCESS_KEY_ID", garage.access_key_id()),
        ("AWS_SECRET_ACCESS_KEY", garage.secret_access_key()),
    ];
    (0..count)
        .map(|server| {
            let objects = format!(
                "s3://{}?endpoint={}&region={}",
                garage.bucket(),
                garage.endpoint(server % 3),
                garage.region()
            );
            let args = ["--store", &postgres.url(), "--objects", &objects];
            ServerProcess::start_with_env(&dir.join(format!("server-{server}")), &args, &keys)
        })
        .collect()
}

/// A client command logged in as alice on `server`.
fn as_alice(server: &ServerProcess, password: &str) -> Command {
    let mut cmd = netdisk();
    cmd.env("NETDISK_SERVER", &server.addr)
        .env("NETDISK_FINGERPRINT", server.fingerprint.to_string())
        .env("NETDISK_USER", "alice")
        .env("NETDISK_PASSWORD", password);
    cmd
}

fn user_command(postgres: &Postgres, args: &[&str], stdin: &str) -> Output {
    run(
        netdisk()
            .arg("user")
            .args(args)
            .args(["--store", &postgres.url()]),
        stdin,
    )
}

#[test]
fn three_servers_share_users_files_and_quotas() {
    let Some((postgres, garage)) = engines() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    user_command(
        &postgres,
        &["add", "alice", "--password-stdin", "--quota", "50MiB"],
        "pw\n",
    )
    .ok();
    let servers = start_servers(&postgres, &garage, dir.path(), 3);
    let (a, b, c) = (&servers[0], &servers[1], &servers[2]);

    // Put on A, get on B, ls on C.
    let photo = dir.path().join("photo.raw");
    let content = pattern(20 * MIB + 3, 1);
    write_file(&photo, &content);
    run(as_alice(a, "pw").arg("put").arg(&photo), "").ok();
    let fetched = dir.path().join("fetched.raw");
    run(
        as_alice(b, "pw").args(["get", "photo.raw"]).arg(&fetched),
        "",
    )
    .ok();
    assert!(std::fs::read(&fetched).expect("fetched") == content);
    let listed = run(as_alice(c, "pw").args(["ls", "-l"]), "");
    listed.ok();
    assert!(
        listed.stdout.contains("photo.raw"),
        "C lists what A stored: {}",
        listed.stdout
    );

    // One account everywhere: a wrong password is refused on any server,
    // and a new password works on all of them at once.
    let refused = run(as_alice(b, "wrong").arg("ls"), "");
    assert!(!refused.status.success(), "a wrong password logged in");
    user_command(&postgres, &["passwd", "alice", "--password-stdin"], "new\n").ok();
    run(as_alice(c, "new").arg("ls"), "").ok();
    assert!(!run(as_alice(a, "pw").arg("ls"), "").status.success());

    // One quota everywhere: 20 MiB used of 50; another 20 fit, a third do not.
    run(
        as_alice(b, "new").arg("put").arg(&photo).arg("second.raw"),
        "",
    )
    .ok();
    let over = run(
        as_alice(c, "new").arg("put").arg(&photo).arg("third.raw"),
        "",
    );
    assert!(!over.status.success(), "the quota was passed");
    assert!(
        over.stderr.contains("quota"),
        "the refusal says why: {}",
        over.stderr
    );
    let df = run(as_alice(a, "new").arg("df"), "");
    df.ok();
    assert!(
        df.stdout.contains(&(2 * content.len()).to_string()),
        "every server counts both files: {}",
        df.stdout
    );

    // One book of API tokens: made through A, listed on B, revoked on C.
    run(
        as_alice(a, "new").args(["token", "add", "--name", "backup-script"]),
        "",
    )
    .ok();
    let listed = run(as_alice(b, "new").args(["--json", "token", "ls"]), "");
    listed.ok();
    let token: serde_json::Value =
        serde_json::from_str(listed.stdout.lines().next().unwrap_or_default())
            .expect("a token listed on B");
    assert_eq!(token["name"], "backup-script", "{}", listed.stdout);
    let id = token["id"].to_string();
    run(as_alice(c, "new").args(["token", "rm", &id]), "").ok();
    let left = run(as_alice(a, "new").args(["--json", "token", "ls"]), "");
    left.ok();
    assert!(
        left.stdout.trim().is_empty(),
        "revoked on C, still listed on A: {}",
        left.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_upload_the_client_finishes_on_another() {
    let Some((postgres, garage)) = engines() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    user_command(&postgres, &["add", "alice", "--password-stdin"], "pw\n").ok();
    let servers = start_servers(&postgres, &garage, dir.path(), 2);
    let local = dir.path().join("big.bin");
    let content = pattern(40 * MIB, 2);
    write_file(&local, &content);

    let pid = servers[0].child.id();
    let transport = transport_for(Some(servers[0].fingerprint));
    let mut client: Client<NetStream> = Client::connect(&servers[0].addr, &transport)
        .await
        .expect("connect");
    client.login("alice", "pw").await.expect("login");
    let mut killed = false;
    let mut kill_part_way = |sent: u64, _total: u64| {
        // Once A has kept a part (every server lists it), A dies.
        if !killed && sent >= 24 * MIB as u64 {
            wait_for_kept_part(&servers[1], "~/big.bin");
            sigkill(pid);
            killed = true;
        }
    };
    let cut = client
        .put_file(&local, "big.bin", true, Some(&mut kill_part_way))
        .await;
    assert!(cut.is_err(), "the upload survived a killed server");

    // Nothing of it is visible on the other server; the client tries again
    // there, and B goes on from the parts A kept (once A's lease on them
    // runs out: a dead server does not let go).
    let missing = run(as_alice(&servers[1], "pw").args(["stat", "big.bin"]), "");
    assert!(!missing.status.success(), "a cut upload is visible");
    let put = run(
        as_alice(&servers[1], "pw")
            .args(["--json", "put"])
            .arg(&local),
        "",
    );
    put.ok();
    let report: serde_json::Value =
        serde_json::from_str(put.stdout.lines().next().unwrap_or_default()).expect("put report");
    let resumed_from = report["resumed_from"].as_u64().expect("resumed_from");
    assert!(
        resumed_from >= 8 * MIB as u64,
        "B went on from A's kept parts, not from the start: {report}"
    );
    let fetched = dir.path().join("fetched.bin");
    run(
        as_alice(&servers[1], "pw")
            .args(["get", "big.bin"])
            .arg(&fetched),
        "",
    )
    .ok();
    assert!(std::fs::read(&fetched).expect("fetched") == content);
}

/// Waits (bounded) until `server` lists a kept part of an upload to `path`.
fn wait_for_kept_part(server: &ServerProcess, path: &str) {
    for _ in 0..300 {
        let listed = run(
            as_alice(server, "pw").args(["--json", "partials", "ls"]),
            "",
        );
        let kept = listed.stdout.lines().any(|line| {
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|partial| {
                partial["path"] == path && partial["kept"].as_u64().unwrap_or(0) > 0
            })
        });
        if kept {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no part of {path} was kept");
}

#[test]
fn the_http_api_and_share_links_work_through_any_server() {
    let Some((postgres, garage)) = engines() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    user_command(&postgres, &["add", "alice", "--password-stdin"], "pw\n").ok();
    let keys = [
        ("AWS_ACCESS_KEY_ID", garage.access_key_id()),
        ("AWS_SECRET_ACCESS_KEY", garage.secret_access_key()),
    ];
    let served: Vec<Served> = (0..2)
        .map(|server| {
            let objects = format!(
                "s3://{}?endpoint={}&region={}",
                garage.bucket(),
                garage.endpoint(server),
                garage.region()
            );
            let args = ["--store", &postgres.url(), "--objects", &objects];
            Served::start_with_env(&dir.path().join(format!("server-{server}")), &args, &keys)
        })
        .collect();
    let (a, b) = (&served[0], &served[1]);
    let local = dir.path().join("report.txt");
    let content = b"figures for every server";
    write_file(&local, content);
    run(a.cli().arg("put").arg(&local).arg("report.txt"), "").ok();

    // A token made through A's native port opens B's HTTP API.
    let added = run(a.cli().args(["--json", "token", "add", "--name", "ci"]), "");
    added.ok();
    let secret = json_lines(&added.stdout)[0]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let (status, body) = b.http("GET", "/api/v1/list", Some(&secret));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let listing: serde_json::Value = serde_json::from_slice(&body).expect("listing");
    assert_eq!(listing["entries"][0]["name"], "report.txt");

    // A link made on A, good for one download, is used up by B's gateway
    // and gone on A's.
    let made = run(
        a.cli().args([
            "--json",
            "share",
            "add",
            "report.txt",
            "--max-downloads",
            "1",
        ]),
        "",
    );
    made.ok();
    let token = json_lines(&made.stdout)[0]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let file = format!("/api/v1/public/{token}/file");
    assert_eq!(b.http("GET", &file, None), (200, content.to_vec()));
    assert_eq!(
        a.http("GET", &file, None).0,
        410,
        "used up, on every server"
    );
}

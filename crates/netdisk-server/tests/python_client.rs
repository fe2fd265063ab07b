//! Runs the Python client written from docs/PROTOCOL.md against a real
//! server: if the document is incomplete or wrong, this fails.

mod common;

use common::{TestServer, LIMIT};
use netdisk_proto::SiteKey;
use netdisk_server::Transport;
use std::process::Stdio;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/python/netdisk_client.py"
);

async fn python_with_blake3() -> bool {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import blake3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    matches!(probe, Ok(status) if status.success())
}

/// What the test plants in the home beside the Python client's files: two
/// symlinks to a file outside the home, and a FIFO.
struct Planted {
    outside: std::path::PathBuf,
    fifo: std::path::PathBuf,
}

const OUTSIDE_BYTES: &[u8] = b"outside the home: never to be touched";

fn plant(server: &TestServer, user: &str, scratch: &std::path::Path) -> Planted {
    let home = server.home(user);
    let outside = scratch.join("outside.txt");
    std::fs::write(&outside, OUTSIDE_BYTES).expect("outside file");
    for link in ["link-out", "link-out2"] {
        std::os::unix::fs::symlink(&outside, home.join(link)).expect("symlink");
    }
    let fifo = home.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    Planted { outside, fifo }
}

/// Runs the Python client's scenario against `server`; `args` say how to reach it.
async fn run_scenario(server: &TestServer, args: &[String]) {
    let child = tokio::process::Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .args([
            "--addr",
            &server.addr.to_string(),
            "--user",
            "pyuser",
            "--password",
            "py-pass",
            "--unicode-user",
            "zoë:zoe-pass",
            "--planted",
            "--scenario",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start python3");
    let output = tokio::time::timeout(LIMIT, child.wait_with_output())
        .await
        .expect("python client finished in time")
        .expect("python client output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python client failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("python client: all") && stdout.contains("checks passed"),
        "{stdout}"
    );
}

/// Starts a server, adds the users and plants the special files, runs
/// the scenario (`args` say how to reach the server), and checks nothing
/// outside the home was touched.
async fn check_against(
    adjust: impl FnOnce(&mut netdisk_server::ServerConfig),
    args: impl FnOnce(&TestServer) -> Vec<String>,
) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_with(adjust).await;
    server.add_user("pyuser", "py-pass");
    server.add_user("zoë", "zoe-pass");
    let planted = plant(&server, "pyuser", scratch.path());
    run_scenario(&server, &args(&server)).await;
    assert_eq!(
        std::fs::read(&planted.outside).expect("outside file"),
        OUTSIDE_BYTES,
        "an upload or mv onto a link changed the file outside the home"
    );
    use std::os::unix::fs::FileTypeExt;
    let fifo = std::fs::symlink_metadata(&planted.fifo).expect("fifo");
    assert!(fifo.file_type().is_fifo(), "the FIFO was replaced");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_written_from_the_protocol_document_works() {
    if !python_with_blake3().await {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide python3 with the blake3 package (.ci/run installs it)"
        );
        eprintln!("skipped: python3 with the blake3 package is not installed (pip install blake3)");
        return;
    }
    // Over TLS with a site key: the whole of PROTOCOL.md's connection sequence.
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SiteKey::from_bytes((0..32).collect()).expect("key");
    let key_file = dir.path().join("site.key");
    std::fs::write(&key_file, key.to_file_text()).expect("key file");
    check_against(
        |c| {
            c.transport = Transport::Tls;
            c.site_key = Some(key);
        },
        |server| {
            let fingerprint = server.fingerprint.expect("TLS").to_string();
            let key_file = key_file.to_string_lossy().into_owned();
            vec![
                "--site-key".into(),
                key_file,
                "--fingerprint".into(),
                fingerprint,
            ]
        },
    )
    .await;
    // Plaintext, without a site key: the other branch of sections 1 and 4.2.
    check_against(|_| {}, |_| Vec::new()).await;
}

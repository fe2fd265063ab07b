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
    let server = TestServer::start_with(|c| {
        c.transport = Transport::Tls;
        c.site_key = Some(key);
    })
    .await;
    server.add_user("pyuser", "py-pass");
    let fingerprint = server.fingerprint.expect("TLS").to_string();
    let child = tokio::process::Command::new("python3")
        .arg(SCRIPT)
        .arg("--site-key")
        .arg(&key_file)
        .args([
            "--fingerprint",
            &fingerprint,
            "--addr",
            &server.addr.to_string(),
            "--user",
            "pyuser",
            "--password",
            "py-pass",
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
    assert!(stdout.contains("all checks passed"), "{stdout}");
    server.shutdown().await;
}

//! cadaver (Debian's command-line WebDAV client) against a real server:
//! a session that makes a collection, uploads, lists, downloads, sets
//! and reads a property, locks and unlocks, moves, copies and removes,
//! each step checked. cadaver missing is a failure, not a skip.

mod common;

use common::{require_tool, Gateway, PASSWORD};
use netdisk_server::Transport;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cadaver_session_does_what_it_says() {
    let cadaver = require_tool("cadaver");
    let gateway = Gateway::start(Transport::Plaintext, None).await;
    let work = tempfile::tempdir().expect("tempdir");
    // cadaver logs in from ~/.netrc.
    let netrc = work.path().join(".netrc");
    std::fs::write(
        &netrc,
        format!("machine 127.0.0.1\nlogin alice\npassword {PASSWORD}\n"),
    )
    .expect("netrc");
    std::fs::write(work.path().join("local.txt"), b"hello from cadaver\n").expect("local");
    let script = "mkcol docs\ncd docs\nput local.txt\nls\nget local.txt back.txt\n\
                  propset local.txt color blue\npropget local.txt color\n\
                  lock local.txt\nunlock local.txt\nmove local.txt moved.txt\n\
                  copy moved.txt copied.txt\ndelete copied.txt\nls\nquit\n";
    let mut child = tokio::process::Command::new(cadaver)
        .arg(gateway.dav(""))
        .current_dir(work.path())
        .env("HOME", work.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cadaver runs");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(script.as_bytes()).await.expect("script");
    }
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("cadaver within a minute")
        .expect("cadaver output");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "cadaver failed:\n{text}");
    assert!(!text.contains("failed"), "a step failed:\n{text}");
    // mkcol, put, ls, get, propset, lock, unlock, move, copy, delete, ls
    // (propget shows the value instead).
    assert_eq!(text.matches("succeeded").count(), 11, "{text}");
    assert!(
        text.contains("blue"),
        "the property did not come back:\n{text}"
    );
    assert_eq!(
        std::fs::read(work.path().join("back.txt")).expect("downloaded"),
        b"hello from cadaver\n"
    );
    let home = gateway.home("alice").join("docs");
    assert_eq!(
        std::fs::read(home.join("moved.txt")).expect("moved"),
        b"hello from cadaver\n"
    );
    assert!(!home.join("local.txt").exists() && !home.join("copied.txt").exists());
    gateway.stop().await;
}

//! The web UI in a real browser: a real server + gateway on 127.0.0.1:0
//! in this process (tests/common), Chromium driven by playwright-core
//! from `tests/browser/ui.mjs` (node), then a check on disk of what the
//! browser did. Needs `/usr/bin/chromium` and `npm ci` in tests/browser
//! (`.ci/run` installs both); without them the test fails and says so.

mod common;

use common::Gateway;
use netdisk_server::Transport;
use netdisk_store::DataDir;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The whole browser run gets this long; then node is killed and the test fails.
const NODE_LIMIT: Duration = Duration::from_secs(180);
const USER: &str = "alice";
const PASSWORD: &str = "pw";
/// The quota the UI shows (and the uploads must fit in).
const QUOTA: u64 = 64 << 20;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chromium() -> PathBuf {
    std::env::var_os("NETDISK_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// What the test needs besides cargo; missing pieces fail it, loudly.
fn check_prerequisites(script_dir: &Path) {
    let mut missing = Vec::new();
    if !script_dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        missing.push(format!(
            "playwright-core is not installed: run `npm ci` in {} (or .ci/run)",
            script_dir.display()
        ));
    }
    if !chromium().is_file() {
        missing.push(format!(
            "{} is missing: run `apt-get install chromium` (or .ci/run), or set NETDISK_CHROMIUM",
            chromium().display()
        ));
    }
    // playwright-core's package.json asks for Node.js 20 or later.
    match std::process::Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let major = version
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|major| major.parse::<u32>().ok());
            if major.is_none_or(|major| major < 20) {
                missing.push(format!(
                    "node is {version}: playwright-core needs Node.js 20 or later"
                ));
            }
        }
        _ => missing.push("node is not on PATH: install Node.js 20 or later".into()),
    }
    assert!(
        missing.is_empty(),
        "the browser test cannot run:\n  {}",
        missing.join("\n  ")
    );
}

fn same_bytes(home_file: &Path, original: &Path) {
    let stored = std::fs::read(home_file)
        .unwrap_or_else(|e| panic!("{} not stored: {e}", home_file.display()));
    let sent = std::fs::read(original).unwrap_or_else(|e| panic!("{}: {e}", original.display()));
    assert_eq!(
        stored.len(),
        sent.len(),
        "{}: size differs from what the browser sent",
        home_file.display()
    );
    assert!(
        stored == sent,
        "{}: bytes differ from what the browser sent",
        home_file.display()
    );
}

/// All of a child's pipe, as text (lossy: it is for people to read).
async fn read_all(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> String {
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        use tokio::io::AsyncReadExt;
        let _ = pipe.read_to_end(&mut bytes).await;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_web_ui_in_chromium() {
    let script_dir = manifest_dir().join("tests/browser");
    check_prerequisites(&script_dir);

    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    DataDir::open(&gw.root)
        .expect("data dir")
        .users()
        .expect("users")
        .set_quota(USER, Some(QUOTA))
        .expect("quota");
    let origin = gw
        .base
        .strip_suffix("/api/v1")
        .expect("base ends in /api/v1")
        .to_owned();
    let scratch = tempfile::tempdir().expect("scratch dir");
    // Screenshots of this run only (gitignored, under target/).
    let shots = manifest_dir().join("../../target/browser-artifacts");
    if shots.exists() {
        std::fs::remove_dir_all(&shots).expect("old screenshots removed");
    }
    std::fs::create_dir_all(&shots).expect("screenshot dir");

    let started = Instant::now();
    let mut child = tokio::process::Command::new("node")
        .arg(script_dir.join("ui.mjs"))
        .arg(&origin)
        .arg(USER)
        .arg(PASSWORD)
        .arg(&shots)
        .arg(scratch.path())
        .env("NETDISK_CHROMIUM", chromium())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let run = async { tokio::join!(child.wait(), read_all(stdout), read_all(stderr)) };
    let outcome = tokio::time::timeout(NODE_LIMIT, run).await;
    let Ok((status, out, err)) = outcome else {
        let _ = child.kill().await;
        panic!("the browser run took more than {NODE_LIMIT:?}; node was killed");
    };
    println!("--- ui.mjs stdout ---\n{out}--- ui.mjs stderr ---\n{err}---");
    println!(
        "browser run: {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        shots.display()
    );
    let status = status.expect("wait for node");
    assert!(
        status.success(),
        "ui.mjs failed ({status}); its output is above"
    );

    // What the browser did, on disk.
    let home = gw.home(USER);
    let sent = scratch.path().join("files");
    same_bytes(
        &home.join("docs/report-final.bin"),
        &sent.join("report.bin"),
    );
    assert!(!home.join("report.bin").exists(), "renamed away");
    assert!(!home.join("report-final.bin").exists(), "moved into docs");
    same_bytes(&home.join("album/a.jpg"), &sent.join("album/a.jpg"));
    same_bytes(&home.join("album/sub/b.txt"), &sent.join("album/sub/b.txt"));
    let hostile = "<img src=x onerror=alert(1)>.txt";
    same_bytes(&home.join(hostile), &sent.join(hostile));
    same_bytes(&home.join("slow.bin"), &sent.join("slow.bin"));
    same_bytes(&home.join("page.html"), &sent.join("page.html"));
    assert!(
        !home.join("pwned").exists(),
        "page.html's script ran as the app"
    );
    assert!(
        !home.join("forged").exists(),
        "a write without the CSRF token"
    );
    assert!(
        home.join("keep.txt").is_file(),
        "a cancelled delete kept it"
    );
    assert!(
        !home.join("trash.txt").exists(),
        "deleted after confirmation"
    );
    assert!(
        !home.join("old").exists(),
        "folder deleted with its contents"
    );
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(scratch.path().join("report.json")).expect("ui.mjs's report.json"),
    )
    .expect("report json");
    // Cut mid-way, resumed through tus from the server's offset.
    same_bytes(&home.join("big.bin"), &sent.join("big.bin"));
    assert_eq!(report["tus"], "resumed", "the tus step: {}", report["tus"]);
    same_bytes(&home.join("docs/dropped.txt"), &sent.join("dropped.txt"));
    gw.stop().await;
}

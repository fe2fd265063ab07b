//! rclone (Debian's package) as a WebDAV client over TLS: a tree copied
//! up, checked byte for byte against the server (`rclone check
//! --download`), copied back down and compared, and the home on disk
//! compared too. rclone missing is a failure, not a skip.

mod common;

use common::{require_tool, Gateway, PASSWORD};
use netdisk_server::Transport;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A tree with what trips clients: empty files, a file past the store's
/// small-file size, names with spaces and non-ASCII, nested directories,
/// an empty directory.
fn make_tree(root: &Path) {
    let files: [(&str, usize); 8] = [
        ("empty.txt", 0),
        ("small.txt", 11),
        ("docs/report 2024.pdf", 300 * 1024),
        ("docs/été/naïve.md", 4096),
        ("docs/été/deep/er/leaf.bin", 1),
        ("photos/big.raw", 3 * 1024 * 1024 + 17),
        ("photos/._big.raw", 4096),
        ("网盘/文件.txt", 100),
    ];
    for (index, (name, size)) in files.iter().enumerate() {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let body: Vec<u8> = (0..*size).map(|i| (i * 31 + index * 7) as u8).collect();
        std::fs::write(path, body).expect("write");
    }
    std::fs::create_dir_all(root.join("empty dir")).expect("empty dir");
}

/// Every regular file under `root`, by relative path, with its bytes.
fn files_under(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(root).expect("under root").to_owned();
                found.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    found
}

struct Rclone {
    binary: PathBuf,
    config_dir: tempfile::TempDir,
    url: String,
    ca: PathBuf,
    obscured: String,
}

impl Rclone {
    async fn new(gateway: &Gateway) -> Rclone {
        let binary = require_tool("rclone");
        let config_dir = tempfile::tempdir().expect("tempdir");
        let mut rclone = Rclone {
            binary,
            config_dir,
            url: gateway.dav(""),
            ca: gateway.root.join("tls/cert.pem"),
            obscured: String::new(),
        };
        let obscured = rclone.run(&["obscure", PASSWORD]).await;
        rclone.obscured = obscured.trim().to_owned();
        rclone
    }

    /// Runs rclone with a config of its own (the remote `nd:` in
    /// environment variables), bounded in time; panics on failure.
    async fn run(&self, args: &[&str]) -> String {
        let run = tokio::process::Command::new(&self.binary)
            .args(args)
            .arg("--ca-cert")
            .arg(&self.ca)
            .env("RCLONE_CONFIG", self.config_dir.path().join("rclone.conf"))
            .env("RCLONE_CONFIG_ND_TYPE", "webdav")
            .env("RCLONE_CONFIG_ND_URL", &self.url)
            .env("RCLONE_CONFIG_ND_VENDOR", "other")
            .env("RCLONE_CONFIG_ND_USER", "alice")
            .env("RCLONE_CONFIG_ND_PASS", &self.obscured)
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(120), run)
            .await
            .unwrap_or_else(|_| panic!("rclone {args:?} within 2 minutes"))
            .expect("rclone runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "rclone {args:?} failed:\n{stderr}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_copies_a_tree_up_and_down_and_checks_it() {
    let gateway = Gateway::start(Transport::Tls, None).await;
    let rclone = Rclone::new(&gateway).await;
    let work = tempfile::tempdir().expect("tempdir");
    let (source, back) = (work.path().join("source"), work.path().join("back"));
    make_tree(&source);
    let source_text = source.to_str().expect("utf-8 path");
    let back_text = back.to_str().expect("utf-8 path");

    rclone
        .run(&["copy", "--create-empty-src-dirs", source_text, "nd:tree"])
        .await;
    rclone
        .run(&["check", "--download", "--one-way", source_text, "nd:tree"])
        .await;
    let listed = rclone.run(&["lsf", "-R", "nd:tree"]).await;
    assert!(listed.contains("docs/été/naïve.md"), "{listed}");
    assert!(listed.contains("empty dir/"), "{listed}");

    rclone
        .run(&["copy", "--create-empty-src-dirs", "nd:tree", back_text])
        .await;
    assert!(back.join("empty dir").is_dir());
    rclone
        .run(&["check", "--download", source_text, back_text])
        .await;
    let expected = files_under(&source);
    assert_eq!(files_under(&back), expected, "the tree came back changed");
    let stored = files_under(&gateway.home("alice").join("tree"));
    assert_eq!(stored, expected, "the home holds something else");

    // A second copy finds nothing to do, and a sync of a removal removes.
    std::fs::remove_file(source.join("photos/big.raw")).expect("rm");
    rclone.run(&["sync", source_text, "nd:tree"]).await;
    assert!(!gateway.home("alice").join("tree/photos/big.raw").exists());
    rclone
        .run(&["check", "--download", source_text, "nd:tree"])
        .await;
    gateway.stop().await;
}

//! Scenario 9: WebDAV (`/dav/` on the HTTP gateway) as file managers and
//! rclone use it: a big file PUT and GET with `curl` (HTTP Basic, as a
//! mounted drive sends it), as ratios to the raw-TCP baseline, and a
//! folder of small files copied up by `rclone` (its default 4 transfers,
//! and its pacer: a request per 10 ms at most), beside scenario 7's
//! `netdisk put -r` of the same folder.

use crate::report::Figure;
use crate::server::{ServerProcess, PASSWORD, USER};
use crate::trees::Tree;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const MB: f64 = 1_000_000.0;

fn dav_url(server: &ServerProcess) -> String {
    let api = server.http_url();
    format!("{}/dav/", api.trim_end_matches("/api/v1"))
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<String> {
    crate::tool::run(command, what, "scenario 9 needs curl and rclone")
}

fn curl(server: &ServerProcess, root: &Path) -> Command {
    let mut command = Command::new("curl");
    command
        .args(["--silent", "--show-error", "--fail", "--user"])
        .arg(format!("{USER}:{PASSWORD}"));
    if !server.is_plaintext() {
        command.arg("--cacert").arg(root.join("tls/cert.pem"));
    }
    command
}

/// rclone with a WebDAV remote `nd:` in its environment and a config
/// file of its own.
fn rclone(server: &ServerProcess, root: &Path, scratch: &Path) -> anyhow::Result<Command> {
    let obscured = run(
        Command::new("rclone").args(["obscure", PASSWORD]),
        "rclone obscure",
    )?;
    let mut command = Command::new("rclone");
    command
        .env("RCLONE_CONFIG", scratch.join("rclone.conf"))
        .env("RCLONE_CONFIG_ND_TYPE", "webdav")
        .env("RCLONE_CONFIG_ND_URL", dav_url(server))
        .env("RCLONE_CONFIG_ND_VENDOR", "other")
        .env("RCLONE_CONFIG_ND_USER", USER)
        .env("RCLONE_CONFIG_ND_PASS", obscured.trim());
    if !server.is_plaintext() {
        command.arg("--ca-cert").arg(root.join("tls/cert.pem"));
    }
    Ok(command)
}

#[allow(clippy::too_many_arguments)]
pub fn webdav(
    server: &ServerProcess,
    mode: &str,
    root: &Path,
    source: &Path,
    size: u64,
    small_files: usize,
    scratch: &Path,
    baseline: f64,
) -> anyhow::Result<Vec<Figure>> {
    let url = format!("{}big.bin", dav_url(server));
    let started = Instant::now();
    run(
        curl(server, root)
            .arg("--upload-file")
            .arg(source)
            .arg(&url)
            .args(["-o", "/dev/null"]),
        "curl PUT",
    )?;
    let up = size as f64 / started.elapsed().as_secs_f64() / MB;
    let target = scratch.join("dav.back");
    let started = Instant::now();
    run(
        curl(server, root).arg("-o").arg(&target).arg(&url),
        "curl GET",
    )?;
    let down = size as f64 / started.elapsed().as_secs_f64() / MB;
    let got = std::fs::metadata(&target)?.len();
    std::fs::remove_file(&target)?;
    anyhow::ensure!(got == size, "the download has {got} bytes, not {size}");
    let started = Instant::now();
    run(
        curl(server, root).args(["-o", "/dev/null"]).arg(&url),
        "curl GET",
    )?;
    let down_null = size as f64 / started.elapsed().as_secs_f64() / MB;
    run(
        curl(server, root).args(["-X", "DELETE"]).arg(&url),
        "curl DELETE",
    )?;

    let tree = Tree::flat("small files", small_files, 4096);
    let folder = scratch.join("dav-small");
    tree.write(&folder)?;
    let started = Instant::now();
    run(
        rclone(server, root, scratch)?
            .arg("copy")
            .arg(&folder)
            .arg("nd:small"),
        "rclone copy",
    )?;
    let files_per_second = small_files as f64 / started.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&folder)?;

    let note = "curl -u (Basic) 1 process; baseline: raw TCP file->file + fsync, same run";
    Ok(vec![
        Figure::new("9 WebDAV: 1 big file PUT (curl -T)", mode, up, "MB/s")
            .ratio_to(baseline)
            .note(note),
        Figure::new("9 WebDAV: 1 big file GET (curl)", mode, down, "MB/s")
            .ratio_to(baseline)
            .note(note),
        Figure::new(
            "9 WebDAV: 1 big file GET, /dev/null",
            mode,
            down_null,
            "MB/s",
        )
        .ratio_to(baseline)
        .note("curl -o /dev/null: no client-side write"),
        Figure::new(
            &format!("9 WebDAV: rclone copy of {small_files} files of 4 KiB"),
            mode,
            files_per_second,
            "files/s",
        )
        .note("rclone copy, 4 transfers; paced by rclone (a request per 10 ms at most)"),
    ])
}

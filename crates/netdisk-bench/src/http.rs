//! Scenario 8: the HTTP API as scripts use it, with `curl` (the system's,
//! a process per request, as people run it): a big file up (PUT with its
//! BLAKE3, verified and committed durably) and down, as ratios to the
//! raw-TCP baseline; and one-shot uploads of 1 byte with a personal token,
//! process start, TLS handshake and durable commit included (the figure
//! issue #19 compares with dufs + curl's 8.5 ms).

use crate::report::Figure;
use crate::scenarios::median;
use crate::server::{ServerProcess, PASSWORD, USER};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const MB: f64 = 1_000_000.0;
/// One-shot uploads timed for the 1-byte figure.
const TINY_RUNS: usize = 30;

/// `curl` against the server's HTTP gateway, trusting its certificate.
fn curl(server: &ServerProcess, root: &Path) -> Command {
    let mut command = Command::new("curl");
    command.args(["--silent", "--show-error", "--fail"]);
    if !server.is_plaintext() {
        command.arg("--cacert").arg(root.join("tls/cert.pem"));
    }
    command
}

fn run(command: &mut Command) -> anyhow::Result<String> {
    crate::tool::run(
        command,
        "curl",
        "scenario 8 needs curl: apt-get install curl",
    )
}

fn token_from(answer: &str, field: &str) -> anyhow::Result<String> {
    let json: serde_json::Value = serde_json::from_str(answer)?;
    json[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no {field} in {answer}"))
}

pub fn http_api(
    server: &ServerProcess,
    mode: &str,
    root: &Path,
    source: &Path,
    size: u64,
    scratch: &Path,
    baseline: f64,
) -> anyhow::Result<Vec<Figure>> {
    let api = server.http_url();
    let login = run(curl(server, root)
        .arg(format!("{api}/login"))
        .args(["-H", "content-type: application/json"])
        .arg("--data")
        .arg(serde_json::json!({ "user": USER, "password": PASSWORD }).to_string()))?;
    let session = token_from(&login, "token")?;
    let bearer = format!("authorization: Bearer {session}");
    let hash = blake3::Hasher::new()
        .update_mmap(source)?
        .finalize()
        .to_hex()
        .to_string();

    let started = Instant::now();
    run(curl(server, root)
        .args(["-H", &bearer, "-H", &format!("x-netdisk-blake3: {hash}")])
        .arg("--upload-file")
        .arg(source)
        .arg(format!("{api}/files/big.bin"))
        .args(["-o", "/dev/null"]))?;
    let up = size as f64 / started.elapsed().as_secs_f64() / MB;
    let target = scratch.join("http.back");
    let started = Instant::now();
    run(curl(server, root)
        .args(["-H", &bearer, "-o"])
        .arg(&target)
        .arg(format!("{api}/files/big.bin")))?;
    let down = size as f64 / started.elapsed().as_secs_f64() / MB;
    let got = std::fs::metadata(&target)?.len();
    std::fs::remove_file(&target)?;
    anyhow::ensure!(got == size, "the download has {got} bytes, not {size}");
    // curl's buffered writes into a page cache full of the upload's dirty
    // pages are throttled by the kernel: the same download into /dev/null
    // shows what the server and the transport do.
    let started = Instant::now();
    run(curl(server, root)
        .args(["-H", &bearer, "-o", "/dev/null"])
        .arg(format!("{api}/files/big.bin")))?;
    let down_null = size as f64 / started.elapsed().as_secs_f64() / MB;
    run(curl(server, root)
        .args(["-X", "DELETE", "-H", &bearer])
        .arg(format!("{api}/files/big.bin")))?;

    let made = run(curl(server, root)
        .args(["-H", &bearer, "-H", "content-type: application/json"])
        .arg("--data")
        .arg(r#"{"name":"bench"}"#)
        .arg(format!("{api}/tokens")))?;
    let personal = format!("authorization: Bearer {}", token_from(&made, "token")?);
    let one_byte = scratch.join("one-byte");
    std::fs::write(&one_byte, b"x")?;
    let mut times = Vec::with_capacity(TINY_RUNS);
    for n in 0..TINY_RUNS {
        let started = Instant::now();
        run(curl(server, root)
            .args(["-H", &personal, "--upload-file"])
            .arg(&one_byte)
            .arg(format!("{api}/files/tiny-{n}"))
            .args(["-o", "/dev/null"]))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // What of that is curl starting, alone (it moves with the machine:
    // 5 ms one day, 13 ms another): the rest is the request's.
    let mut starts = Vec::with_capacity(TINY_RUNS);
    for _ in 0..TINY_RUNS {
        let started = Instant::now();
        run(Command::new("curl").arg("--version"))?;
        starts.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    let note = "curl 1 process; baseline: raw TCP file->file + fsync, same run";
    Ok(vec![
        Figure::new("8 HTTP API: 1 big file up (curl -T)", mode, up, "MB/s")
            .ratio_to(baseline)
            .note(note),
        Figure::new("8 HTTP API: 1 big file down (curl)", mode, down, "MB/s")
            .ratio_to(baseline)
            .note(note),
        Figure::new(
            "8 HTTP API: 1 big file down, /dev/null",
            mode,
            down_null,
            "MB/s",
        )
        .ratio_to(baseline)
        .note("curl -o /dev/null: no client-side write"),
        Figure::new(
            "8 HTTP API: curl upload of 1 byte",
            mode,
            median(&times),
            "ms",
        )
        .note(&format!(
            "median of {TINY_RUNS}, personal token, process start + {} + durable commit",
            if server.is_plaintext() { "TCP" } else { "TLS" }
        )),
        Figure::new(
            "8 HTTP API: curl --version alone",
            mode,
            median(&starts),
            "ms",
        )
        .note(&format!(
            "median of {TINY_RUNS}: the process start inside the figure above"
        )),
    ])
}

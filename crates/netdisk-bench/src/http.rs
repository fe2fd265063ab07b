//! Scenario 8: the HTTP API as scripts use it, with `curl` (the system's,
//! a process per request, as people run it): a big file up (PUT with its
//! BLAKE3, verified and committed durably) and down, as ratios to the
//! raw-TCP baseline; and one-shot uploads of 1 byte with a personal token,
//! process start, TLS handshake and durable commit included. The big file
//! also goes down through the bench's own client (`http_client.rs`), which
//! takes it as `netdisk get` does (a writer thread, then fsync). Beside
//! it, when `dufs` is installed, the same requests against dufs serving a
//! directory with the same certificate (the reference issue #19 names),
//! in the same rounds.

use crate::dufs::Dufs;
use crate::http_client::{Auth, Download};
use crate::report::Figure;
use crate::scenarios::{median, settle};
use crate::server::{ServerProcess, PASSWORD, USER};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const MB: f64 = 1_000_000.0;
/// One-shot uploads timed for the 1-byte figure.
const TINY_RUNS: usize = 30;

/// An HTTP file server the bench talks to: where its files are, and what
/// every request carries (trust and authentication).
pub struct HttpTarget {
    /// Label in the figures ("8 HTTP API", "8 dufs").
    pub name: &'static str,
    /// The URL files live under, without a trailing slash.
    pub files: String,
    /// The server's certificate, trusted as a root (over TLS).
    pub ca: Option<PathBuf>,
    pub auth: Auth,
}

impl HttpTarget {
    fn curl(&self) -> Command {
        let mut command = Command::new("curl");
        command.args(["--silent", "--show-error", "--fail"]);
        if let Some(ca) = &self.ca {
            command.arg("--cacert").arg(ca);
        }
        match &self.auth {
            Auth::None => {}
            Auth::Bearer(token) => {
                command.args(["-H", &format!("authorization: Bearer {token}")]);
            }
            Auth::Basic { user, password } => {
                command.args(["-u", &format!("{user}:{password}")]);
            }
        }
        command
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.files)
    }

    /// The file `name` into `target` with the bench's own client.
    fn download(&self, name: &str, target: &Path) -> Download {
        Download {
            url: self.url(name),
            auth: self.auth.clone(),
            ca: self.ca.clone(),
            target: target.to_owned(),
        }
    }
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

/// One round of the big file through one server, in MB/s.
struct BigFileRun {
    up: f64,
    down: f64,
    down_null: f64,
    /// Down into a file with the bench's own client, fsync'd.
    down_own: f64,
    reference: f64,
}

/// The big file up (with `upload_args`), down into a file, down into
/// `/dev/null`, down with the bench's own client, then deleted. Each
/// transfer starts with the file system written back (as the baseline
/// does), so no transfer pays for the writeback of the one before, and a
/// server that does not fsync is not charged for it in the next
/// measurement either.
fn big_file_round(
    target: &HttpTarget,
    upload_args: &[String],
    source: &Path,
    size: u64,
    scratch: &Path,
    reference: f64,
) -> anyhow::Result<BigFileRun> {
    let elapsed_mbs = |started: Instant| size as f64 / started.elapsed().as_secs_f64() / MB;
    settle(scratch)?;
    let started = Instant::now();
    run(target
        .curl()
        .args(upload_args)
        .arg("--upload-file")
        .arg(source)
        .arg(target.url("big.bin"))
        .args(["-o", "/dev/null"]))?;
    let up = elapsed_mbs(started);

    let back = scratch.join("http.back");
    settle(scratch)?;
    let started = Instant::now();
    run(target
        .curl()
        .arg("-o")
        .arg(&back)
        .arg(target.url("big.bin")))?;
    let down = elapsed_mbs(started);
    remove_whole(target, &back, size)?;

    // Into /dev/null: what the server and the transport do, without
    // curl's own writes into the page cache.
    settle(scratch)?;
    let started = Instant::now();
    run(target
        .curl()
        .args(["-o", "/dev/null"])
        .arg(target.url("big.bin")))?;
    let down_null = elapsed_mbs(started);

    settle(scratch)?;
    let started = Instant::now();
    target.download("big.bin", &back).run()?;
    let down_own = elapsed_mbs(started);
    remove_whole(target, &back, size)?;
    run(target
        .curl()
        .args(["-X", "DELETE"])
        .arg(target.url("big.bin")))?;
    Ok(BigFileRun {
        up,
        down,
        down_null,
        down_own,
        reference,
    })
}

/// Removes a downloaded copy, failing unless it had all `size` bytes.
fn remove_whole(target: &HttpTarget, copy: &Path, size: u64) -> anyhow::Result<()> {
    let got = std::fs::metadata(copy)?.len();
    std::fs::remove_file(copy)?;
    anyhow::ensure!(
        got == size,
        "{}: the download has {got} bytes, not {size}",
        target.name
    );
    Ok(())
}

/// Median milliseconds of `TINY_RUNS` one-shot uploads of 1 byte to each
/// target, and of `curl --version` alone (the process start inside
/// them), taken in turns so that the machine's drift (process start moves
/// from 5 to 13 ms between runs here) weighs on each alike.
fn one_shot_uploads(targets: &[&HttpTarget], scratch: &Path) -> anyhow::Result<Vec<f64>> {
    let one_byte = scratch.join("one-byte");
    std::fs::write(&one_byte, b"x")?;
    let mut times = vec![Vec::with_capacity(TINY_RUNS); targets.len() + 1];
    let timed = |command: &mut Command| -> anyhow::Result<f64> {
        let started = Instant::now();
        run(command)?;
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    };
    for n in 0..TINY_RUNS {
        for (target, times) in targets.iter().zip(&mut times) {
            times.push(timed(
                target
                    .curl()
                    .arg("--upload-file")
                    .arg(&one_byte)
                    .arg(target.url(&format!("tiny-{n}")))
                    .args(["-o", "/dev/null"]),
            )?);
        }
        times[targets.len()].push(timed(Command::new("curl").arg("--version"))?);
    }
    Ok(times.iter().map(|t| median(t)).collect())
}

fn big_file_figures(name: &str, mode: &str, runs: &[BigFileRun], note: &str) -> Vec<Figure> {
    let speed = |what: &str, pick: fn(&BigFileRun) -> f64| {
        let values: Vec<f64> = runs.iter().map(pick).collect();
        let ratios: Vec<f64> = runs.iter().map(|run| pick(run) / run.reference).collect();
        let mut figure = Figure::new(&format!("{name}: {what}"), mode, median(&values), "MB/s")
            .note(&format!(
                "{note}; median of {} rounds, each against its own baseline",
                runs.len()
            ));
        figure.ratio = Some(median(&ratios));
        figure
    };
    vec![
        speed("1 big file up (curl -T)", |run| run.up),
        speed("1 big file down (curl)", |run| run.down),
        speed("1 big file down, /dev/null", |run| run.down_null),
        speed("1 big file down (own client, fsync)", |run| run.down_own),
    ]
}

/// Logs in to the gateway and makes a personal token: the two targets
/// (the session for the big file, the token for one-shot uploads).
fn netdisk_targets(server: &ServerProcess, root: &Path) -> anyhow::Result<[HttpTarget; 2]> {
    let api = server.http_url();
    let ca = (!server.is_plaintext()).then(|| root.join("tls/cert.pem"));
    let bearer = |token: String| HttpTarget {
        name: "8 HTTP API",
        files: format!("{api}/files"),
        ca: ca.clone(),
        auth: Auth::Bearer(token),
    };
    let anonymous = HttpTarget {
        name: "8 HTTP API",
        files: api.clone(),
        ca: ca.clone(),
        auth: Auth::None,
    };
    let login = run(anonymous
        .curl()
        .arg(format!("{api}/login"))
        .args(["-H", "content-type: application/json"])
        .arg("--data")
        .arg(serde_json::json!({ "user": USER, "password": PASSWORD }).to_string()))?;
    let session = bearer(token_from(&login, "token")?);
    let made = run(session
        .curl()
        .args(["-H", "content-type: application/json"])
        .arg("--data")
        .arg(r#"{"name":"bench"}"#)
        .arg(format!("{api}/tokens")))?;
    let personal = bearer(token_from(&made, "token")?);
    Ok([session, personal])
}

#[allow(clippy::too_many_arguments)]
pub fn http_api(
    server: &ServerProcess,
    mode: &str,
    root: &Path,
    source: &Path,
    size: u64,
    scratch: &Path,
    rounds: usize,
    baseline: &mut dyn FnMut() -> anyhow::Result<f64>,
) -> anyhow::Result<Vec<Figure>> {
    let [session, personal] = netdisk_targets(server, root)?;
    let hash = blake3::Hasher::new()
        .update_mmap(source)?
        .finalize()
        .to_hex()
        .to_string();
    let verified = ["-H".to_owned(), format!("x-netdisk-blake3: {hash}")];
    let dufs = Dufs::start(server, root, scratch)?;
    if dufs.is_none() {
        eprintln!("8: dufs not found (PATH or NETDISK_BENCH_DUFS): measured without it");
    }

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let reference = baseline()?;
        let run = big_file_round(&session, &verified, source, size, scratch, reference)?;
        eprintln!(
            "8 [{mode}]: netdisk up {:.0}, down {:.0}, to /dev/null {:.0}, own client {:.0} MB/s",
            run.up, run.down, run.down_null, run.down_own
        );
        ours.push(run);
        if let Some(dufs) = &dufs {
            let run = big_file_round(dufs.target(), &[], source, size, scratch, reference)?;
            eprintln!(
                "8 [{mode}]: dufs up {:.0}, down {:.0}, to /dev/null {:.0}, own client {:.0} MB/s",
                run.up, run.down, run.down_null, run.down_own
            );
            theirs.push(run);
        }
    }
    let mut figures = big_file_figures(
        "8 HTTP API",
        mode,
        &ours,
        "upload verified (BLAKE3) and durable",
    );

    let mut targets = vec![&personal];
    if let Some(dufs) = &dufs {
        figures.extend(big_file_figures(
            "8 dufs",
            mode,
            &theirs,
            "same curl, dufs, no fsync",
        ));
        targets.push(dufs.target());
    }
    let medians = one_shot_uploads(&targets, scratch)?;
    let transport = if server.is_plaintext() { "TCP" } else { "TLS" };
    let what = ["personal token, durable commit", "basic auth, no fsync"];
    for ((target, ms), what) in targets.iter().zip(&medians).zip(what) {
        figures.push(
            Figure::new(
                &format!("{}: curl upload of 1 byte", target.name),
                mode,
                *ms,
                "ms",
            )
            .note(&format!(
                "median of {TINY_RUNS}, in turns; process start + {transport} + {what}"
            )),
        );
    }
    figures.push(
        Figure::new("8 curl --version alone", mode, medians[targets.len()], "ms").note(&format!(
            "median of {TINY_RUNS}, in turns: the process start inside the figures above"
        )),
    );
    Ok(figures)
}

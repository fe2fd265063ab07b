//! `cargo run --release -p netdisk-bench`: starts a real netdisk server on
//! loopback (a child process), runs every scenario in plaintext and TLS,
//! and prints each figure beside the raw-TCP baseline measured in the same
//! run, as a table and as JSON. `--quick` runs small sizes in about a minute.

mod baseline;
mod cluster;
mod dufs;
mod http;
mod http_client;
mod report;
mod s3;
mod scenarios;
mod server;
mod tool;
mod trees;
mod webdav;

use clap::{Parser, Subcommand};
use report::Figure;
use scenarios::Sizes;
use server::ServerProcess;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "netdisk benchmarks against the raw-TCP limit")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Small sizes: the whole run in about a minute.
    #[arg(long)]
    quick: bool,
    /// Scenarios to run, by number (1-10); all by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<u8>,
    /// Modes to run: plaintext, tls, cluster (TLS on a PostgreSQL catalog
    /// and a 3-node Garage: scenarios 1-3 only).
    #[arg(long, value_delimiter = ',', default_values = ["plaintext", "tls"])]
    modes: Vec<String>,
    /// Where to write the figures as JSON.
    #[arg(long, default_value = "target/bench/results.json")]
    json: PathBuf,
    /// Directory for the data and scratch files (default: the system's temp dir).
    #[arg(long)]
    scratch: Option<PathBuf>,
    /// Rounds of the big-file scenario, each beside a fresh baseline run;
    /// the medians are reported (disk and page-cache noise is large here).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

#[derive(Subcommand)]
enum Command {
    /// (internal) Run the server under test.
    Serve {
        #[arg(long)]
        root: PathBuf,
        #[arg(long)]
        plaintext: bool,
        /// The scale-out back-end's catalog and bucket (both, or neither).
        #[arg(long, requires = "objects")]
        store: Option<String>,
        #[arg(long, requires = "store")]
        objects: Option<String>,
    },
}

fn sizes(quick: bool) -> Sizes {
    if quick {
        Sizes {
            big_file: 256 << 20,
            small_files: 500,
            concurrent_clients: 16,
            concurrent_size: 8 << 20,
            ls_clients: 100,
            ls_requests: 20,
            idle_connections: 1000,
            login_seconds: 1.0,
            photo_files: 50,
            mixed_files: 150,
        }
    } else {
        Sizes {
            big_file: 1 << 30,
            small_files: 2000,
            concurrent_clients: 16,
            concurrent_size: 64 << 20,
            ls_clients: 100,
            ls_requests: 100,
            idle_connections: 10_000,
            login_seconds: 3.0,
            photo_files: 200,
            mixed_files: 600,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    netdisk_fileio::keep_chunk_memory();
    let args = Args::parse();
    if let Some(Command::Serve {
        root,
        plaintext,
        store,
        objects,
    }) = args.command
    {
        let shared = store.as_deref().zip(objects.as_deref());
        return server::serve(&root, plaintext, shared).await;
    }
    server::raise_fd_limit();
    let sizes = sizes(args.quick);
    let wanted = |n: u8| args.only.is_empty() || args.only.contains(&n);
    let scratch = match &args.scratch {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let mut figures: Vec<Figure> = Vec::new();

    // The big file and the baseline serve scenarios 1, 8, 9 and 10 only: made for
    // nothing, they would fill the page cache the others are measured in.
    let source = scratch.path().join("big.bin");
    if wanted(1) || wanted(8) || wanted(9) || wanted(10) {
        scenarios::make_file(&source, sizes.big_file)?;
        scenarios::settle(&source)?;
    }
    let rounds = args.rounds.max(1);
    let mut baselines = Vec::new();
    let mut raw_tcp = || -> anyhow::Result<f64> {
        let copy = scratch.path().join("raw.copy");
        let elapsed = baseline::file_to_file(&source, &copy)?;
        std::fs::remove_file(copy)?;
        let mbs = sizes.big_file as f64 / elapsed.as_secs_f64() / 1e6;
        eprintln!("baseline: {mbs:.0} MB/s");
        baselines.push(mbs);
        Ok(mbs)
    };
    let mut first_baseline = if wanted(1) || wanted(8) || wanted(9) || wanted(10) {
        Some(raw_tcp()?)
    } else {
        None
    };
    // A baseline for the next measurement: the first one made above,
    // then a fresh run each time.
    let mut baseline = || -> anyhow::Result<f64> {
        match first_baseline.take() {
            Some(mbs) => Ok(mbs),
            None => raw_tcp(),
        }
    };
    for mode in &args.modes {
        let (plaintext, cluster) = match mode.as_str() {
            "plaintext" => (true, None),
            "tls" => (false, None),
            "cluster" => match cluster::Cluster::start().await? {
                Some(cluster) => (false, Some(cluster)),
                None => continue,
            },
            other => anyhow::bail!("unknown mode {other:?} (plaintext, tls, cluster)"),
        };
        // Scenarios 4-9 measure what the back-end does not change (ls,
        // memory, logins) or need the HTTP gateway, not on a catalog yet.
        let local = cluster.is_none();
        let wanted = |n: u8| wanted(n) && (local || n <= 3);
        let root = scratch.path().join(format!("data-{mode}"));
        let server = ServerProcess::start(&root, plaintext, cluster.as_ref())?;
        let mut single_stream = None;
        if wanted(1) {
            let mut runs = Vec::new();
            for _ in 0..rounds {
                // The first round reuses the baseline run above.
                let reference = baseline()?;
                let run = scenarios::big_file(
                    &server,
                    &source,
                    sizes.big_file,
                    scratch.path(),
                    reference,
                )
                .await?;
                eprintln!(
                    "1 big file [{mode}]: upload {:.0} MB/s ({:.2} server CPU s/GiB), download {:.0} MB/s ({:.2} server CPU s/GiB)",
                    run.up, run.up_cpu, run.down, run.down_cpu
                );
                runs.push(run);
            }
            let got = scenarios::big_file_figures(mode, &runs);
            single_stream = Some(got[0].value);
            report(&mut figures, got);
        }
        if wanted(2) {
            let got =
                scenarios::small_files(&server, mode, sizes.small_files, scratch.path()).await?;
            report(&mut figures, got);
        }
        if wanted(3) {
            let got =
                scenarios::concurrent_uploads(&server, mode, &sizes, scratch.path(), single_stream)
                    .await?;
            report(&mut figures, got);
        }
        if wanted(4) {
            report(
                &mut figures,
                scenarios::ls_latency(&server, mode, &sizes).await?,
            );
        }
        if wanted(5) {
            report(
                &mut figures,
                scenarios::idle_memory(&server, mode, sizes.idle_connections).await?,
            );
        }
        if wanted(6) {
            report(
                &mut figures,
                scenarios::logins(&server, mode, sizes.login_seconds, scratch.path()).await?,
            );
        }
        if wanted(7) {
            for tree in [
                trees::Tree::flat("photo folder", sizes.photo_files, 1 << 20),
                trees::Tree::flat("small files", sizes.small_files, 4096),
                trees::Tree::mixed("mixed tree", sizes.mixed_files),
            ] {
                report(
                    &mut figures,
                    trees::tree_transfers(&server, mode, &tree, rounds, scratch.path())?,
                );
            }
        }
        if wanted(8) {
            // Each round beside a baseline of its own, measured just before.
            report(
                &mut figures,
                http::http_api(
                    &server,
                    mode,
                    &root,
                    &source,
                    sizes.big_file,
                    scratch.path(),
                    rounds,
                    &mut baseline,
                )?,
            );
        }
        if wanted(9) {
            let reference = baseline()?;
            report(
                &mut figures,
                webdav::webdav(
                    &server,
                    mode,
                    &root,
                    &source,
                    sizes.big_file,
                    sizes.small_files,
                    scratch.path(),
                    reference,
                )?,
            );
        }
    }
    if wanted(10) {
        // Once, not per mode: the engine speaks plain HTTP on loopback.
        let reference = baseline()?;
        report(
            &mut figures,
            s3::s3_engine(&source, sizes.big_file, scratch.path(), reference).await?,
        );
    }
    if !baselines.is_empty() {
        figures.insert(
            0,
            Figure::new(
                "0 raw TCP file->file + fsync",
                "raw",
                scenarios::median(&baselines),
                "MB/s",
            )
            .note(&format!("median of {} runs", baselines.len())),
        );
    }
    println!();
    report::print_table(&figures);
    if let Some(dir) = args.json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let json = serde_json::json!({
        "quick": args.quick,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "figures": figures,
    });
    std::fs::write(&args.json, serde_json::to_string_pretty(&json)?)?;
    println!("\nfigures saved to {}", args.json.display());
    Ok(())
}

/// Keeps figures and shows each as it comes (a long run shows progress).
fn report(figures: &mut Vec<Figure>, got: Vec<Figure>) {
    for figure in &got {
        eprintln!(
            "{} [{}]: {:.2} {}",
            figure.scenario, figure.mode, figure.value, figure.unit
        );
    }
    figures.extend(got);
}

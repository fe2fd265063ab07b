//! `netdisk`: the server (`netdisk serve`), user administration
//! (`netdisk user ...`) and the client commands, in one binary.

mod accounts;
mod address;
mod cli;
mod config_file;
mod filter;
mod incremental;
mod kept;
mod keygen;
mod known_hosts;
mod links;
mod login;
mod output;
mod password;
mod remote;
mod remote_glob;
mod saved_logins;
mod serve;
mod shell;
mod size;
mod transfer;
mod tree;
mod user_config;
mod users;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

/// Failures were reported already, one line each; exit non-zero.
#[derive(Debug)]
pub struct AlreadyReported;

impl std::fmt::Display for AlreadyReported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("some operations failed")
    }
}

impl std::error::Error for AlreadyReported {}

/// What error reports say first, after "netdisk: ": while `netdisk shell`
/// runs a line of a script, "line N: ", so every failure names its line.
static REPORT_PREFIX: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Sets what later error reports say first (see `REPORT_PREFIX`).
pub fn set_report_prefix(prefix: String) {
    *REPORT_PREFIX.lock().unwrap_or_else(|e| e.into_inner()) = prefix;
}

/// Prints one error line: "netdisk: what failed: why".
pub fn report(error: &anyhow::Error) {
    let text = format!("{error:#}").replace(['\n', '\r'], " ");
    let prefix = REPORT_PREFIX
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    output::print_error_line(format_args!("netdisk: {prefix}{text}"));
}

/// Diagnostics go to stderr, or (for the server, when configured) a file.
pub fn init_logging(default: &str, file: Option<&str>) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match file {
        None | Some("stderr") => builder
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        Some(path) => {
            let log = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("server log {path}: {e}"))?;
            builder
                .with_writer(std::sync::Mutex::new(log))
                .with_ansi(false)
                .init()
        }
    }
    Ok(())
}

/// How long, after the work is done, the process waits for threads still
/// in a blocking call (a disk that hangs, say) before it exits anyway.
/// Dropping a tokio runtime would wait for them without limit.
const BLOCKING_CALLS_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

fn main() -> ExitCode {
    netdisk_fileio::keep_chunk_memory();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            crate::output::print_error_line(format_args!(
                "netdisk: cannot start the async runtime: {e}"
            ));
            return ExitCode::from(1);
        }
    };
    let status = runtime.block_on(run(Cli::parse()));
    runtime.shutdown_timeout(BLOCKING_CALLS_LIMIT);
    status
}

async fn run(cli: Cli) -> ExitCode {
    let target = remote::Target {
        remote: &cli.remote,
        security: &cli.security,
        trust: &cli.trust,
    };
    let output = output::Output {
        json: cli.json,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args, &cli.security).await,
        Command::User(command) => users::run(command).await,
        Command::Keygen { file, force } => keygen::run(&file, force),
        Command::Shell => match init_logging("warn", None) {
            Ok(()) => shell::run(target, output).await,
            Err(e) => Err(e),
        },
        Command::Login => match init_logging("warn", None) {
            Ok(()) => login::save(target, output).await,
            Err(e) => Err(e),
        },
        Command::Logout => login::forget(target, output),
        Command::Remote(command) => match init_logging("warn", None) {
            Ok(()) => remote::run(target, output, command).await,
            Err(e) => Err(e),
        },
    };
    match result {
        // As a program stopped by SIGPIPE would show (128 + 13), but only
        // once the work is done.
        Ok(()) if output::stdout_lost() => ExitCode::from(141),
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if error.downcast_ref::<AlreadyReported>().is_none() {
                report(&error);
            }
            ExitCode::from(1)
        }
    }
}

//! `netdisk`: the server (`netdisk serve`), user administration
//! (`netdisk user ...`) and the client commands, in one binary.

mod cli;
mod output;
mod password;
mod remote;
mod serve;
mod shell;
mod size;
mod transfer;
mod tree;
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

/// Prints one error line: "netdisk: what failed: why".
pub fn report(error: &anyhow::Error) {
    let text = format!("{error:#}").replace(['\n', '\r'], " ");
    eprintln!("netdisk: {text}");
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            init_logging("info");
            serve::run(args).await
        }
        Command::User(command) => users::run(command),
        Command::Shell => {
            init_logging("warn");
            let output = output::Output {
                json: cli.json,
                quiet: cli.quiet,
            };
            shell::run(&cli.remote, output).await
        }
        Command::Remote(command) => {
            init_logging("warn");
            let output = output::Output {
                json: cli.json,
                quiet: cli.quiet,
            };
            remote::run(&cli.remote, output, command).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if error.downcast_ref::<AlreadyReported>().is_none() {
                report(&error);
            }
            ExitCode::from(1)
        }
    }
}

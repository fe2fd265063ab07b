//! echo: the seeds' first server (socketserver), answering each line with
//! it in upper case, for many clients at once. It runs on netdisk's accept
//! loop (connection caps, graceful shutdown on Ctrl-C) and reads lines with
//! a length limit, so no client can make it buffer without bound.
//!
//! ```sh
//! cargo run --example echo -- serve --listen 127.0.0.1:7421
//! cargo run --example echo -- client --server 127.0.0.1:7421   # type lines; q quits
//! ```

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use netdisk_server::{close_lingering, serve_connections, ConnectionLimits};
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};

/// Longest line accepted, in bytes.
pub const MAX_LINE: usize = 4096;
/// How long a client may stay silent before the server hangs up.
const IDLE: Duration = Duration::from_secs(300);

#[derive(Parser)]
#[command(about = "Upper-case echo over TCP, one line at a time")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[arg(long, default_value = "127.0.0.1:7421")]
        listen: String,
        /// Clients served at once.
        #[arg(long, default_value_t = 256)]
        max_clients: usize,
    },
    /// Send the lines typed on standard input; `q` quits.
    Client {
        #[arg(long, default_value = "127.0.0.1:7421")]
        server: String,
    },
}

/// Serves until `shutdown` completes.
pub async fn serve(listener: TcpListener, max_clients: usize, shutdown: impl Future<Output = ()>) {
    let limits = ConnectionLimits {
        total: max_clients,
        per_address: max_clients,
        grace_period: Duration::from_secs(5),
    };
    serve_connections(
        listener,
        limits,
        shutdown,
        |stream, _peer, cancel| async move {
            tokio::select! {
                () = answer(stream) => {}
                () = cancel.cancelled() => {}
            }
        },
        |stream, _peer, why| async move {
            let mut lines = Framed::new(stream, LinesCodec::new());
            let _ = lines.send(format!("error: {why}")).await;
        },
    )
    .await;
}

/// One client: each line back in upper case until it closes or errs.
async fn answer(stream: TcpStream) {
    let mut lines = Framed::new(stream, LinesCodec::new_with_max_length(MAX_LINE));
    loop {
        let reply = match tokio::time::timeout(IDLE, lines.next()).await {
            Err(_) => "error: idle for too long; goodbye".to_owned(),
            Ok(None) => return,
            Ok(Some(Ok(line))) => line.to_uppercase(),
            Ok(Some(Err(LinesCodecError::MaxLineLengthExceeded))) => {
                format!("error: line longer than {MAX_LINE} bytes; goodbye")
            }
            Ok(Some(Err(LinesCodecError::Io(_)))) => return,
        };
        let last = reply.starts_with("error: ");
        if lines.send(reply).await.is_err() {
            return;
        }
        if last {
            // The rest of an overlong line may still be unread: drain it,
            // or the close resets the connection and the error is lost.
            close_lingering(lines.get_mut()).await;
            return;
        }
    }
}

/// Sends each input line and writes each answer to `output`; stops at `q`,
/// at the end of input, or when the server hangs up.
pub async fn client(
    server: &str,
    input: impl AsyncBufRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> anyhow::Result<()> {
    let stream = TcpStream::connect(server).await?;
    let mut lines = Framed::new(stream, LinesCodec::new_with_max_length(MAX_LINE));
    let mut input = input.lines();
    while let Some(line) = input.next_line().await? {
        if line.trim() == "q" {
            break;
        }
        lines.send(line).await?;
        match lines.next().await {
            Some(Ok(answer)) => {
                output.write_all(format!("{answer}\n").as_bytes()).await?;
                if answer.starts_with("error: ") {
                    anyhow::bail!("the server hung up: {answer}");
                }
            }
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("the server closed the connection"),
        }
    }
    output.flush().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Serve {
            listen,
            max_clients,
        } => {
            let listener = TcpListener::bind(&listen).await?;
            println!("echo listening on {}", listener.local_addr()?);
            serve(listener, max_clients, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
            Ok(())
        }
        Command::Client { server } => {
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            client(&server, stdin, tokio::io::stdout()).await
        }
    }
}

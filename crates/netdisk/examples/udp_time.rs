//! udp_time: the seeds' UDP time server. A client sends a strftime format
//! (an empty datagram means `%Y-%m-%d %H:%M:%S`) and gets the server's
//! local time in that format. An invalid format or an oversized datagram
//! gets an error reply (`error: ...`), never a crash. With `--echo` the
//! server sends every datagram back as it came instead.
//!
//! ```sh
//! cargo run --example udp_time -- serve --listen 127.0.0.1:7423
//! cargo run --example udp_time -- ask --server 127.0.0.1:7423 '%H:%M'
//! ```

use chrono::format::{Item, StrftimeItems};
use clap::{Parser, Subcommand};
use std::future::Future;
use std::time::Duration;
use tokio::net::UdpSocket;

/// Longest format accepted, in bytes.
pub const MAX_FORMAT: usize = 256;
pub const DEFAULT_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

#[derive(Parser)]
#[command(about = "Local time (or an echo) over UDP")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[arg(long, default_value = "127.0.0.1:7423")]
        listen: String,
        /// Echo datagrams back instead of telling the time.
        #[arg(long)]
        echo: bool,
    },
    /// Ask the server once and print its answer.
    Ask {
        #[arg(long, default_value = "127.0.0.1:7423")]
        server: String,
        /// A strftime format such as "%H:%M:%S" (default: the date and time).
        #[arg(default_value = "")]
        format: String,
    },
}

/// The answer to one datagram in time mode.
pub fn answer(datagram: &[u8]) -> String {
    if datagram.len() > MAX_FORMAT {
        return format!("error: a format has at most {MAX_FORMAT} bytes");
    }
    let Ok(format) = std::str::from_utf8(datagram) else {
        return "error: the format is not UTF-8".into();
    };
    let format = if format.is_empty() {
        DEFAULT_FORMAT
    } else {
        format
    };
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return format!("error: {format:?} is not a valid strftime format");
    }
    chrono::Local::now()
        .format_with_items(items.into_iter())
        .to_string()
}

/// Serves until `shutdown` completes. One task: UDP has no connections,
/// and every answer is computed in microseconds.
pub async fn serve(socket: UdpSocket, echo: bool, shutdown: impl Future<Output = ()>) {
    // The largest UDP payload, so an oversized datagram is seen whole
    // (and refused) instead of silently cut to the buffer.
    let mut buffer = vec![0u8; 65_536];
    tokio::pin!(shutdown);
    loop {
        let (len, peer) = tokio::select! {
            received = socket.recv_from(&mut buffer) => match received {
                Ok(pair) => pair,
                // E.g. ICMP "port unreachable" from an earlier reply: not fatal.
                Err(_) => continue,
            },
            () = &mut shutdown => return,
        };
        let datagram = &buffer[..len];
        let reply = if echo {
            datagram.to_vec()
        } else {
            answer(datagram).into_bytes()
        };
        // A peer that went away is its own business.
        let _ = socket.send_to(&reply, peer).await;
    }
}

/// Sends one datagram and waits (bounded) for the answer.
pub async fn ask(server: &str, datagram: &[u8], wait: Duration) -> anyhow::Result<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    socket.connect(server).await?;
    socket.send(datagram).await?;
    let mut buffer = vec![0u8; 65_536];
    let len = tokio::time::timeout(wait, socket.recv(&mut buffer))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "no answer from {server} within {wait:?} (UDP may lose datagrams; try again)"
            )
        })??;
    buffer.truncate(len);
    Ok(buffer)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Serve { listen, echo } => {
            let socket = UdpSocket::bind(&listen).await?;
            println!(
                "udp_time on {} ({})",
                socket.local_addr()?,
                if echo { "echo" } else { "time" }
            );
            serve(socket, echo, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
            Ok(())
        }
        Command::Ask { server, format } => {
            let answer = ask(&server, format.as_bytes(), Duration::from_secs(3)).await?;
            let text = String::from_utf8_lossy(&answer);
            println!("{text}");
            if text.starts_with("error: ") {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

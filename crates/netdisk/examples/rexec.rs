//! rexec: the seeds' remote command runner, done safely. Output of any size
//! crosses intact because every piece is framed (netdisk's `FrameCodec`: a
//! length, a JSON header, then the bytes it announces), which is the cure
//! for the seeds' sticky packets. The server:
//! - admits only clients that prove they hold the site key (the seeds' HMAC
//!   check, with netdisk's `SiteKey`: HMAC-SHA256 over a fresh challenge);
//! - runs only programs named on its allowlist, with the arguments as an
//!   argv vector: no shell, so nothing in an argument is interpreted;
//! - streams stdout and stderr as separate messages as they come, then the
//!   exit status; a command is killed after a time limit.
//!
//! ```sh
//! cargo run -- keygen site.key
//! cargo run --example rexec -- serve --site-key-file site.key --allow ls --allow uname
//! cargo run --example rexec -- run --site-key-file site.key -- ls -l /
//! ```

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use netdisk_proto::{Frame, FrameCodec, Header, SiteKey};
use netdisk_server::{close_lingering, serve_connections, ConnectionLimits};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

/// Bytes of output per frame.
const PIECE: usize = 64 * 1024;
/// Time a client has to prove the key and name a command.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Rexec {
    /// Server, first: 32 random bytes, base64.
    Challenge { challenge: String },
    /// Client: base64 HMAC-SHA256(site key, challenge bytes).
    Proof { mac: String },
    /// Client: the program and its arguments.
    Run { argv: Vec<String> },
    /// Server: `size` bytes of the command's stdout follow.
    Stdout { size: u64 },
    /// Server: `size` bytes of its stderr follow.
    Stderr { size: u64 },
    /// Server, last: how the command ended (`code`, or the `signal` that killed it).
    Exit {
        code: Option<i32>,
        signal: Option<i32>,
    },
    /// Server: why nothing (more) will run; the connection closes.
    Error { message: String },
}

impl Header for Rexec {
    fn body_len(&self) -> u64 {
        match self {
            Rexec::Stdout { size } | Rexec::Stderr { size } => *size,
            _ => 0,
        }
    }
}

type Connection = Framed<TcpStream, FrameCodec<Rexec>>;

#[derive(Parser)]
#[command(about = "Run allowlisted commands remotely, output framed")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[arg(long, default_value = "127.0.0.1:7424")]
        listen: String,
        /// The site key clients must hold (make one with `netdisk keygen FILE`).
        #[arg(long)]
        site_key_file: PathBuf,
        /// A program clients may run (repeat for more). Nothing else runs.
        #[arg(long = "allow", required = true)]
        allowed: Vec<String>,
        /// Seconds a command may run before it is killed.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Run one command on the server; its output appears here, and its exit status is ours.
    Run {
        #[arg(long, default_value = "127.0.0.1:7424")]
        server: String,
        #[arg(long)]
        site_key_file: PathBuf,
        #[arg(required = true, last = true)]
        argv: Vec<String>,
    },
}

pub struct Policy {
    pub key: SiteKey,
    pub allowed: HashSet<String>,
    pub time_limit: Duration,
}

/// Serves until `shutdown` completes.
pub async fn serve(listener: TcpListener, policy: Policy, shutdown: impl Future<Output = ()>) {
    let policy = Arc::new(policy);
    let limits = ConnectionLimits {
        total: 64,
        per_address: 16,
        grace_period: Duration::from_secs(5),
    };
    serve_connections(
        listener,
        limits,
        shutdown,
        |stream, _peer, cancel| {
            let policy = policy.clone();
            async move {
                let mut conn = Framed::new(stream, FrameCodec::<Rexec>::new());
                let outcome = tokio::select! {
                    outcome = session(&mut conn, &policy) => outcome,
                    () = cancel.cancelled() => Err("the server is shutting down".into()),
                };
                if let Err(message) = outcome {
                    let _ = conn.send(Rexec::Error { message }).await;
                    close_lingering(conn.get_mut()).await;
                }
            }
        },
        |stream, _peer, why| async move {
            let mut conn = Framed::new(stream, FrameCodec::<Rexec>::new());
            let _ = conn
                .send(Rexec::Error {
                    message: why.into(),
                })
                .await;
        },
    )
    .await;
}

async fn next(conn: &mut Connection) -> Result<Rexec, String> {
    match tokio::time::timeout(REQUEST_TIMEOUT, conn.next()).await {
        Err(_) => Err("timed out waiting for the client".into()),
        Ok(Some(Ok(Frame::Message(message)))) => Ok(message),
        Ok(Some(Ok(Frame::Body(_)))) => Err("unexpected body bytes".into()),
        Ok(Some(Err(e))) => Err(e.to_string()),
        Ok(None) => Err("the client left".into()),
    }
}

/// The key check, one command, its output and its exit status.
async fn session(conn: &mut Connection, policy: &Policy) -> Result<(), String> {
    let mut challenge = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut challenge);
    let lost = |e: netdisk_proto::CodecError| e.to_string();
    conn.send(Rexec::Challenge {
        challenge: B64.encode(challenge),
    })
    .await
    .map_err(lost)?;
    match next(conn).await? {
        Rexec::Proof { mac } if policy.key.verify(&challenge, &mac) => {}
        _ => return Err("site key proof missing or wrong".into()),
    }
    let argv = match next(conn).await? {
        Rexec::Run { argv } => argv,
        _ => return Err("expected run".into()),
    };
    let Some(program) = argv.first() else {
        return Err("run needs a program".into());
    };
    if !policy.allowed.contains(program) {
        return Err(format!("{program:?} is not on this server's allowlist"));
    }
    let mut child = tokio::process::Command::new(program)
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("no pipes to the command".into());
    };
    let streamed = tokio::time::timeout(policy.time_limit, async {
        let (mut out_buf, mut err_buf) = (vec![0u8; PIECE], vec![0u8; PIECE]);
        let (mut out_open, mut err_open) = (true, true);
        while out_open || err_open {
            tokio::select! {
                read = stdout.read(&mut out_buf), if out_open => {
                    let n = read.map_err(|e| e.to_string())?;
                    if n == 0 { out_open = false } else {
                        send_piece(conn, Rexec::Stdout { size: n as u64 }, &out_buf[..n]).await?;
                    }
                }
                read = stderr.read(&mut err_buf), if err_open => {
                    let n = read.map_err(|e| e.to_string())?;
                    if n == 0 { err_open = false } else {
                        send_piece(conn, Rexec::Stderr { size: n as u64 }, &err_buf[..n]).await?;
                    }
                }
            }
        }
        child.wait().await.map_err(|e| e.to_string())
    })
    .await;
    let status = match streamed {
        Ok(status) => status?,
        Err(_) => {
            let _ = child.kill().await;
            return Err(format!(
                "{program} ran longer than {} s and was killed",
                policy.time_limit.as_secs()
            ));
        }
    };
    use std::os::unix::process::ExitStatusExt;
    conn.send(Rexec::Exit {
        code: status.code(),
        signal: status.signal(),
    })
    .await
    .map_err(lost)
}

async fn send_piece(conn: &mut Connection, header: Rexec, bytes: &[u8]) -> Result<(), String> {
    conn.feed(header).await.map_err(|e| e.to_string())?;
    conn.send(bytes::Bytes::copy_from_slice(bytes))
        .await
        .map_err(|e| e.to_string())
}

/// Runs `argv` on the server, copying its stdout and stderr to ours as they
/// come; returns the exit code (a signal counts as 128 + its number).
pub async fn run(
    server: &str,
    key: &SiteKey,
    argv: Vec<String>,
    mut stdout: impl AsyncWrite + Unpin,
    mut stderr: impl AsyncWrite + Unpin,
) -> anyhow::Result<i32> {
    let stream = TcpStream::connect(server)
        .await
        .with_context(|| format!("connect to {server}"))?;
    let mut conn = Framed::new(stream, FrameCodec::<Rexec>::new());
    let challenge = match conn.next().await {
        Some(Ok(Frame::Message(Rexec::Challenge { challenge }))) => challenge,
        Some(Ok(Frame::Message(Rexec::Error { message }))) => bail!("server: {message}"),
        other => bail!("expected a challenge, got {other:?}"),
    };
    let mac = key
        .prove(&challenge)
        .context("the server's challenge is not base64")?;
    conn.send(Rexec::Proof { mac }).await?;
    conn.send(Rexec::Run { argv }).await?;
    // Where the body pieces of the last header go.
    let mut to_stderr = false;
    loop {
        match conn.next().await {
            Some(Ok(Frame::Message(Rexec::Stdout { .. }))) => to_stderr = false,
            Some(Ok(Frame::Message(Rexec::Stderr { .. }))) => to_stderr = true,
            Some(Ok(Frame::Body(bytes))) if to_stderr => stderr.write_all(&bytes).await?,
            Some(Ok(Frame::Body(bytes))) => stdout.write_all(&bytes).await?,
            Some(Ok(Frame::Message(Rexec::Exit { code, signal }))) => {
                stdout.flush().await?;
                stderr.flush().await?;
                return Ok(code.unwrap_or(128 + signal.unwrap_or(0)));
            }
            Some(Ok(Frame::Message(Rexec::Error { message }))) => bail!("server: {message}"),
            Some(Ok(Frame::Message(other))) => bail!("unexpected {other:?}"),
            Some(Err(e)) => return Err(e.into()),
            None => bail!("the server closed the connection before the exit status"),
        }
    }
}

fn read_key(path: &PathBuf) -> anyhow::Result<SiteKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    SiteKey::parse(&text).with_context(|| format!("{}", path.display()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Serve {
            listen,
            site_key_file,
            allowed,
            timeout,
        } => {
            let policy = Policy {
                key: read_key(&site_key_file)?,
                allowed: allowed.into_iter().collect(),
                time_limit: Duration::from_secs(timeout),
            };
            let listener = TcpListener::bind(&listen).await?;
            println!("rexec on {}", listener.local_addr()?);
            serve(listener, policy, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
            Ok(())
        }
        Command::Run {
            server,
            site_key_file,
            argv,
        } => {
            let key = read_key(&site_key_file)?;
            let code = run(
                &server,
                &key,
                argv,
                tokio::io::stdout(),
                tokio::io::stderr(),
            )
            .await?;
            std::process::exit(code);
        }
    }
}

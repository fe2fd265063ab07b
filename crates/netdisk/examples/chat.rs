//! chat: a multi-user chat room over netdisk's framing (a 4-byte length,
//! then a JSON header; `FrameCodec` from netdisk-proto) on netdisk's accept
//! loop. Nicknames, messages to everyone, private messages, join and leave
//! notices. Every client has a bounded outgoing queue: one that does not
//! keep up is dropped with a notice, so a slow reader never stalls the room.
//! The client reads the keyboard and the socket at the same time.
//!
//! ```sh
//! cargo run --example chat -- serve --listen 127.0.0.1:7422
//! cargo run --example chat -- client --server 127.0.0.1:7422 --nick ann
//! #   text           says it to everyone
//! #   /msg bob text  says it to bob only
//! #   /quit          leaves
//! ```

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use netdisk_proto::{Frame, FrameCodec, Header};
use netdisk_server::{serve_connections, ConnectionLimits};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

/// Messages waiting for one client before it counts as too slow.
pub const QUEUE: usize = 64;
/// Longest nickname and message text, in characters.
const MAX_NICK: usize = 32;
const MAX_TEXT: usize = 4000;
/// Time to send `join` after connecting.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Time one message may take to leave; a client not reading is cut.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Both directions use one message type, tagged by `type` like netdisk's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Chat {
    // Client to server.
    Join {
        nick: String,
    },
    Say {
        text: String,
    },
    Whisper {
        to: String,
        text: String,
    },
    // Server to client.
    Welcome {
        nick: String,
        present: Vec<String>,
    },
    Joined {
        nick: String,
    },
    Left {
        nick: String,
        reason: String,
    },
    Said {
        from: String,
        text: String,
    },
    Whispered {
        from: String,
        to: String,
        text: String,
    },
    Error {
        message: String,
    },
}

impl Header for Chat {
    fn body_len(&self) -> u64 {
        0
    }
}

type Connection = Framed<TcpStream, FrameCodec<Chat>>;

#[derive(Parser)]
#[command(about = "A chat room over length-prefixed JSON frames")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the room.
    Serve {
        #[arg(long, default_value = "127.0.0.1:7422")]
        listen: String,
        #[arg(long, default_value_t = 256)]
        max_clients: usize,
    },
    /// Join the room: lines typed are said; `/msg NICK text` whispers; `/quit` leaves.
    Client {
        #[arg(long, default_value = "127.0.0.1:7422")]
        server: String,
        #[arg(long)]
        nick: String,
    },
}

/// The room: each member's outgoing queue.
#[derive(Default)]
struct Room {
    members: Mutex<HashMap<String, mpsc::Sender<Chat>>>,
}

impl Room {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<Chat>>> {
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `message` for everyone but `except`; members whose queue is
    /// full are dropped from the room (their queue closes, which ends them).
    fn broadcast(&self, message: &Chat, except: Option<&str>) {
        let mut dropped = Vec::new();
        {
            let mut members = self.lock();
            for (nick, queue) in members.iter() {
                if Some(nick.as_str()) != except && queue.try_send(message.clone()).is_err() {
                    dropped.push(nick.clone());
                }
            }
            for nick in &dropped {
                members.remove(nick);
            }
        }
        for nick in dropped {
            let notice = Chat::Left {
                nick,
                reason: "too slow to keep up".into(),
            };
            self.broadcast(&notice, None);
        }
    }

    /// Lets `nick` in with `queue` and tells the others, in one step under
    /// the lock: whoever came before hears `Joined`, whoever comes after
    /// finds `nick` among those present, never both. Returns who was here.
    fn admit(&self, nick: &str, queue: mpsc::Sender<Chat>) -> Result<Vec<String>, String> {
        let mut dropped = Vec::new();
        let present = {
            let mut members = self.lock();
            if members.contains_key(nick) {
                return Err(format!("{nick} is taken"));
            }
            let joined = Chat::Joined {
                nick: nick.to_owned(),
            };
            for (member, their_queue) in members.iter() {
                if their_queue.try_send(joined.clone()).is_err() {
                    dropped.push(member.clone());
                }
            }
            for member in &dropped {
                members.remove(member);
            }
            let present = members.keys().cloned().collect();
            members.insert(nick.to_owned(), queue);
            present
        };
        for member in dropped {
            let notice = Chat::Left {
                nick: member,
                reason: "too slow to keep up".into(),
            };
            self.broadcast(&notice, None);
        }
        Ok(present)
    }

    /// Queues a message for one member; false if there is no such member.
    fn send_to(&self, nick: &str, message: Chat) -> bool {
        let queue = self.lock().get(nick).cloned();
        match queue {
            Some(queue) => {
                if queue.try_send(message).is_err() {
                    self.lock().remove(nick);
                    self.broadcast(
                        &Chat::Left {
                            nick: nick.to_owned(),
                            reason: "too slow to keep up".into(),
                        },
                        None,
                    );
                }
                true
            }
            None => false,
        }
    }
}

fn valid_nick(nick: &str) -> Result<(), String> {
    if nick.is_empty() || nick.chars().count() > MAX_NICK {
        return Err(format!("a nickname has 1 to {MAX_NICK} characters"));
    }
    if nick.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("a nickname has no spaces or control characters".into());
    }
    Ok(())
}

/// Serves the room until `shutdown` completes.
pub async fn serve(listener: TcpListener, max_clients: usize, shutdown: impl Future<Output = ()>) {
    let room = Arc::new(Room::default());
    let limits = ConnectionLimits {
        total: max_clients,
        per_address: max_clients,
        grace_period: Duration::from_secs(5),
    };
    serve_connections(
        listener,
        limits,
        shutdown,
        |stream, _peer, cancel| {
            let room = room.clone();
            async move {
                let mut conn = Framed::new(stream, FrameCodec::<Chat>::new());
                tokio::select! {
                    () = member(&mut conn, &room) => {}
                    () = cancel.cancelled() => {}
                }
            }
        },
        |stream, _peer, why| async move {
            let mut conn = Framed::new(stream, FrameCodec::<Chat>::new());
            let _ = conn
                .send(Chat::Error {
                    message: why.into(),
                })
                .await;
        },
    )
    .await;
}

/// One member, from `join` to leaving.
async fn member(conn: &mut Connection, room: &Room) {
    let nick = match tokio::time::timeout(JOIN_TIMEOUT, conn.next()).await {
        Ok(Some(Ok(Frame::Message(Chat::Join { nick })))) => nick,
        Ok(Some(Ok(_))) => {
            let _ = conn
                .send(Chat::Error {
                    message: "join first".into(),
                })
                .await;
            return;
        }
        Ok(Some(Err(e))) => {
            let _ = conn
                .send(Chat::Error {
                    message: e.to_string(),
                })
                .await;
            return;
        }
        Ok(None) | Err(_) => return,
    };
    let (queue, mut outgoing) = mpsc::channel(QUEUE);
    let admitted = valid_nick(&nick).and_then(|()| room.admit(&nick, queue));
    let present = match admitted {
        Ok(present) => present,
        Err(message) => {
            let _ = conn.send(Chat::Error { message }).await;
            return;
        }
    };
    if conn
        .send(Chat::Welcome {
            nick: nick.clone(),
            present,
        })
        .await
        .is_err()
    {
        room.lock().remove(&nick);
        room.broadcast(
            &Chat::Left {
                nick,
                reason: "connection lost".into(),
            },
            None,
        );
        return;
    }
    let reason = loop {
        tokio::select! {
            queued = outgoing.recv() => match queued {
                Some(message) => {
                    match tokio::time::timeout(SEND_TIMEOUT, conn.send(message)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break "connection lost".to_owned(),
                        Err(_) => break "too slow to keep up".to_owned(),
                    }
                }
                // The room dropped us: we were too slow.
                None => {
                    let _ = conn.send(Chat::Error { message: "you were too slow to keep up; goodbye".into() }).await;
                    return;
                }
            },
            incoming = conn.next() => match incoming {
                Some(Ok(Frame::Message(message))) => {
                    if let Err(message) = said(message, &nick, room) {
                        if conn.send(Chat::Error { message }).await.is_err() {
                            break "connection lost".to_owned();
                        }
                    }
                }
                Some(Err(e)) => {
                    let _ = conn.send(Chat::Error { message: e.to_string() }).await;
                    break "sent a malformed frame".to_owned();
                }
                Some(Ok(Frame::Body(_))) | None => break "left".to_owned(),
            },
        }
    };
    if room.lock().remove(&nick).is_some() {
        room.broadcast(&Chat::Left { nick, reason }, None);
    }
}

/// Handles what a member sent; `Err` is the complaint to send back.
fn said(message: Chat, nick: &str, room: &Room) -> Result<(), String> {
    match message {
        Chat::Say { text } | Chat::Whisper { text, .. } if text.chars().count() > MAX_TEXT => {
            Err(format!("messages have at most {MAX_TEXT} characters"))
        }
        Chat::Say { text } => {
            room.broadcast(
                &Chat::Said {
                    from: nick.to_owned(),
                    text,
                },
                None,
            );
            Ok(())
        }
        Chat::Whisper { to, text } => {
            let message = Chat::Whispered {
                from: nick.to_owned(),
                to: to.clone(),
                text,
            };
            if room.send_to(&to, message.clone()) {
                // The sender sees what it whispered, as in most chat clients.
                room.send_to(nick, message);
                Ok(())
            } else {
                Err(format!("no one called {to} is here"))
            }
        }
        other => Err(format!("cannot send {other:?} here")),
    }
}

/// How the client shows a message.
pub fn show(message: &Chat) -> String {
    match message {
        Chat::Welcome { nick, present } if present.is_empty() => {
            format!("* you are {nick}; no one else is here")
        }
        Chat::Welcome { nick, present } => {
            format!("* you are {nick}; here: {}", present.join(", "))
        }
        Chat::Joined { nick } => format!("* {nick} joined"),
        Chat::Left { nick, reason } => format!("* {nick} left ({reason})"),
        Chat::Said { from, text } => format!("<{from}> {text}"),
        Chat::Whispered { from, to, text } => format!("<{from} -> {to}> {text}"),
        Chat::Error { message } => format!("! {message}"),
        other => format!("? {other:?}"),
    }
}

/// Joins as `nick`, then at the same time sends what `input` types and
/// writes what the room says to `output`, until `/quit`, the end of input,
/// or the server closing.
pub async fn client(
    server: &str,
    nick: &str,
    input: impl AsyncBufRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> anyhow::Result<()> {
    let stream = TcpStream::connect(server).await?;
    let mut conn = Framed::new(stream, FrameCodec::<Chat>::new());
    conn.send(Chat::Join { nick: nick.into() }).await?;
    let mut input = input.lines();
    let mut typing = true;
    loop {
        tokio::select! {
            line = input.next_line(), if typing => match line? {
                None => typing = false,
                Some(line) if line.trim() == "/quit" => break,
                Some(line) => {
                    let whisper = line
                        .strip_prefix("/msg")
                        .filter(|rest| rest.is_empty() || rest.starts_with(' '));
                    let message = match whisper {
                        Some(rest) => match rest.trim_start().split_once(' ') {
                            Some((to, text)) => Chat::Whisper { to: to.into(), text: text.into() },
                            None => {
                                output.write_all(b"! usage: /msg NICK text\n").await?;
                                continue;
                            }
                        },
                        None => Chat::Say { text: line },
                    };
                    conn.send(message).await?;
                }
            },
            frame = conn.next() => match frame {
                Some(Ok(Frame::Message(message))) => {
                    output.write_all(format!("{}\n", show(&message)).as_bytes()).await?;
                    output.flush().await?;
                }
                Some(Ok(Frame::Body(_))) => anyhow::bail!("unexpected body bytes from the server"),
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
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
            println!("chat room on {}", listener.local_addr()?);
            serve(listener, max_clients, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
            Ok(())
        }
        Command::Client { server, nick } => {
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            client(&server, &nick, stdin, tokio::io::stdout()).await
        }
    }
}

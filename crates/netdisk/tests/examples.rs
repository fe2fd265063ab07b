//! The examples (`cargo run --example NAME`), each included here as a
//! module and driven on loopback: the success path and bad input.

#[allow(dead_code)]
#[path = "../examples/chat.rs"]
mod chat;
#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod echo;
#[allow(dead_code)]
#[path = "../examples/rexec.rs"]
mod rexec;
#[allow(dead_code)]
#[path = "../examples/udp_time.rs"]
mod udp_time;

use futures_util::{SinkExt, StreamExt};
use netdisk_proto::{Frame, FrameCodec, SiteKey};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::oneshot;
use tokio_util::codec::Framed;

/// Every wait here is bounded by this.
const LIMIT: Duration = Duration::from_secs(30);

/// A loopback listener and a shutdown switch for a server under test.
async fn listener() -> (
    TcpListener,
    SocketAddr,
    oneshot::Sender<()>,
    oneshot::Receiver<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel();
    (listener, addr, stop, stopped)
}

async fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {LIMIT:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn echo_answers_many_clients_and_cuts_an_overlong_line() {
    let (listener, addr, stop, stopped) = listener().await;
    let server = tokio::spawn(echo::serve(listener, 64, async {
        let _ = stopped.await;
    }));
    let addr = addr.to_string();
    let mut clients = Vec::new();
    for n in 0..20 {
        let addr = addr.clone();
        clients.push(tokio::spawn(async move {
            let input = format!("hello {n}\nWorld ünï\nq\nnever sent\n");
            let mut output = Vec::new();
            echo::client(&addr, input.as_bytes(), &mut output)
                .await
                .expect("client");
            String::from_utf8(output).expect("utf-8")
        }));
    }
    for (n, client) in clients.into_iter().enumerate() {
        let output = bounded("echo client", client).await.expect("task");
        assert_eq!(output, format!("HELLO {n}\nWORLD ÜNÏ\n"));
    }

    // A line over the limit: an error line, then the server hangs up.
    let mut raw = TcpStream::connect(&addr).await.expect("connect");
    raw.write_all(&vec![b'x'; echo::MAX_LINE + 10])
        .await
        .expect("write");
    raw.write_all(b"\n").await.expect("write");
    let mut answer = String::new();
    bounded("error line", raw.read_to_string(&mut answer))
        .await
        .expect("read");
    assert!(answer.starts_with("error: line longer than"), "{answer:?}");
    // Others are still served.
    let mut output = Vec::new();
    echo::client(&addr, &b"still here\n"[..], &mut output)
        .await
        .expect("client");
    assert_eq!(output, b"STILL HERE\n");
    stop.send(()).expect("stop");
    bounded("echo shutdown", server).await.expect("server");
}

type ChatConn = Framed<TcpStream, FrameCodec<chat::Chat>>;

async fn join(addr: SocketAddr, nick: &str) -> ChatConn {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let mut conn = Framed::new(stream, FrameCodec::<chat::Chat>::new());
    conn.send(chat::Chat::Join { nick: nick.into() })
        .await
        .expect("join");
    match next(&mut conn).await {
        chat::Chat::Welcome { nick: got, .. } => assert_eq!(got, nick),
        other => panic!("{nick} not welcomed: {other:?}"),
    }
    conn
}

async fn next(conn: &mut ChatConn) -> chat::Chat {
    match bounded("chat message", conn.next()).await {
        Some(Ok(Frame::Message(message))) => message,
        other => panic!("expected a chat message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_broadcasts_whispers_and_drops_a_client_that_cannot_keep_up() {
    let (listener, addr, stop, stopped) = listener().await;
    let server = tokio::spawn(chat::serve(listener, 64, async {
        let _ = stopped.await;
    }));
    let mut ann = join(addr, "ann").await;
    let mut bob = join(addr, "bob").await;
    assert_eq!(
        next(&mut ann).await,
        chat::Chat::Joined { nick: "bob".into() }
    );

    bob.send(chat::Chat::Say {
        text: "hi all".into(),
    })
    .await
    .expect("say");
    let said = chat::Chat::Said {
        from: "bob".into(),
        text: "hi all".into(),
    };
    assert_eq!(next(&mut ann).await, said);
    assert_eq!(next(&mut bob).await, said);

    // A whisper reaches its target and its sender only.
    let mut cat = join(addr, "cat").await;
    for conn in [&mut ann, &mut bob] {
        assert_eq!(next(conn).await, chat::Chat::Joined { nick: "cat".into() });
    }
    ann.send(chat::Chat::Whisper {
        to: "bob".into(),
        text: "psst".into(),
    })
    .await
    .expect("whisper");
    let whisper = chat::Chat::Whispered {
        from: "ann".into(),
        to: "bob".into(),
        text: "psst".into(),
    };
    assert_eq!(next(&mut bob).await, whisper);
    assert_eq!(next(&mut ann).await, whisper);
    ann.send(chat::Chat::Whisper {
        to: "nobody".into(),
        text: "?".into(),
    })
    .await
    .expect("whisper");
    assert!(matches!(next(&mut ann).await, chat::Chat::Error { .. }));
    // cat heard none of it: its next message is the one everyone gets.
    cat.send(chat::Chat::Say {
        text: "meow".into(),
    })
    .await
    .expect("say");
    assert_eq!(
        next(&mut cat).await,
        chat::Chat::Said {
            from: "cat".into(),
            text: "meow".into()
        }
    );
    for conn in [&mut ann, &mut bob] {
        assert!(matches!(next(conn).await, chat::Chat::Said { .. }));
    }

    // Bad input: a taken nickname, and a malformed frame.
    let stream = TcpStream::connect(addr).await.expect("connect");
    let mut twin = Framed::new(stream, FrameCodec::<chat::Chat>::new());
    twin.send(chat::Chat::Join { nick: "ann".into() })
        .await
        .expect("join");
    assert!(matches!(next(&mut twin).await, chat::Chat::Error { .. }));
    let mut garbage = TcpStream::connect(addr).await.expect("connect");
    garbage
        .write_all(&[5, 0, 0, 0, b'{', b'"', b'x', 0xff, b'}'])
        .await
        .expect("write");
    let mut reply = Vec::new();
    let _ = bounded("garbage reply", garbage.read_to_end(&mut reply)).await;
    assert!(
        String::from_utf8_lossy(&reply).contains("UTF-8"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    cat.send(chat::Chat::Say {
        text: "x".repeat(5000),
    })
    .await
    .expect("say");
    assert!(matches!(next(&mut cat).await, chat::Chat::Error { .. }));

    // A member who never reads: the room drops it, and goes on.
    let _slow = join(addr, "slow").await;
    for conn in [&mut ann, &mut bob, &mut cat] {
        assert_eq!(
            next(conn).await,
            chat::Chat::Joined {
                nick: "slow".into()
            }
        );
    }
    let text = "y".repeat(3900);
    let mut dropped = false;
    // Loopback buffers hold a few MiB; this sends up to 40 MiB to slow.
    for _ in 0..10_000 {
        ann.send(chat::Chat::Say { text: text.clone() })
            .await
            .expect("say");
        // ann and bob read everything, so only slow falls behind.
        let mut seen_own = false;
        while !seen_own {
            match next(&mut ann).await {
                chat::Chat::Said { .. } => seen_own = true,
                chat::Chat::Left { nick, reason } => {
                    assert_eq!(nick, "slow");
                    assert!(reason.contains("too slow"), "{reason}");
                    dropped = true;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        for conn in [&mut bob, &mut cat] {
            loop {
                if let chat::Chat::Said { .. } = next(conn).await {
                    break;
                }
            }
        }
        if dropped {
            break;
        }
    }
    assert!(dropped, "the slow member was never dropped");
    stop.send(()).expect("stop");
    bounded("chat shutdown", server).await.expect("server");
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_client_reads_the_keyboard_and_the_room_at_once() {
    let (listener, addr, stop, stopped) = listener().await;
    let server = tokio::spawn(chat::serve(listener, 8, async {
        let _ = stopped.await;
    }));
    let mut ann = join(addr, "ann").await;
    let (mut keyboard, input) = tokio::io::duplex(1024);
    let (screen, mut output) = tokio::io::duplex(64 * 1024);
    let address = addr.to_string();
    let client = tokio::spawn(async move {
        chat::client(&address, "dan", tokio::io::BufReader::new(input), screen).await
    });
    assert_eq!(
        next(&mut ann).await,
        chat::Chat::Joined { nick: "dan".into() }
    );
    // The room speaks while dan types nothing: it shows up at once.
    ann.send(chat::Chat::Say {
        text: "hello dan".into(),
    })
    .await
    .expect("say");
    assert!(matches!(next(&mut ann).await, chat::Chat::Said { .. }));
    let mut shown = String::new();
    let mut buffer = [0u8; 4096];
    while !shown.contains("<ann> hello dan") {
        let n = bounded("screen", output.read(&mut buffer))
            .await
            .expect("read");
        assert!(n > 0, "client ended early: {shown}");
        shown.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    assert!(shown.starts_with("* you are dan; here: ann"), "{shown}");
    keyboard
        .write_all(b"/msg ann hi ann\n/msg\n/quit\n")
        .await
        .expect("type");
    assert_eq!(
        next(&mut ann).await,
        chat::Chat::Whispered {
            from: "dan".into(),
            to: "ann".into(),
            text: "hi ann".into()
        }
    );
    bounded("client", client)
        .await
        .expect("task")
        .expect("client");
    let mut rest = String::new();
    bounded("screen", output.read_to_string(&mut rest))
        .await
        .expect("read");
    assert!(rest.contains("usage: /msg NICK text"), "{rest}");
    assert!(matches!(next(&mut ann).await, chat::Chat::Left { .. }));
    stop.send(()).expect("stop");
    bounded("chat shutdown", server).await.expect("server");
}

#[tokio::test(flavor = "multi_thread")]
async fn udp_time_formats_and_refuses_bad_formats_and_oversized_datagrams() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr").to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(udp_time::serve(socket, false, async {
        let _ = stopped.await;
    }));
    let ask = |datagram: Vec<u8>| {
        let addr = addr.clone();
        async move {
            let answer = udp_time::ask(&addr, &datagram, Duration::from_secs(5))
                .await
                .expect("answer");
            String::from_utf8(answer).expect("utf-8")
        }
    };
    let year = ask(b"%Y".to_vec()).await;
    let now = chrono::Local::now().format("%Y").to_string();
    assert!(year == now || year.parse::<i32>().is_ok(), "{year}");
    let default = ask(Vec::new()).await;
    assert_eq!(default.len(), "2026-11-22 15:00:00".len(), "{default}");
    assert!(
        chrono::NaiveDateTime::parse_from_str(&default, udp_time::DEFAULT_FORMAT).is_ok(),
        "{default}"
    );
    assert_eq!(ask(b"day %d!".to_vec()).await.len(), "day 22!".len());
    for bad in [b"%Q".to_vec(), b"%".to_vec(), vec![0xff, 0xfe]] {
        let answer = ask(bad.clone()).await;
        assert!(answer.starts_with("error: "), "{bad:?}: {answer}");
    }
    let answer = ask(vec![b'%'; 10_000]).await;
    assert!(answer.contains("at most"), "{answer}");
    // Still serving after all that.
    assert!(!ask(b"%H".to_vec()).await.starts_with("error"));
    stop.send(()).expect("stop");
    bounded("udp shutdown", server).await.expect("server");

    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr").to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(udp_time::serve(socket, true, async {
        let _ = stopped.await;
    }));
    let datagram: Vec<u8> = (0..=255).collect();
    let echoed = udp_time::ask(&addr, &datagram, Duration::from_secs(5))
        .await
        .expect("echo");
    assert_eq!(echoed, datagram);
    stop.send(()).expect("stop");
    bounded("udp shutdown", server).await.expect("server");
}

#[tokio::test(flavor = "multi_thread")]
async fn rexec_streams_large_output_runs_only_allowed_programs_and_needs_the_key() {
    let key = SiteKey::from_bytes(vec![7; 32]).expect("key");
    let (listener, addr, stop, stopped) = listener().await;
    let policy = rexec::Policy {
        key: key.clone(),
        allowed: ["seq", "ls", "echo", "sleep"]
            .into_iter()
            .map(String::from)
            .collect(),
        time_limit: Duration::from_secs(1),
    };
    let server = tokio::spawn(rexec::serve(listener, policy, async {
        let _ = stopped.await;
    }));
    let addr = addr.to_string();
    let argv = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();

    // About 3.4 MB of output: far more than the socket buffers, intact.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = bounded(
        "seq",
        rexec::run(
            &addr,
            &key,
            argv(&["seq", "1", "500000"]),
            &mut out,
            &mut err,
        ),
    )
    .await
    .expect("run");
    let expected: String = (1..=500_000).map(|n| format!("{n}\n")).collect();
    assert_eq!(code, 0);
    assert!(
        out == expected.as_bytes(),
        "stdout differs ({} bytes)",
        out.len()
    );
    assert!(err.is_empty());

    // stderr separately, and the exit status.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rexec::run(
        &addr,
        &key,
        argv(&["ls", "/no/such/dir"]),
        &mut out,
        &mut err,
    )
    .await
    .expect("run");
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert!(String::from_utf8_lossy(&err).contains("/no/such/dir"));

    // Arguments are an argv vector: no shell ever sees them.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    rexec::run(
        &addr,
        &key,
        argv(&["echo", "$(id)", ";", "rm", "-rf", "~"]),
        &mut out,
        &mut err,
    )
    .await
    .expect("run");
    assert_eq!(out, b"$(id) ; rm -rf ~\n");

    // Not on the allowlist, the wrong key, and too slow: refused with a reason.
    let refused = rexec::run(
        &addr,
        &key,
        argv(&["rm", "-rf", "/tmp/x"]),
        Vec::new(),
        Vec::new(),
    )
    .await
    .expect_err("rm is not allowed");
    assert!(refused.to_string().contains("allowlist"), "{refused}");
    let stranger = SiteKey::from_bytes(vec![8; 32]).expect("key");
    let refused = rexec::run(&addr, &stranger, argv(&["ls"]), Vec::new(), Vec::new())
        .await
        .expect_err("wrong key");
    assert!(refused.to_string().contains("site key"), "{refused}");
    let refused = rexec::run(&addr, &key, argv(&["sleep", "10"]), Vec::new(), Vec::new())
        .await
        .expect_err("too slow");
    assert!(refused.to_string().contains("killed"), "{refused}");
    // Garbage instead of a proof: an error frame, never a crash.
    let mut raw = TcpStream::connect(&addr).await.expect("connect");
    raw.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3])
        .await
        .expect("write");
    let mut reply = Vec::new();
    let _ = bounded("garbage reply", raw.read_to_end(&mut reply)).await;
    assert!(
        String::from_utf8_lossy(&reply).contains("error"),
        "{reply:?}"
    );
    stop.send(()).expect("stop");
    bounded("rexec shutdown", server).await.expect("server");
}

//! Promises of docs/PROTOCOL.md that a client written from the document
//! alone found broken: the header timeout runs from a header's first
//! byte, one path-length rule (the resolved path, at most 4095 bytes,
//! wherever the session stands), and FIFOs, sockets and other special
//! files refused without being opened or replaced.

mod common;

use common::{RawClient, TestServer, LIMIT};
use netdisk_proto::path::MAX_PATH_LEN;
use netdisk_proto::request::*;
use netdisk_proto::{EntryKind, ErrorCode, Frame, Message};
use std::time::{Duration, Instant};

/// Sends one request and returns its answer.
async fn ask(client: &mut RawClient, request: Message) -> Message {
    client.send(request).await;
    client.recv().await
}

fn code(answer: &Message) -> Option<ErrorCode> {
    match answer {
        Message::Error(e) => Some(e.code),
        _ => None,
    }
}

async fn pwd(client: &mut RawClient) -> Message {
    let id = client.id();
    ask(client, Message::Pwd(Pwd { id })).await
}

/// Waits for the server's timeout on a trickled header; returns how long
/// after `first_byte` it came.
async fn cut_after(client: &mut RawClient, first_byte: Instant) -> Duration {
    match client.next_frame().await {
        Some(Frame::Message(Message::Error(e))) => assert_eq!(e.code, ErrorCode::Timeout),
        other => panic!("expected the header timeout, got {other:?}"),
    }
    let after = first_byte.elapsed();
    client.expect_closed().await;
    after
}

#[tokio::test(flavor = "multi_thread")]
async fn a_header_is_cut_a_header_timeout_after_its_first_byte() {
    const HEADER: Duration = Duration::from_secs(2);
    let server = TestServer::start_with(|c| {
        c.header_timeout = HEADER;
        c.idle_timeout = Duration::from_secs(60);
    })
    .await;
    server.add_user("alice", "pw");
    let mut prompt = RawClient::login(server.addr, "alice", "pw").await;
    let mut late = RawClient::login(server.addr, "alice", "pw").await;
    assert!(matches!(pwd(&mut prompt).await, Message::Cwd(_)));
    assert!(matches!(pwd(&mut late).await, Message::Cwd(_)));
    let answered = Instant::now();

    // Right after the last answer: two bytes of a length prefix, then nothing.
    prompt.send_raw(&[40, 0]).await;
    let prompt_started = Instant::now();
    // The other client is idle longer than the header timeout (time
    // passing is what is tested here), then starts a header.
    tokio::time::sleep(HEADER + HEADER / 4).await;
    late.send_raw(&[40, 0]).await;
    let late_started = Instant::now();
    assert!(late_started - answered > HEADER);

    for (what, client, started) in [
        ("prompt", &mut prompt, prompt_started),
        ("late", &mut late, late_started),
    ] {
        let after = cut_after(client, started).await;
        // Not before its time, and not a second period on top. The server's
        // clock and this side's `started` are read in different tasks; on a
        // loaded machine the cut was once seen 3 ms early (1.997 s), so
        // "before its time" allows 50 ms for that.
        assert!(
            after + HEADER / 40 >= HEADER && after < HEADER + HEADER / 2,
            "{what} header cut {after:?} after its first byte (header timeout {HEADER:?})"
        );
    }
    server.shutdown().await;
}

/// `count` names of `len` bytes joined by '/', each distinct by its first letter.
fn deep_path(count: usize, len: usize) -> String {
    (0..count)
        .map(|n| {
            let letter = char::from(b'a' + (n % 26) as u8);
            std::iter::once(letter)
                .chain(std::iter::repeat_n('x', len - 1))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn put_empty(client: &mut RawClient, path: &str) -> Message {
    let id = client.id();
    let ready = ask(
        client,
        Message::Put(Put {
            id,
            path: path.into(),
            size: 0,
            ..Default::default()
        }),
    )
    .await;
    if !matches!(ready, Message::PutReady(_)) {
        return ready;
    }
    client
        .send(Message::PutData(PutData {
            id,
            size: 0,
            ..Default::default()
        }))
        .await;
    client
        .end_upload(id, blake3::hash(b"").to_hex().to_string())
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_path_limit_is_4095_resolved_bytes_wherever_the_session_is() {
    let server = TestServer::start().await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    // 16 names of 240 bytes, one of 239, and 16 slashes: 4095 bytes, the
    // longest a Linux system call takes (PATH_MAX counts the NUL).
    let mut longest = deep_path(17, 240);
    longest.pop();
    assert_eq!(longest.len(), MAX_PATH_LEN);
    let (parent, _) = longest.rsplit_once('/').expect("nested");
    let id = client.id();
    let made = Message::Mkdir(Mkdir {
        id,
        path: parent.into(),
        parents: true,
    });
    assert!(matches!(ask(&mut client, made).await, Message::Done(_)));

    let stored = put_empty(&mut client, &longest).await;
    assert!(
        matches!(stored, Message::PutDone(_)),
        "a 4096-byte path: {stored:?}"
    );
    let id = client.id();
    let stat = ask(
        &mut client,
        Message::Stat(Stat {
            id,
            path: longest.clone(),
            ..Default::default()
        }),
    )
    .await;
    assert!(matches!(stat, Message::Info(_)), "{stat:?}");
    // One byte more is too long, as sent or as resolved.
    let over = format!("{parent}/{}y", longest.rsplit('/').next().expect("name"));
    let id = client.id();
    let stat = ask(
        &mut client,
        Message::Stat(Stat {
            id,
            path: over,
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(code(&stat), Some(ErrorCode::TooLarge), "{stat:?}");

    // From a directory 240 bytes deep, a relative path of 3854 bytes
    // resolves to the same 4095 bytes: accepted (the limit applies once,
    // to the resolved path).
    let (first, rest) = longest.split_once('/').expect("nested");
    let id = client.id();
    let cd = ask(
        &mut client,
        Message::Cd(Cd {
            id,
            path: first.into(),
        }),
    )
    .await;
    assert!(matches!(cd, Message::Cwd(_)), "{cd:?}");
    let id = client.id();
    let stat = ask(
        &mut client,
        Message::Stat(Stat {
            id,
            path: rest.into(),
            ..Default::default()
        }),
    )
    .await;
    assert!(
        matches!(stat, Message::Info(_)),
        "relative from a cwd: {stat:?}"
    );
    // A path sent longer than the limit that resolves shorter is fine too.
    let roundabout = format!("{}{rest}", format!("../{first}/").repeat(20));
    assert!(roundabout.len() > MAX_PATH_LEN);
    let id = client.id();
    let stat = ask(
        &mut client,
        Message::Stat(Stat {
            id,
            path: roundabout,
            ..Default::default()
        }),
    )
    .await;
    assert!(
        matches!(stat, Message::Info(_)),
        "resolved, not sent: {stat:?}"
    );

    // Every request kind takes the longest path.
    let id = client.id();
    let from = format!("~/{longest}");
    let to = format!("~/{parent}/{}", "m".repeat(239));
    let mv = ask(
        &mut client,
        Message::Mv(Mv {
            id,
            from: from.clone(),
            to: to.clone(),
        }),
    )
    .await;
    assert!(matches!(mv, Message::Done(_)), "{mv:?}");
    let id = client.id();
    let get = ask(
        &mut client,
        Message::Get(Get {
            id,
            path: to.clone(),
            ..Default::default()
        }),
    )
    .await;
    assert!(
        matches!(get, Message::GetData(ref d) if d.size == 0),
        "{get:?}"
    );
    assert!(matches!(client.recv().await, Message::GetEnd(_)));
    let id = client.id();
    let rm = ask(
        &mut client,
        Message::Rm(Rm {
            id,
            path: to,
            recursive: false,
        }),
    )
    .await;
    assert!(matches!(rm, Message::Done(_)), "{rm:?}");
    server.shutdown().await;
}

/// A FIFO planted in a home. Should a server thread ever block opening
/// it again, dropping this opens the FIFO for writing, which releases
/// that thread, so a regression fails the test instead of hanging it.
struct PlantedFifo(std::path::PathBuf);

impl PlantedFifo {
    fn new(path: std::path::PathBuf) -> PlantedFifo {
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(status.success());
        PlantedFifo(path)
    }
}

impl Drop for PlantedFifo {
    fn drop(&mut self) {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        if std::fs::symlink_metadata(&self.0).is_ok_and(|m| m.file_type().is_fifo()) {
            // Fails at once (ENXIO) when no reader waits.
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&self.0);
        }
    }
}

/// Plants a FIFO and a Unix socket in alice's home.
fn plant_special_files(server: &TestServer) -> (PlantedFifo, std::os::unix::net::UnixListener) {
    let home = server.home("alice");
    let fifo = PlantedFifo::new(home.join("fifo"));
    let socket = std::os::unix::net::UnixListener::bind(home.join("sock")).expect("socket");
    (fifo, socket)
}

#[tokio::test(flavor = "multi_thread")]
async fn fifos_and_sockets_are_refused_without_being_opened_or_replaced() {
    let server = TestServer::start_with(|c| c.stall_timeout = Duration::from_secs(60)).await;
    server.add_user("alice", "pw");
    let (_fifo, _socket) = plant_special_files(&server);
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    let started = Instant::now();
    for name in ["fifo", "sock"] {
        let id = client.id();
        let get = ask(
            &mut client,
            Message::Get(Get {
                id,
                path: name.into(),
                ..Default::default()
            }),
        )
        .await;
        assert_eq!(
            code(&get),
            Some(ErrorCode::BadRequest),
            "get {name}: {get:?}"
        );

        let put = put_empty(&mut client, name).await;
        assert_eq!(
            code(&put),
            Some(ErrorCode::BadRequest),
            "put over {name}: {put:?}"
        );

        let body = b"small body";
        let id = client.id();
        client
            .send(Message::PutSmall(PutSmall {
                id,
                path: name.into(),
                size: body.len() as u64,
                blake3: blake3::hash(body).to_hex().to_string(),
                ..Default::default()
            }))
            .await;
        client.send_raw(body).await;
        let small = client.recv().await;
        assert_eq!(
            code(&small),
            Some(ErrorCode::BadRequest),
            "put_small over {name}: {small:?}"
        );

        let id = client.id();
        match ask(
            &mut client,
            Message::Stat(Stat {
                id,
                path: name.into(),
                ..Default::default()
            }),
        )
        .await
        {
            Message::Info(info) => assert_eq!(info.entry.kind, EntryKind::Other, "{name}"),
            other => panic!("stat {name}: {other:?}"),
        }
    }
    // Refused at once: nothing waited for a writer of the FIFO.
    assert!(started.elapsed() < LIMIT / 2);
    use std::os::unix::fs::FileTypeExt;
    let home = server.home("alice");
    let kind = |name: &str| {
        std::fs::symlink_metadata(home.join(name))
            .expect(name)
            .file_type()
    };
    assert!(kind("fifo").is_fifo(), "the FIFO is still there");
    assert!(kind("sock").is_socket(), "the socket is still there");
    // They can be removed like any file, and then uploaded over.
    let id = client.id();
    let rm = ask(
        &mut client,
        Message::Rm(Rm {
            id,
            path: "fifo".into(),
            recursive: false,
        }),
    )
    .await;
    assert!(matches!(rm, Message::Done(_)), "{rm:?}");
    assert!(matches!(
        put_empty(&mut client, "fifo").await,
        Message::PutDone(_)
    ));
    assert!(matches!(pwd(&mut client).await, Message::Cwd(_)));
    server.shutdown().await;
}

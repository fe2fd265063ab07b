//! Downloads of committed files carry the hash the store recorded at the
//! commit in `get_data`, before the bytes (which then go out zero-copy
//! in plaintext mode); a file changed behind the server's back is hashed
//! again, and that hash recorded for the next download.

mod common;

use common::{RawClient, TestServer};
use netdisk_proto::request::Get;
use netdisk_proto::response::{GetData, GetEnd};
use netdisk_proto::{Frame, Message};
use std::time::{Duration, UNIX_EPOCH};

fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

fn patterned(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(seed) % 251) as u8)
        .collect()
}

async fn upload(client: &mut RawClient, path: &str, body: &[u8]) {
    let id = client.start_upload(path, body.len() as u64).await;
    client.send_raw(body).await;
    let done = client.end_upload(id, hash(body)).await;
    assert!(matches!(done, Message::PutDone(_)), "{done:?}");
}

/// Sends `get` and takes the whole answer: `get_data`, the body, `get_end`.
async fn download(client: &mut RawClient, get: Get) -> (GetData, Vec<u8>, GetEnd) {
    client.send(Message::Get(get)).await;
    let data = match client.recv().await {
        Message::GetData(data) => data,
        other => panic!("expected get_data, got {other:?}"),
    };
    let mut body = Vec::new();
    // Bounded: every frame wait has a time limit, and the body a size.
    while (body.len() as u64) < data.size {
        match client.next_frame().await {
            Some(Frame::Body(chunk)) => body.extend_from_slice(&chunk),
            other => panic!("expected body bytes, got {other:?}"),
        }
    }
    let end = match client.recv().await {
        Message::GetEnd(end) => end,
        other => panic!("expected get_end, got {other:?}"),
    };
    (data, body, end)
}

fn get(client: &mut RawClient, path: &str) -> Get {
    Get {
        id: client.id(),
        path: path.into(),
        ..Get::default()
    }
}

#[tokio::test]
async fn a_committed_file_comes_with_its_recorded_hash_first() {
    let server = TestServer::start().await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    // One file streamed (zero-copy), one small enough to be read whole.
    let big = patterned(3 << 20, 31);
    let small = patterned(1000, 7);
    upload(&mut client, "big.bin", &big).await;
    upload(&mut client, "small.txt", &small).await;
    for (path, bytes) in [("big.bin", &big), ("small.txt", &small)] {
        let request = get(&mut client, path);
        let (data, body, end) = download(&mut client, request).await;
        assert_eq!(data.blake3.as_deref(), Some(hash(bytes).as_str()), "{path}");
        assert_eq!(&body, bytes, "{path}");
        assert_eq!(end.blake3, hash(bytes), "{path}");
    }

    // A resumed download: the kept prefix is checked, the rest sent.
    let kept = 1_000_000;
    let request = Get {
        offset: kept as u64,
        prefix_blake3: Some(hash(&big[..kept])),
        size: Some(big.len() as u64),
        ..get(&mut client, "big.bin")
    };
    let modified = std::fs::metadata(server.home("alice").join("big.bin"))
        .expect("stat")
        .modified()
        .expect("mtime")
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let request = Get {
        modified: Some(modified),
        ..request
    };
    let (data, body, end) = download(&mut client, request).await;
    assert_eq!(data.offset, kept as u64, "resumed: {:?}", data.restarted);
    assert_eq!(data.blake3.as_deref(), Some(hash(&big).as_str()));
    assert_eq!(body, &big[kept..]);
    assert_eq!(end.blake3, hash(&big));

    // The audit trail counts the bytes sent zero-copy.
    let downloads: Vec<_> = server
        .audit_lines()
        .into_iter()
        .filter(|line| line["direction"] == "download" && line["path"] == "~/big.bin")
        .collect();
    assert_eq!(downloads.len(), 2, "{downloads:?}");
    assert_eq!(downloads[0]["bytes"], big.len() as u64);
    assert_eq!(downloads[1]["bytes"], (big.len() - kept) as u64);
    assert!(downloads.iter().all(|line| line["result"] == "ok"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_file_changed_behind_the_servers_back_is_hashed_again() {
    let server = TestServer::start().await;
    server.add_user("alice", "pw");
    let mut client = RawClient::login(server.addr, "alice", "pw").await;
    let first = patterned(2 << 20, 13);
    upload(&mut client, "photo.jpg", &first).await;

    // Same size, other bytes, another modification time: the record is stale.
    let changed = patterned(2 << 20, 17);
    let on_disk = server.home("alice").join("photo.jpg");
    let file = std::fs::File::create(&on_disk).expect("rewrite");
    std::io::Write::write_all(&mut &file, &changed).expect("rewrite");
    file.set_modified(UNIX_EPOCH + Duration::from_secs(1_000_000))
        .expect("mtime");
    drop(file);

    let request = get(&mut client, "photo.jpg");
    let (data, body, end) = download(&mut client, request).await;
    assert_eq!(data.blake3, None, "a stale record is not sent");
    assert_eq!(body, changed);
    assert_eq!(end.blake3, hash(&changed), "hashed as it was sent");

    // That download recorded what it computed; the next one has it first.
    let request = get(&mut client, "photo.jpg");
    let (data, body, end) = download(&mut client, request).await;
    assert_eq!(data.blake3.as_deref(), Some(hash(&changed).as_str()));
    assert_eq!(body, changed);
    assert_eq!(end.blake3, hash(&changed));
    server.shutdown().await;
}

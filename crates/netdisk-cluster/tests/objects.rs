//! The object layer against a real 3-node Garage cluster on loopback:
//! what one node takes, every node serves; multipart uploads streamed in
//! parts, resumed through another node, aborted; a node killed mid-upload.

mod common;

use bytes::Bytes;
use common::{garage, objects_on, pattern};
use futures_util::TryStreamExt;
use netdisk_cluster::{
    ObjectBody, ObjectKey, ObjectRanges, Objects, PartHasher, PartWriter, MIN_PART_SIZE,
};
use netdisk_store::{BodyWriter, ByteRanges};

async fn read_all(objects: &Objects, key: &ObjectKey, range: std::ops::Range<u64>) -> Vec<u8> {
    let chunks: Vec<Bytes> = objects
        .read(key, range)
        .await
        .expect("read")
        .try_collect()
        .await
        .expect("read stream");
    chunks.concat()
}

/// Writes `body` through a `PartWriter` in uneven pieces.
async fn write_pieces(writer: &mut PartWriter, body: &[u8]) {
    for piece in body.chunks(3 << 20 | 12_345) {
        writer.write(piece).await.expect("write");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_on_a_three_node_garage_cluster() {
    let Some(mut garage) = garage(3) else { return };
    let nodes: Vec<Objects> = (0..3).map(|node| objects_on(&garage, node)).collect();

    // A whole object through node 0, read through the others, whole and in part.
    let small = ObjectKey::fresh();
    let body = pattern(100_000, 1);
    nodes[0]
        .put(&small, Bytes::from(body.clone()))
        .await
        .expect("put");
    assert_eq!(read_all(&nodes[1], &small, 0..100_000).await, body);
    assert_eq!(
        read_all(&nodes[2], &small, 99_990..100_000).await,
        body[99_990..]
    );
    assert_eq!(nodes[2].size(&small).await.expect("size"), 100_000);
    assert!(read_all(&nodes[1], &small, 5..5).await.is_empty());

    // A multipart object of three parts (the last short), streamed.
    let big = ObjectKey::fresh();
    let body = pattern(2 * MIN_PART_SIZE + 5, 2);
    let mut writer = PartWriter::start(nodes[0].clone(), big.clone(), MIN_PART_SIZE)
        .await
        .expect("start");
    write_pieces(&mut writer, &body).await;
    assert_eq!(writer.written(), body.len() as u64);
    assert_eq!(writer.finish().await.expect("finish"), body.len() as u64);
    let back = read_all(&nodes[2], &big, 0..body.len() as u64).await;
    assert_eq!(blake3::hash(&back), blake3::hash(&body));

    // An empty object is still an object.
    let empty = ObjectKey::fresh();
    let writer = PartWriter::start(nodes[1].clone(), empty.clone(), MIN_PART_SIZE)
        .await
        .expect("start");
    assert_eq!(writer.finish().await.expect("finish"), 0);
    assert_eq!(nodes[0].size(&empty).await.expect("size"), 0);

    // A deferred writer: under one part, one PUT and no multipart upload
    // at all; past one, a multipart upload started with the first part.
    for (len, seed) in [(0, 3), (MIN_PART_SIZE - 1, 4), (MIN_PART_SIZE + 1, 5)] {
        let key = ObjectKey::fresh();
        let body = pattern(len, seed);
        let mut writer = PartWriter::deferred(nodes[2].clone(), key.clone(), MIN_PART_SIZE);
        write_pieces(&mut writer, &body).await;
        assert_eq!(
            writer.upload_id().is_some(),
            len >= MIN_PART_SIZE,
            "{len} bytes: a multipart upload only past one part"
        );
        assert_eq!(writer.finish().await.expect("finish"), len as u64);
        let back = read_all(&nodes[0], &key, 0..len as u64).await;
        assert!(back == body, "{len} bytes read back");
        assert_eq!(nodes[1].size(&key).await.expect("size"), len as u64);
    }
    let never = PartWriter::deferred(nodes[0].clone(), ObjectKey::fresh(), MIN_PART_SIZE);
    never.abort().await.expect("nothing to abort");

    // Begun on node 0, cut after two confirmed parts (what a server would
    // have recorded), resumed and finished on node 1, read on node 2.
    let resumed = ObjectKey::fresh();
    let body = pattern(3 * MIN_PART_SIZE + 777, 3);
    let mut first = PartWriter::start(nodes[0].clone(), resumed.clone(), MIN_PART_SIZE)
        .await
        .expect("start");
    first
        .write(&body[..2 * MIN_PART_SIZE + 1000])
        .await
        .expect("write");
    first.flush().await.expect("flush");
    let (upload, parts) = (
        first.upload_id().expect("started").to_owned(),
        first.parts().to_vec(),
    );
    assert_eq!(first.confirmed(), 2 * MIN_PART_SIZE as u64);
    drop(first); // the server dies: the 1,000 gathered bytes are lost
    let mut second = PartWriter::resume(
        nodes[1].clone(),
        resumed.clone(),
        upload,
        MIN_PART_SIZE,
        parts,
    );
    let from = second.confirmed() as usize;
    write_pieces(&mut second, &body[from..]).await;
    second.finish().await.expect("finish resumed");
    let back = read_all(&nodes[2], &resumed, 0..body.len() as u64).await;
    assert_eq!(blake3::hash(&back), blake3::hash(&body));

    // An aborted upload leaves nothing under its key.
    let aborted = ObjectKey::fresh();
    let mut writer = PartWriter::start(nodes[0].clone(), aborted.clone(), MIN_PART_SIZE)
        .await
        .expect("start");
    writer
        .write(&pattern(MIN_PART_SIZE + 10, 4))
        .await
        .expect("write");
    writer.abort().await.expect("abort");
    assert!(
        nodes[1].size(&aborted).await.is_err(),
        "aborted object absent"
    );

    let listed: Vec<ObjectKey> = nodes[2]
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    for key in [&small, &big, &empty, &resumed] {
        assert!(listed.contains(key), "{key:?} listed");
    }
    assert!(!listed.contains(&aborted));

    // An upload's body as the engine hands it over: hashed and stored by
    // a task of its own, the writer given back to finish the object.
    let through_body = ObjectKey::fresh();
    let body = pattern(2 * MIN_PART_SIZE + MIN_PART_SIZE / 2, 6);
    let writer = PartWriter::start(nodes[1].clone(), through_body.clone(), MIN_PART_SIZE)
        .await
        .expect("start");
    let (mut sink, writer_back) = ObjectBody::start(writer, PartHasher::new(MIN_PART_SIZE), false);
    for chunk in body.chunks(256 << 10) {
        sink.push(Bytes::copy_from_slice(chunk))
            .await
            .expect("push");
    }
    let written = Box::new(sink).finish().await.expect("finish body");
    assert!(written.error.is_none(), "{:?}", written.error);
    assert_eq!(written.blake3, blake3::hash(&body).to_hex().to_string());
    let writer = writer_back.await.expect("writer back");
    assert_eq!(
        writer.confirmed(),
        2 * MIN_PART_SIZE as u64,
        "full parts confirmed"
    );
    writer.finish().await.expect("finish object");
    let back = read_all(&nodes[0], &through_body, 0..body.len() as u64).await;
    assert_eq!(blake3::hash(&back), blake3::hash(&body));

    // The same object as the engine's downloads read it: ranges through a
    // channel, from an async task and from a blocking thread.
    let ranges = ObjectRanges::new(
        nodes[2].clone(),
        through_body.clone(),
        tokio::runtime::Handle::current(),
    );
    let mut pieces = ranges.read(MIN_PART_SIZE as u64 - 5..MIN_PART_SIZE as u64 + 5);
    let mut got = Vec::new();
    while let Some(piece) = pieces.recv().await {
        got.extend_from_slice(&piece.expect("piece"));
    }
    assert_eq!(got, body[MIN_PART_SIZE - 5..MIN_PART_SIZE + 5]);
    let whole = tokio::task::spawn_blocking(move || {
        let mut pieces = ranges.read(0..(2 * MIN_PART_SIZE + MIN_PART_SIZE / 2) as u64);
        let mut hasher = blake3::Hasher::new();
        while let Some(piece) = pieces.blocking_recv() {
            hasher.update(&piece.expect("piece"));
        }
        hasher.finalize()
    })
    .await
    .expect("blocking read");
    assert_eq!(whole, blake3::hash(&body));
    let missing = ObjectRanges::new(
        nodes[0].clone(),
        ObjectKey::fresh(),
        tokio::runtime::Handle::current(),
    );
    let first = missing.read(0..10).recv().await.expect("an item");
    assert!(
        first.is_err(),
        "a missing object is an error, not an empty body"
    );

    // A writer whose node dies: the body is still read and hashed to its
    // end (the client stays in step), and the failure is reported.
    let orphaned = PartWriter::start(nodes[2].clone(), ObjectKey::fresh(), MIN_PART_SIZE)
        .await
        .expect("start");

    // One node killed mid-upload: the upload through a live node
    // completes (two of three replicas answer), and reads go on.
    let survivor = ObjectKey::fresh();
    let body = pattern(2 * MIN_PART_SIZE + 99, 5);
    let mut writer = PartWriter::start(nodes[0].clone(), survivor.clone(), MIN_PART_SIZE)
        .await
        .expect("start");
    writer
        .write(&body[..MIN_PART_SIZE + 5])
        .await
        .expect("write");
    garage.kill_node(2);
    writer
        .write(&body[MIN_PART_SIZE + 5..])
        .await
        .expect("write after a node died");
    writer.finish().await.expect("finish after a node died");
    let back = read_all(&nodes[1], &survivor, 0..body.len() as u64).await;
    assert_eq!(blake3::hash(&back), blake3::hash(&body));
    assert_eq!(
        read_all(&nodes[0], &small, 0..10).await,
        pattern(100_000, 1)[..10]
    );
    let body = pattern(MIN_PART_SIZE + 1, 7);
    let (mut sink, _writer_back) =
        ObjectBody::start(orphaned, PartHasher::new(MIN_PART_SIZE), false);
    for chunk in body.chunks(1 << 20) {
        sink.push(Bytes::copy_from_slice(chunk))
            .await
            .expect("push");
    }
    let written = Box::new(sink).finish().await.expect("finish body");
    assert!(written.error.is_some(), "a dead node's failure is reported");
    assert_eq!(written.blake3, blake3::hash(&body).to_hex().to_string());

    // Deleting is for good, and deleting twice is not an error.
    nodes[0].delete(&small).await.expect("delete");
    nodes[1].delete(&small).await.expect("delete again");
    assert!(nodes[1].size(&small).await.is_err());
}

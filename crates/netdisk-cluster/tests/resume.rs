//! A resumable upload cut on one server and finished on another: its
//! multipart upload and confirmed parts recorded in PostgreSQL, its bytes
//! in a 3-node Garage cluster; leases keep two servers from writing it.

mod common;

use common::{engines, objects_on, path, pattern, postgres};
use netdisk_cluster::{
    Catalog, Claimed, KeptPart, KeptUpload, NewFile, ObjectKey, PartHasher, PartWriter,
    PartialSource, MIN_PART_SIZE,
};
use netdisk_store::{ErrorKind, Existing};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_on_one_server_is_finished_on_another() {
    let Some((postgres, garage)) = engines(3) else {
        return;
    };
    let (server_a, server_b) = (
        Catalog::connect(&postgres.url(), 2)
            .await
            .expect("catalog a"),
        Catalog::connect(&postgres.url(), 2)
            .await
            .expect("catalog b"),
    );
    server_a.set_account("erin", None).await.expect("account");
    let target = path("video.mp4");
    let body = pattern(3 * MIN_PART_SIZE + 4321, 9);
    let source = PartialSource {
        size: body.len() as u64,
        modified: Some(1_700_000_000),
    };
    let now = netdisk_store::unix_now();

    // Server A starts it, and holds it.
    let claimed = server_a
        .claim_partial("erin", &target, source, "a", now + 60)
        .await
        .expect("claim");
    assert_eq!(claimed, Claimed::Fresh { stale: None });
    let mut writer = PartWriter::start(objects_on(&garage, 0), ObjectKey::fresh(), MIN_PART_SIZE)
        .await
        .expect("start");
    let kept = KeptUpload {
        object: writer.key().clone(),
        upload: writer.upload_id().expect("started").to_owned(),
        part_size: MIN_PART_SIZE,
    };
    server_a
        .record_partial("erin", &target, source, &kept, "a", now + 60)
        .await
        .expect("record");
    let refused = server_b
        .claim_partial("erin", &target, source, "b", now + 60)
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Busy, "A holds it");

    // Two parts confirmed and recorded with their hashes, then A dies:
    // its lease runs out. A's reservation gives their bytes to `used`.
    let room = server_a
        .reserve("erin", body.len() as u64, 0, "a", now + 60)
        .await
        .expect("reserve on A");
    let mut hasher = PartHasher::new(MIN_PART_SIZE);
    let sent = 2 * MIN_PART_SIZE + 999;
    hasher.update(&body[..sent]);
    writer.write(&body[..sent]).await.expect("write");
    writer.flush().await.expect("flush");
    for part in writer.parts() {
        let kept = KeptPart {
            part: part.clone(),
            hash: hasher.part(part.index).expect("hashed"),
        };
        server_a
            .add_part("erin", &target, &kept, "a", now - 1, Some(room.id))
            .await
            .expect("add part");
    }
    drop(writer);
    let usage = server_a.usage("erin").await.expect("usage");
    assert_eq!(usage.used, 2 * MIN_PART_SIZE as u64, "kept parts count");
    assert_eq!(
        usage.reserved,
        body.len() as u64 - 2 * MIN_PART_SIZE as u64,
        "the rest stays reserved"
    );
    server_a.release(&room).await.expect("A's room goes");

    // B takes it over and goes on from the recorded parts, through another
    // node, without their bytes: their hashes make the whole file's.
    let Claimed::Resume {
        kept: resumed,
        parts,
    } = server_b
        .claim_partial("erin", &target, source, "b", now + 60)
        .await
        .expect("claim")
    else {
        panic!("B should resume");
    };
    assert_eq!(resumed, kept);
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts[1].hash.prefix,
        *blake3::hash(&body[..2 * MIN_PART_SIZE]).as_bytes(),
        "the prefix a client checks"
    );
    let late = server_a
        .add_part("erin", &target, &parts[0], "a", now + 60, None)
        .await
        .unwrap_err();
    assert_eq!(
        late.kind,
        ErrorKind::Busy,
        "A lost its lease: its writes stop"
    );
    let mut hasher =
        PartHasher::resumed(MIN_PART_SIZE, parts.iter().map(|part| part.hash).collect());
    let mut writer = PartWriter::resume(
        objects_on(&garage, 1),
        resumed.object.clone(),
        resumed.upload.clone(),
        resumed.part_size,
        parts.into_iter().map(|part| part.part).collect(),
    );
    let from = writer.confirmed() as usize;
    assert_eq!(from, 2 * MIN_PART_SIZE);
    hasher.update(&body[from..]);
    writer.write(&body[from..]).await.expect("write the rest");
    assert_eq!(writer.finish().await.expect("finish"), body.len() as u64);
    assert_eq!(
        hasher.finalize_hex(),
        blake3::hash(&body).to_hex().to_string()
    );

    // Committed: the partial goes with the commit, and its bytes count
    // once, as the file's.
    let reservation = server_b
        .reserve("erin", body.len() as u64 - from as u64, 0, "b", now + 60)
        .await
        .expect("reserve");
    let file = NewFile {
        path: target.clone(),
        size: body.len() as u64,
        blake3: hasher.finalize_hex(),
        object: resumed.object.clone(),
        modified: source.modified,
        mode: None,
    };
    let replaced = server_b
        .commit_file("erin", &file, &reservation, Existing::Replace, "b")
        .await
        .expect("commit");
    assert_eq!(
        replaced.partial,
        Some(kept),
        "the commit forgot the partial"
    );
    assert_eq!(
        server_b
            .drop_partial("erin", &target, "b")
            .await
            .expect("drop"),
        None
    );
    let usage = server_b.usage("erin").await.expect("usage");
    assert_eq!((usage.used, usage.reserved), (body.len() as u64, 0));
    let entry = server_a.entry("erin", &target).await.expect("entry on A");
    assert_eq!(entry.blake3.as_deref(), Some(file.blake3.as_str()));
    let mut pieces = objects_on(&garage, 2)
        .read(&resumed.object, 0..body.len() as u64)
        .await
        .expect("read");
    let mut hasher = blake3::Hasher::new();
    while let Some(piece) = futures_util::StreamExt::next(&mut pieces).await {
        hasher.update(&piece.expect("piece"));
    }
    assert_eq!(hasher.finalize(), blake3::hash(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_of_another_version_or_let_go_of() {
    let Some(postgres) = postgres() else {
        return;
    };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("catalog");
    catalog.set_account("finn", None).await.expect("account");
    let target = path("doc.odt");
    let now = netdisk_store::unix_now();
    let first = PartialSource {
        size: 100,
        modified: Some(1),
    };
    let kept = KeptUpload {
        object: ObjectKey::fresh(),
        upload: "upload-1".into(),
        part_size: MIN_PART_SIZE,
    };
    catalog
        .record_partial("finn", &target, first, &kept, "a", now + 60)
        .await
        .expect("record");
    let twice = catalog
        .record_partial("finn", &target, first, &kept, "b", now + 60)
        .await
        .unwrap_err();
    assert_eq!(twice.kind, ErrorKind::Busy, "one partial per target");

    // Let go of (a cut connection): another server may take it at once.
    catalog
        .release_partial("finn", &target, "a")
        .await
        .expect("release");
    let claimed = catalog
        .claim_partial("finn", &target, first, "b", now + 60)
        .await
        .expect("claim");
    assert!(matches!(claimed, Claimed::Resume { ref parts, .. } if parts.is_empty()));

    // The source changed: the kept upload is stale, given back to abort.
    let changed = PartialSource {
        size: 100,
        modified: Some(2),
    };
    let claimed = catalog
        .claim_partial("finn", &target, changed, "b", now + 60)
        .await
        .expect("claim");
    assert_eq!(claimed, Claimed::Fresh { stale: Some(kept) });
    assert_eq!(
        catalog
            .drop_partial("finn", &target, "b")
            .await
            .expect("drop"),
        Some((None, 0)),
        "the new version's partial, recorded by the claim, has no upload yet"
    );
    assert_eq!(
        catalog
            .drop_partial("finn", &target, "b")
            .await
            .expect("drop"),
        None
    );
}

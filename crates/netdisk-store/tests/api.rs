//! The engine driven through its public API alone, with no protocol: what
//! a second front-end (HTTP, WebDAV) would call.

mod common;

use bytes::Bytes;
use common::{keeping_nothing, open_store, path, space};
use netdisk_proto::{EntryKind, ErrorCode, HomePath};
use netdisk_store::{ErrorKind, KeptPrefix, ListPage, Space, Store, UploadSpec};
use std::time::Duration;

/// Removed and replaced files leave at once here, as before the trash;
/// tests/retention.rs holds what is kept when it is on.
fn open_store_without_retention(root: &std::path::Path, quota: Option<u64>) -> Store {
    open_store(root, quota, keeping_nothing())
}

fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

fn spec(size: usize, resume: bool) -> UploadSpec {
    UploadSpec {
        size: size as u64,
        resume,
        ..UploadSpec::default()
    }
}

/// Uploads `body` whole, in chunks of at most 64 KiB.
async fn upload(space: &Space, to: &str, body: &[u8]) -> Result<String, netdisk_store::StoreError> {
    let mut upload = space
        .begin_upload(&path(to), spec(body.len(), false))
        .await?;
    upload.start_body(0).await.expect("start");
    for chunk in body.chunks(64 * 1024) {
        upload
            .write(Bytes::copy_from_slice(chunk))
            .await
            .expect("write");
    }
    Ok(upload.finish(&hash(body)).await?.blake3)
}

async fn download(space: &Space, from: &str) -> (Vec<u8>, String) {
    let mut download = space.open_download(&path(from), None).await.expect("open");
    let mut body = Vec::new();
    while let Some(chunk) = download.next_chunk().await {
        body.extend_from_slice(&chunk.expect("chunk"));
    }
    let blake3 = download.finish().await.expect("finish");
    (body, blake3)
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_downloads_renames_and_the_stored_hash() {
    let root = tempfile::tempdir().expect("tempdir");
    let store = open_store_without_retention(root.path(), None);
    let space = space(&store).await;
    let body: Vec<u8> = (0..700_000u32).map(|i| (i * 31 % 251) as u8).collect();
    space
        .mkdir(&path("docs/2026"), true)
        .await
        .expect("mkdir -p");
    let stored = upload(&space, "docs/2026/a.bin", &body)
        .await
        .expect("upload");
    assert_eq!(stored, hash(&body));

    // A wrong hash stores nothing and leaves the old file alone.
    let mut bad = space
        .begin_upload(&path("docs/2026/a.bin"), spec(3, false))
        .await
        .expect("begin");
    bad.start_body(0).await.expect("start");
    bad.write(Bytes::from_static(b"xyz")).await.expect("write");
    let err = bad.finish(&hash(b"abc")).await.expect_err("mismatch");
    assert_eq!(err.kind, ErrorKind::Integrity);

    let (got, blake3) = download(&space, "docs/2026/a.bin").await;
    assert_eq!(got, body, "the first upload is still there");
    assert_eq!(blake3, hash(&body));

    // The hash stat gives is the one recorded at the commit, and it stays
    // true when the file is changed behind the server's back.
    let (entry, recorded) = space
        .stat_with_hash(&path("docs/2026/a.bin"))
        .await
        .expect("stat");
    assert_eq!(
        (entry.kind, entry.size),
        (EntryKind::File, body.len() as u64)
    );
    assert_eq!(recorded, Some(hash(&body)));
    let on_disk = root.path().join("homes/alice/docs/2026/a.bin");
    // Same size (so the quota book, which learns of changes made behind
    // the store's back only when it next measures the disk, stays exact),
    // other bytes, and a modification time surely different.
    let changed: Vec<u8> = body.iter().map(|b| b ^ 0x5a).collect();
    let file = std::fs::File::create(&on_disk).expect("rewrite");
    std::io::Write::write_all(&mut &file, &changed).expect("rewrite");
    file.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_000_000))
        .expect("mtime");
    drop(file);
    let (_, rehashed) = space
        .stat_with_hash(&path("docs/2026/a.bin"))
        .await
        .expect("stat");
    assert_eq!(rehashed, Some(hash(&changed)));

    // Renames: into a directory, over a file (whose bytes are freed).
    upload(&space, "b.txt", b"bee").await.expect("upload b");
    space
        .rename(&path("b.txt"), &path("docs"))
        .await
        .expect("mv into dir");
    assert_eq!(
        space.entry(&path("docs/b.txt")).await.expect("moved").size,
        3
    );
    upload(&space, "c.txt", b"sea!").await.expect("upload c");
    space
        .rename(&path("c.txt"), &path("docs/b.txt"))
        .await
        .expect("mv over");
    assert_eq!(download(&space, "docs/b.txt").await.0, b"sea!");
    let err = space
        .rename(&path("docs"), &path("docs/2026"))
        .await
        .expect_err("into itself");
    assert_eq!(err.code(), ErrorCode::BadRequest);
    let names: Vec<_> = space
        .list(&path("docs"))
        .await
        .expect("ls")
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["2026", "b.txt"]);

    // The rules that are the store's: the home stays.
    let err = space
        .remove(&HomePath::home(), true)
        .await
        .expect_err("rm -r ~");
    assert_eq!(err.kind, ErrorKind::PermissionDenied);
    space.remove(&path("docs"), true).await.expect("rm -r");
    assert_eq!(
        space.usage().await.expect("df").used,
        0,
        "every byte accounted"
    );

    // Every change is audited by the store itself.
    let audit = std::fs::read_to_string(root.path().join("audit.log")).expect("audit");
    for wanted in [
        "\"event\":\"rename\"",
        "\"result\":\"integrity\"",
        "\"event\":\"remove\"",
        "\"direction\":\"download\"",
    ] {
        assert!(audit.contains(wanted), "{wanted} in {audit}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_is_listed_in_pages_keyed_by_name() {
    let root = tempfile::tempdir().expect("tempdir");
    let store = open_store_without_retention(root.path(), None);
    let space = space(&store).await;
    for name in ["e", "b", "d", "a", "c"] {
        upload(&space, name, name.as_bytes()).await.expect("upload");
    }
    let names =
        |page: &ListPage| -> Vec<String> { page.entries.iter().map(|e| e.name.clone()).collect() };
    let home = HomePath::home();
    let first = space.list_page(&home, None, 2).await.expect("page 1");
    assert_eq!(
        (names(&first), first.more),
        (vec!["a".into(), "b".into()], true)
    );
    // A name removed between pages does not shift the next one.
    space.remove(&path("b"), false).await.expect("rm b");
    let second = space.list_page(&home, Some("b"), 2).await.expect("page 2");
    assert_eq!(
        (names(&second), second.more),
        (vec!["c".into(), "d".into()], true)
    );
    let last = space.list_page(&home, Some("d"), 2).await.expect("page 3");
    assert_eq!((names(&last), last.more), (vec!["e".into()], false));
    let past = space
        .list_page(&home, Some("z"), 2)
        .await
        .expect("past the end");
    assert_eq!((past.entries.len(), past.more), (0, false));
    let err = space
        .list_page(&path("nowhere"), None, 2)
        .await
        .expect_err("missing");
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_uploads_racing_for_the_quota_cannot_both_pass() {
    let root = tempfile::tempdir().expect("tempdir");
    let store = open_store_without_retention(root.path(), Some(1000));
    // Two sessions, each on a task of its own: a real race on the
    // multi-threaded runtime, not two futures taking turns.
    let (first, second) = (space(&store).await, space(&store).await);
    let racing = |space: Space, name: &'static str| {
        tokio::spawn(async move {
            let target = path(name);
            space.begin_upload(&target, spec(600, false)).await
        })
    };
    let (a, b) = (racing(first.clone(), "a"), racing(second.clone(), "b"));
    let (a, b) = (a.await.expect("task"), b.await.expect("task"));
    let (winner, loser) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        (Ok(_), Ok(_)) => panic!("both uploads passed a 1000-byte quota with 600 bytes each"),
        (Err(a), Err(b)) => panic!("both refused: {a} / {b}"),
    };
    assert_eq!(loser.kind, ErrorKind::QuotaExceeded);
    let mut winner = winner;
    winner.start_body(0).await.expect("start");
    winner
        .write(Bytes::from(vec![7u8; 600]))
        .await
        .expect("write");
    let committed = winner.finish(&hash(&[7u8; 600])).await.expect("commit");
    let usage = first.usage().await.expect("df");
    assert_eq!(
        (usage.used, usage.reserved, usage.quota),
        (600, 0, Some(1000))
    );
    // Replacing the file is checked as if its bytes were already free.
    upload(&second, &committed.path.to_string(), &[1u8; 900])
        .await
        .expect("an overwrite fits");
    assert!(upload(&second, "c", &[1u8; 200]).await.is_err(), "full");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_upload_is_resumed_from_its_kept_bytes_even_after_a_restart() {
    let root = tempfile::tempdir().expect("tempdir");
    let body: Vec<u8> = (0..500_000u32).map(|i| (i % 253) as u8).collect();
    let kept = 300_000;
    {
        let store = open_store_without_retention(root.path(), None);
        let space = space(&store).await;
        let mut upload = space
            .begin_upload(&path("big.bin"), spec(body.len(), true))
            .await
            .expect("begin");
        assert_eq!(upload.offset(), 0);
        upload.start_body(0).await.expect("start");
        // In TLS-record-sized pieces, as an HTTP body comes: the last ones
        // are still being gathered into a chunk when the upload is cut,
        // and are kept all the same.
        for piece in body[..kept].chunks(16 * 1024) {
            upload
                .write(Bytes::copy_from_slice(piece))
                .await
                .expect("write");
        }
        upload.abandon().await;
        let partials = space.partials().await.expect("partials");
        assert_eq!(partials.len(), 1);
        assert_eq!(
            (partials[0].kept, partials[0].path.as_str()),
            (kept as u64, "~/big.bin")
        );
        assert_eq!(
            space.usage().await.expect("df").used,
            kept as u64,
            "kept bytes count"
        );
    }
    // A new process: the partial is found again and only the rest moves.
    let store = open_store_without_retention(root.path(), None);
    let space = space(&store).await;
    let mut upload = space
        .begin_upload(&path("big.bin"), spec(body.len(), true))
        .await
        .expect("resume");
    assert_eq!(upload.offset(), kept as u64);
    assert_eq!(upload.prefix_blake3(), Some(hash(&body[..kept])));
    upload.start_body(kept as u64).await.expect("start");
    assert_eq!(upload.body_len(), (body.len() - kept) as u64);
    upload
        .write(Bytes::copy_from_slice(&body[kept..]))
        .await
        .expect("write");
    upload.finish(&hash(&body)).await.expect("commit");
    assert!(space.partials().await.expect("partials").is_empty());
    let usage = space.usage().await.expect("df");
    assert_eq!((usage.used, usage.partials), (body.len() as u64, 0));

    // A download resumed from a kept prefix sends only the rest.
    let entry = space.entry(&path("big.bin")).await.expect("entry");
    let prefix = KeptPrefix {
        offset: 123_456,
        blake3: Some(hash(&body[..123_456])),
        size: Some(entry.size),
        modified: entry.modified,
    };
    let mut download = space
        .open_download(&path("big.bin"), Some(prefix))
        .await
        .expect("open");
    assert_eq!(download.offset(), 123_456);
    let mut rest = Vec::new();
    while let Some(chunk) = download.next_chunk().await {
        rest.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(rest, &body[123_456..]);
    assert_eq!(download.finish().await.expect("finish"), hash(&body));
}

/// `create_new` uploads never replace: refused at the start when the name
/// is taken, and when two race for a free name (both begun while it was
/// free) one commits and the other is refused at its commit, its bytes
/// gone and its space given back.
#[tokio::test(flavor = "multi_thread")]
async fn create_new_uploads_never_replace_even_when_they_race() {
    let root = tempfile::tempdir().expect("tempdir");
    let store = open_store_without_retention(root.path(), Some(1 << 20));
    let space = space(&store).await;
    upload(&space, "taken.txt", b"first").await.expect("upload");
    let new_only = |size: usize| UploadSpec {
        size: size as u64,
        create_new: true,
        ..UploadSpec::default()
    };
    let refused = space
        .begin_upload(&path("taken.txt"), new_only(6))
        .await
        .err()
        .expect("a taken name is refused at the start");
    assert_eq!(refused.kind, ErrorKind::Exists);

    let (a, b) = (vec![b'a'; 40_000], vec![b'b'; 50_000]);
    let mut uploads = Vec::new();
    for body in [&a, &b] {
        let mut upload = space
            .begin_upload(&path("race.bin"), new_only(body.len()))
            .await
            .expect("the name is free when both begin");
        upload.start_body(0).await.expect("start");
        upload
            .write(Bytes::copy_from_slice(body))
            .await
            .expect("write");
        uploads.push(upload);
    }
    let second = uploads.pop().expect("b");
    let first = uploads.pop().expect("a");
    first.finish(&hash(&a)).await.expect("the first commits");
    let lost = second
        .finish(&hash(&b))
        .await
        .expect_err("the second is refused");
    assert_eq!(lost.kind, ErrorKind::Exists);
    assert_eq!(download(&space, "race.bin").await.0, a, "never replaced");
    assert_eq!(download(&space, "taken.txt").await.0, b"first");

    // The loser left no bytes behind, counted or not.
    let usage = space.usage().await.expect("usage");
    assert_eq!((usage.used, usage.reserved), (40_000 + 5, 0));
    let staged = files_under(&root.path().join("staging"));
    assert!(staged.is_empty(), "staging files left: {staged:?}");
}

/// Every file (not directory) below `dir`.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read staging") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

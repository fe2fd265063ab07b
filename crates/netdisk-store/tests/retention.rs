//! The trash and old versions through the engine's public API: what `rm`
//! and overwrites keep, restores (also over an existing name, and of a
//! whole tree), purges, expiry, space made for uploads, the quota exact
//! against the bytes on disk after every step, crash leftovers swept, and
//! hostile ids refused.

mod common;

use bytes::Bytes;
use common::{open_store, path, space};
use netdisk_proto::EntryKind;
use netdisk_store::{ErrorKind, Retention, Space, TrashPurge, TrashRef, UploadSpec};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

fn keeping(versions: u32) -> Retention {
    Retention {
        keep_versions: versions,
        ..Retention::default()
    }
}

async fn put(space: &Space, to: &str, body: &[u8]) -> Result<(), netdisk_store::StoreError> {
    let spec = UploadSpec {
        size: body.len() as u64,
        ..UploadSpec::default()
    };
    let mut upload = space.begin_upload(&path(to), spec).await?;
    upload.start_body(0).await.expect("start");
    upload
        .write(Bytes::copy_from_slice(body))
        .await
        .expect("write");
    let hash = blake3::hash(body).to_hex().to_string();
    upload.finish(&hash).await.map(|_| ())
}

fn read(root: &Path, p: &str) -> Vec<u8> {
    std::fs::read(root.join("homes/alice").join(p)).expect("read from the home")
}

/// Bytes of regular files under the user's home and kept area, each
/// inode once: what the quota must say is used.
fn bytes_on_disk(root: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut pending = vec![root.join("homes/alice"), root.join("kept/alice")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let entry = entry.expect("entry");
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() && entry.file_name() != "meta.json" && seen.insert(meta.ino())
            {
                total += meta.len();
            }
        }
    }
    total
}

async fn assert_exact(space: &Space, root: &Path) {
    let usage = space.usage().await.expect("usage");
    assert_eq!(
        usage.used,
        bytes_on_disk(root),
        "the quota book and the disk"
    );
    assert_eq!(usage.reserved, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn removed_files_and_trees_wait_in_the_trash_and_come_back_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let store = open_store(root, Some(1 << 20), Retention::default());
    let space = space(&store).await;
    space.mkdir(&path("album/2026"), true).await.expect("mkdir");
    put(&space, "album/2026/a.jpg", &[1; 3000])
        .await
        .expect("put");
    put(&space, "album/b.jpg", &[2; 5000]).await.expect("put");
    put(&space, "note.txt", b"remember").await.expect("put");

    // A file: gone from the home, in the trash, still counted.
    space.remove(&path("note.txt"), false).await.expect("rm");
    assert!(space.entry(&path("note.txt")).await.is_err());
    let trash = space.trash().await.expect("trash");
    assert_eq!(trash.len(), 1);
    assert_eq!((trash[0].path.as_str(), trash[0].size), ("~/note.txt", 8));
    assert_eq!(trash[0].kind, EntryKind::File);
    let usage = space.usage().await.expect("usage");
    assert_eq!((usage.trash, usage.used), (8, 8008));
    assert_exact(&space, root).await;

    // `rm` of a directory says which command removes it.
    let refused = space
        .remove(&path("album"), false)
        .await
        .expect_err("a dir");
    assert_eq!(refused.kind, ErrorKind::IsADirectory);
    assert!(refused.message.contains("rm -r"), "{}", refused.message);
    space.mkdir(&path("empty"), false).await.expect("mkdir");
    let refused = space
        .remove(&path("empty"), false)
        .await
        .expect_err("a dir");
    assert!(refused.message.contains("rmdir"), "{}", refused.message);

    // A whole tree, in one item.
    space.remove(&path("album"), true).await.expect("rm -r");
    assert!(space.entry(&path("album")).await.is_err());
    let trash = space.trash().await.expect("trash");
    assert_eq!(trash.len(), 2);
    assert_eq!((trash[1].kind, trash[1].size), (EntryKind::Dir, 8000));
    assert_exact(&space, root).await;

    // Restored where they were: the tree whole, byte for byte.
    let back = space
        .restore_trash(&TrashRef::Path(path("album")), None)
        .await
        .expect("restore the tree");
    assert_eq!(back, path("album"));
    assert_eq!(read(root, "album/2026/a.jpg"), vec![1; 3000]);
    assert_eq!(read(root, "album/b.jpg"), vec![2; 5000]);

    // Over an existing name: refused, both kept; elsewhere with `to`.
    put(&space, "note.txt", b"a new note").await.expect("put");
    let id = space.trash().await.expect("trash")[0].id.clone();
    let refused = space
        .restore_trash(&TrashRef::Id(id.clone()), None)
        .await
        .expect_err("the name is taken");
    assert_eq!(refused.kind, ErrorKind::Exists);
    assert_eq!(read(root, "note.txt"), b"a new note");
    space
        .restore_trash(&TrashRef::Id(id), Some(&path("old/note.txt")))
        .await
        .expect("restore elsewhere, its folder made");
    assert_eq!(read(root, "old/note.txt"), b"remember");
    assert!(space.trash().await.expect("trash").is_empty());
    assert_exact(&space, root).await;

    // Purged: the bytes leave the disk and the quota.
    space.remove(&path("old"), true).await.expect("rm -r");
    space.remove(&path("album/b.jpg"), false).await.expect("rm");
    let (count, bytes) = space.purge_trash(TrashPurge::All).await.expect("purge");
    assert_eq!((count, bytes), (2, 5008));
    assert_eq!(space.usage().await.expect("usage").trash, 0);
    assert_exact(&space, root).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn overwrites_keep_the_configured_number_of_versions_with_their_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let store = open_store(root, Some(1 << 20), keeping(5));
    let space = space(&store).await;
    let body = |n: usize| vec![n as u8; 1000 + n];
    for n in 0..20 {
        put(&space, "doc.bin", &body(n)).await.expect("overwrite");
        let versions = space.versions(&path("doc.bin")).await.expect("versions");
        assert_eq!(versions.len(), n.min(5), "after write {n}");
        assert_exact(&space, root).await;
    }
    assert_eq!(read(root, "doc.bin"), body(19));
    // Newest first: the bytes of writes 18, 17, ... 14, each with its hash.
    let versions = space.versions(&path("doc.bin")).await.expect("versions");
    for (i, version) in versions.iter().enumerate() {
        let n = 18 - i;
        assert_eq!(version.size, body(n).len() as u64);
        assert_eq!(
            version.blake3.as_deref(),
            Some(blake3::hash(&body(n)).to_hex().as_str())
        );
    }
    let usage = space.usage().await.expect("usage");
    assert_eq!(
        usage.versions,
        (14..=18).map(|n| body(n).len() as u64).sum::<u64>()
    );

    // Restoring an old version: its bytes are the file again, verified,
    // and what they replaced is the newest version.
    let oldest = versions.last().expect("oldest").clone();
    space
        .restore_version(&path("doc.bin"), &oldest.id)
        .await
        .expect("restore");
    assert_eq!(read(root, "doc.bin"), body(14));
    let versions = space.versions(&path("doc.bin")).await.expect("versions");
    assert_eq!(versions.len(), 5);
    assert_eq!(versions[0].size, body(19).len() as u64);
    assert_exact(&space, root).await;

    // A move over a file keeps the replaced file as a version too.
    put(&space, "other.bin", b"other").await.expect("put");
    space
        .rename(&path("other.bin"), &path("doc.bin"))
        .await
        .expect("mv");
    assert_eq!(read(root, "doc.bin"), b"other");
    assert_eq!(
        space.versions(&path("doc.bin")).await.expect("versions")[0].size,
        body(14).len() as u64
    );
    assert_exact(&space, root).await;

    // Purged: one, then the rest.
    let versions = space.versions(&path("doc.bin")).await.expect("versions");
    let (count, bytes) = space
        .purge_versions(&path("doc.bin"), Some(&versions[0].id))
        .await
        .expect("purge one");
    assert_eq!((count, bytes), (1, versions[0].size));
    space
        .purge_versions(&path("doc.bin"), None)
        .await
        .expect("purge all");
    assert!(space
        .versions(&path("doc.bin"))
        .await
        .expect("versions")
        .is_empty());
    assert_exact(&space, root).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_over_the_quota_releases_the_oldest_trash_then_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let store = open_store(root, Some(100_000), keeping(3));
    let space = space(&store).await;
    put(&space, "old.bin", &[1; 40_000]).await.expect("put");
    put(&space, "doc.bin", &[2; 20_000]).await.expect("put");
    put(&space, "doc.bin", &[3; 20_000])
        .await
        .expect("overwrite: a version");
    space.remove(&path("old.bin"), false).await.expect("rm");
    // 80,000 used (40,000 trash, 20,000 version): 50,000 more only fit
    // once the trash is gone; the version stays.
    put(&space, "new.bin", &[4; 50_000])
        .await
        .expect("fits after the trash goes");
    assert!(space.trash().await.expect("trash").is_empty());
    assert_eq!(space.versions(&path("doc.bin")).await.expect("v").len(), 1);
    assert_exact(&space, root).await;
    // 90,000 more do not fit even without every version: refused, nothing lost.
    let refused = put(&space, "huge.bin", &[5; 90_000])
        .await
        .expect_err("too big");
    assert_eq!(refused.kind, ErrorKind::QuotaExceeded);
    assert_exact(&space, root).await;
    // 25,000 more fit once the version goes.
    put(&space, "more.bin", &[6; 25_000])
        .await
        .expect("fits after the version goes");
    assert!(space
        .versions(&path("doc.bin"))
        .await
        .expect("v")
        .is_empty());
    assert_exact(&space, root).await;

    // With the setting off, nothing is released.
    drop(space);
    drop(store);
    let store = open_store(
        root,
        None,
        Retention {
            free_space_from_trash: false,
            ..keeping(3)
        },
    );
    let space = self::space(&store).await;
    space.remove(&path("more.bin"), false).await.expect("rm");
    store
        .users()
        .set_quota("alice", Some(100_000))
        .expect("quota");
    let refused = put(&space, "again.bin", &[7; 30_000])
        .await
        .expect_err("full");
    assert_eq!(refused.kind, ErrorKind::QuotaExceeded);
    assert_eq!(space.trash().await.expect("trash").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_trash_or_versions_nothing_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let off = Retention {
        keep_trash: Duration::ZERO,
        keep_versions: 0,
        free_space_from_trash: true,
    };
    let store = open_store(root, None, off);
    let space = space(&store).await;
    put(&space, "a.bin", &[1; 100]).await.expect("put");
    put(&space, "a.bin", &[2; 50]).await.expect("overwrite");
    space.remove(&path("a.bin"), false).await.expect("rm");
    assert!(space.trash().await.expect("trash").is_empty());
    assert!(space.versions(&path("a.bin")).await.expect("v").is_empty());
    assert_eq!(space.usage().await.expect("usage").used, 0);
    assert_exact(&space, root).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_trash_goes_and_crash_leftovers_are_swept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    {
        let store = open_store(root, None, keeping(3));
        let space = space(&store).await;
        put(&space, "old.bin", &[1; 700]).await.expect("put");
        put(&space, "new.bin", &[2; 300]).await.expect("put");
        space.remove(&path("old.bin"), false).await.expect("rm");
        space.remove(&path("new.bin"), false).await.expect("rm");
        // Age the first item past the 30 days the trash keeps things.
        let old = &space.trash().await.expect("trash")[0];
        let meta_path = root
            .join("kept/alice/trash")
            .join(&old.id)
            .join("meta.json");
        let mut meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&meta_path).expect("meta")).expect("json");
        meta["at"] = serde_json::json!(1_000_000);
        std::fs::write(&meta_path, meta.to_string()).expect("age it");
        assert_eq!(store.sweep_expired().await, 700);
        let left = space.trash().await.expect("trash");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].path, "~/new.bin");
        assert_exact(&space, root).await;

        // What a crash leaves: an item whose data never arrived, and a
        // version linked in whose replacement never happened.
        put(&space, "doc.bin", &[3; 400]).await.expect("put");
        let half = root.join("kept/alice/trash/00000000000000000001-abcd");
        std::fs::create_dir_all(&half).expect("half item");
        std::fs::write(half.join("meta.json"), meta.to_string()).expect("meta");
        let stale = root
            .join("kept/alice/versions/0123456789abcdef0123456789abcdef/00000000000000000002-abcd");
        std::fs::create_dir_all(&stale).expect("stale version");
        std::fs::write(
            stale.join("meta.json"),
            r#"{"path":"doc.bin","kind":"file","size":400,"at":1}"#,
        )
        .expect("meta");
        std::fs::hard_link(root.join("homes/alice/doc.bin"), stale.join("data")).expect("link");
    }
    // The next process sweeps both before it measures the usage.
    let store = open_store(root, None, keeping(3));
    let space = space(&store).await;
    assert!(!root
        .join("kept/alice/trash/00000000000000000001-abcd")
        .exists());
    assert!(!root
        .join("kept/alice/versions/0123456789abcdef0123456789abcdef/00000000000000000002-abcd")
        .exists());
    assert_eq!(read(root, "doc.bin"), vec![3; 400]);
    assert_eq!(space.trash().await.expect("trash").len(), 1);
    assert_exact(&space, root).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_ids_and_paths_reach_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let store = open_store(root, None, keeping(3));
    let space = space(&store).await;
    put(&space, "a.bin", b"one").await.expect("put");
    put(&space, "a.bin", b"two").await.expect("overwrite");
    space.remove(&path("a.bin"), false).await.expect("rm");
    std::fs::write(root.join("users.db.bak"), b"secret").expect("planted");
    let hostile = [
        "",
        "..",
        "../../users.db.bak",
        "/etc/passwd",
        "00000000000000000001-abcd/../..",
        "00000000000000000001-ABCD",
        "0000000000000000000a-abcd",
        "trash",
        "versions",
    ];
    for id in hostile {
        let restore = space
            .restore_trash(&TrashRef::Id(id.into()), Some(&path("x")))
            .await;
        assert_eq!(restore.expect_err(id).kind, ErrorKind::NotFound, "{id:?}");
        let purge = space.purge_trash(TrashPurge::Ids(vec![id.into()])).await;
        assert_eq!(purge.expect_err(id).kind, ErrorKind::NotFound, "{id:?}");
        let version = space.restore_version(&path("a.bin"), id).await;
        assert_eq!(version.expect_err(id).kind, ErrorKind::NotFound, "{id:?}");
        let purge = space.purge_versions(&path("a.bin"), Some(id)).await;
        assert_eq!(purge.expect_err(id).kind, ErrorKind::NotFound, "{id:?}");
    }
    // A version is only found under its own path.
    let version = space.versions(&path("a.bin")).await.expect("v")[0].clone();
    let elsewhere = space.restore_version(&path("b.bin"), &version.id).await;
    assert_eq!(elsewhere.expect_err("other path").kind, ErrorKind::NotFound);
    assert!(space.entry(&path("x")).await.is_err() && space.entry(&path("b.bin")).await.is_err());
    assert_eq!(
        std::fs::read(root.join("users.db.bak")).expect("kept"),
        b"secret"
    );
    assert_eq!(space.trash().await.expect("trash").len(), 1);
    assert_exact(&space, root).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_quota_an_overwrite_fits_by_not_keeping_the_file_it_replaces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let store = open_store(root, Some(100_000), keeping(3));
    let space = space(&store).await;
    put(&space, "a.bin", &[1; 30_000]).await.expect("put");
    put(&space, "a.bin", &[2; 30_000])
        .await
        .expect("overwrite: a version");
    put(&space, "b.bin", &[3; 30_000]).await.expect("put");
    assert_exact(&space, root).await;
    // 90,000 used: the old version goes first, then b.bin's own old bytes.
    put(&space, "b.bin", &[4; 40_000])
        .await
        .expect("fits without the version");
    assert!(space.versions(&path("a.bin")).await.expect("v").is_empty());
    assert_exact(&space, root).await;
    put(&space, "b.bin", &[5; 60_000])
        .await
        .expect("fits, b.bin's old bytes freed");
    assert!(space.versions(&path("b.bin")).await.expect("v").is_empty());
    assert_eq!(read(root, "b.bin"), vec![5; 60_000]);
    assert_exact(&space, root).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_s_own_settings_win_over_the_server_s_from_their_next_login() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let store = open_store(root, None, keeping(10));
    let own = netdisk_store::RetentionOverrides {
        keep_trash: Some(Duration::ZERO),
        keep_versions: Some(1),
        free_space_from_trash: None,
    };
    let merged = store.users().set_retention("alice", own).expect("set");
    assert_eq!(merged, own);
    // One setting changed alone leaves the others as they were.
    let merged = store
        .users()
        .set_retention(
            "alice",
            netdisk_store::RetentionOverrides {
                free_space_from_trash: Some(false),
                ..Default::default()
            },
        )
        .expect("set");
    assert_eq!(
        (merged.keep_versions, merged.free_space_from_trash),
        (Some(1), Some(false))
    );
    assert!(store.users().set_retention("nobody", own).is_err());

    let space = space(&store).await;
    for n in 0..3u8 {
        put(&space, "doc.bin", &[n; 100]).await.expect("put");
    }
    assert_eq!(space.versions(&path("doc.bin")).await.expect("v").len(), 1);
    space.remove(&path("doc.bin"), false).await.expect("rm");
    assert!(
        space.trash().await.expect("trash").is_empty(),
        "her trash is off"
    );
    assert_exact(&space, root).await;

    // Reset: the server's settings again, from the next login.
    store.users().reset_retention("alice").expect("reset");
    let space = self::space(&store).await;
    for n in 0..3u8 {
        put(&space, "doc.bin", &[n; 100]).await.expect("put");
    }
    // The version kept before, and two more: ten may be kept now.
    assert_eq!(space.versions(&path("doc.bin")).await.expect("v").len(), 3);
    space.remove(&path("doc.bin"), false).await.expect("rm");
    assert_eq!(space.trash().await.expect("trash").len(), 1);
    assert_exact(&space, root).await;
}

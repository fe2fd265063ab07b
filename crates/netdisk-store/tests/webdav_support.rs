//! What the store offers WebDAV beyond the other front-ends: a file
//! copied through a verified upload (quota and all), dead properties
//! kept with their file or directory, the recorded hash without hashing,
//! and a password remembered between requests.

mod common;

use bytes::Bytes;
use common::{open_store, path, space};
use netdisk_proto::HomePath;
use netdisk_store::{
    DeadProperty, ErrorKind, PasswordAccepted, PasswordRefused, PropertyChange, PropertyName,
    Retention, Space, UploadSpec, MAX_PROPERTY_BYTES,
};

async fn upload(space: &Space, to: &str, body: &[u8]) {
    let spec = UploadSpec {
        size: body.len() as u64,
        ..UploadSpec::default()
    };
    let mut upload = space.begin_upload(&path(to), spec).await.expect("begin");
    upload.start_body(0).await.expect("start");
    upload
        .write(Bytes::copy_from_slice(body))
        .await
        .expect("write");
    upload.finish_unhashed().await.expect("commit");
}

fn property(name: &str, xml: &str) -> DeadProperty {
    DeadProperty {
        name: PropertyName {
            namespace: Some("urn:schemas-microsoft-com:".into()),
            name: name.into(),
        },
        xml: xml.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_is_a_verified_upload_within_the_quota() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path(), Some(1000), Retention::default());
    let space = space(&store).await;
    let body = vec![3u8; 400];
    upload(&space, "a.bin", &body).await;
    let copied = space
        .copy_file(&path("a.bin"), &path("b.bin"))
        .await
        .expect("copy");
    assert_eq!(copied.blake3, blake3::hash(&body).to_hex().to_string());
    let home = dir.path().join("homes/alice");
    assert_eq!(std::fs::read(home.join("b.bin")).expect("copy"), body);
    assert_eq!(space.usage().await.expect("usage").used, 800);
    // A third one does not fit: refused, nothing stored, nothing counted.
    let err = space
        .copy_file(&path("a.bin"), &path("c.bin"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::QuotaExceeded);
    assert!(!home.join("c.bin").exists());
    assert_eq!(space.usage().await.expect("usage").used, 800);
    // Over itself, onto a directory, from a directory: refused.
    let same = space
        .copy_file(&path("a.bin"), &path("a.bin"))
        .await
        .unwrap_err();
    assert_eq!(same.kind, ErrorKind::Invalid);
    space.mkdir(&path("d"), false).await.expect("mkdir");
    let onto_dir = space
        .copy_file(&path("a.bin"), &path("d"))
        .await
        .unwrap_err();
    assert_eq!(onto_dir.kind, ErrorKind::IsADirectory);
    assert!(space.copy_file(&path("d"), &path("e")).await.is_err());
    // Replacing a file credits its bytes.
    space
        .copy_file(&path("a.bin"), &path("b.bin"))
        .await
        .expect("copy over");
    assert_eq!(space.usage().await.expect("usage").used, 800);
}

#[tokio::test(flavor = "multi_thread")]
async fn properties_go_with_their_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path(), None, Retention::default());
    let space = space(&store).await;
    upload(&space, "a.txt", b"a").await;
    assert!(space
        .properties(&path("a.txt"))
        .await
        .expect("none")
        .is_empty());
    let time = property("Win32LastModifiedTime", "<Z:Win32LastModifiedTime xmlns:Z=\"urn:schemas-microsoft-com:\">Wed, 02 Dec 2026 10:00:00 GMT</Z:Win32LastModifiedTime>");
    let attributes = property("Win32FileAttributes", "<Z:Win32FileAttributes xmlns:Z=\"urn:schemas-microsoft-com:\">00000020</Z:Win32FileAttributes>");
    space
        .change_properties(
            &path("a.txt"),
            vec![
                PropertyChange::Set(time.clone()),
                PropertyChange::Set(attributes.clone()),
            ],
        )
        .await
        .expect("set");
    assert_eq!(
        space.properties(&path("a.txt")).await.expect("read"),
        vec![time.clone(), attributes.clone()]
    );
    // A rename takes them along; a copy copies them; a new store sees them.
    space
        .rename(&path("a.txt"), &path("b.txt"))
        .await
        .expect("mv");
    space
        .copy_file(&path("b.txt"), &path("c.txt"))
        .await
        .expect("copy");
    drop(space);
    drop(store);
    let store = open_store(dir.path(), None, Retention::default());
    let space = common::space(&store).await;
    for name in ["b.txt", "c.txt"] {
        assert_eq!(
            space.properties(&path(name)).await.expect("read"),
            vec![time.clone(), attributes.clone()],
            "{name}"
        );
    }
    // Removed one by one; directories and the home keep them too.
    space
        .change_properties(
            &path("b.txt"),
            vec![PropertyChange::Remove(time.name.clone())],
        )
        .await
        .expect("remove");
    assert_eq!(
        space.properties(&path("b.txt")).await.expect("read"),
        vec![attributes.clone()]
    );
    space.mkdir(&path("d"), false).await.expect("mkdir");
    for dir_path in [path("d"), HomePath::home()] {
        space
            .change_properties(&dir_path, vec![PropertyChange::Set(time.clone())])
            .await
            .expect("dir");
        assert_eq!(
            space.properties(&dir_path).await.expect("read"),
            vec![time.clone()]
        );
    }
    // Too much is refused whole: what was there stays.
    let big = property("big", &"x".repeat(MAX_PROPERTY_BYTES));
    let err = space
        .change_properties(&path("b.txt"), vec![PropertyChange::Set(big)])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::DiskFull);
    assert_eq!(
        space.properties(&path("b.txt")).await.expect("read"),
        vec![attributes]
    );
    // Nothing to record on a symlink (it is never opened) or a missing file.
    std::os::unix::fs::symlink("/etc", dir.path().join("homes/alice/link")).expect("symlink");
    assert!(space.properties(&path("link")).await.is_err());
    assert!(space
        .change_properties(&path("link"), vec![PropertyChange::Set(time.clone())])
        .await
        .is_err());
    assert_eq!(
        space.properties(&path("missing")).await.unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_recorded_hash_is_read_not_computed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path(), None, Retention::default());
    let space = space(&store).await;
    upload(&space, "a.txt", b"hello").await;
    let (entry, recorded) = space
        .entry_with_recorded_hash(&path("a.txt"))
        .await
        .expect("a");
    assert_eq!(entry.size, 5);
    assert_eq!(recorded, Some(blake3::hash(b"hello").to_hex().to_string()));
    // Changed behind the server's back: no hash until one is computed.
    std::fs::write(dir.path().join("homes/alice/a.txt"), b"changed!").expect("write");
    let (_, recorded) = space
        .entry_with_recorded_hash(&path("a.txt"))
        .await
        .expect("a");
    assert_eq!(recorded, None);
    space.mkdir(&path("d"), false).await.expect("mkdir");
    assert_eq!(
        space
            .entry_with_recorded_hash(&path("d"))
            .await
            .expect("d")
            .1,
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_password_is_remembered_only_while_right() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path(), None, Retention::default());
    let logins = store.logins();
    let ip = "127.0.0.1".parse().expect("ip");
    let first = logins
        .verify_repeated_password(ip, "alice", "pw")
        .await
        .expect("right");
    assert_eq!(first, PasswordAccepted::Verified);
    let again = logins
        .verify_repeated_password(ip, "alice", "pw")
        .await
        .expect("right");
    assert_eq!(again, PasswordAccepted::Remembered);
    assert!(matches!(
        logins.verify_repeated_password(ip, "alice", "wrong").await,
        Err(PasswordRefused::Wrong)
    ));
    assert!(matches!(
        logins.verify_repeated_password(ip, "nobody", "pw").await,
        Err(PasswordRefused::Wrong)
    ));
    // A new password: the old one is no longer remembered, the new one is checked.
    store.users().set_password("alice", "new").expect("passwd");
    assert!(matches!(
        logins.verify_repeated_password(ip, "alice", "pw").await,
        Err(PasswordRefused::Wrong)
    ));
    let new = logins
        .verify_repeated_password(ip, "alice", "new")
        .await
        .expect("new");
    assert_eq!(new, PasswordAccepted::Verified);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_set_time_keeps_the_hash_record_true() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path(), None, Retention::default());
    let space = space(&store).await;
    upload(&space, "a.txt", b"hello").await;
    let then = 1_700_000_000;
    space
        .set_modified(&path("a.txt"), then)
        .await
        .expect("touch");
    let (entry, recorded) = space
        .entry_with_recorded_hash(&path("a.txt"))
        .await
        .expect("a");
    assert_eq!(entry.modified, Some(then));
    assert_eq!(recorded, Some(blake3::hash(b"hello").to_hex().to_string()));
    space.mkdir(&path("d"), false).await.expect("mkdir");
    space
        .set_modified(&path("d"), then)
        .await
        .expect("touch dir");
    assert_eq!(
        space.entry(&path("d")).await.expect("d").modified,
        Some(then)
    );
    let missing = space
        .set_modified(&path("missing"), then)
        .await
        .unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound);
    std::os::unix::fs::symlink("/etc", dir.path().join("homes/alice/link")).expect("symlink");
    assert!(space.set_modified(&path("link"), then).await.is_err());
}

//! Three engines (`netdisk_store::Store`, as three servers run them) on
//! one PostgreSQL catalog and a 3-node Garage cluster, each server
//! talking to its own Garage node: what one does, the others see at once.

mod common;

use bytes::Bytes;
use common::{engines, objects_on, path, pattern, Books};
use netdisk_cluster::{Catalog, ClusterBackend};
use netdisk_proto::{EntryKind, HomePath};
use netdisk_store::{
    AuditDestination, ErrorKind, Retention, ShareRefused, ShareSpec, SourceAttributes, Space,
    Store, StoreConfig, StoreError, TrashRef, UploadSpec,
};
use netdisk_testbed::{Garage, Postgres};
use std::time::Duration;
use tokio::runtime::Handle;

const MIB: usize = 1 << 20;

struct Servers {
    stores: Vec<Store>,
    catalog: Catalog,
    _roots: Vec<tempfile::TempDir>,
}

/// `count` servers, each through Garage node `i % 3`, and `user` with
/// `quota` in the catalog's user database.
async fn servers(
    postgres: &Postgres,
    garage: &Garage,
    count: usize,
    user: &str,
    quota: Option<u64>,
    retention: Retention,
) -> Servers {
    let catalog = Catalog::connect(&postgres.url(), 4).await.expect("catalog");
    let verifier = netdisk_store::new_verifier("pw", 4096).expect("verifier");
    catalog
        .add_user(user, &verifier, quota)
        .await
        .expect("user");
    let mut stores = Vec::new();
    let mut roots = Vec::new();
    for server in 0..count {
        let root = tempfile::tempdir().expect("tempdir");
        let backend = ClusterBackend::new(
            Catalog::connect(&postgres.url(), 8).await.expect("catalog"),
            objects_on(garage, server % 3),
            Handle::current(),
        );
        let store = Store::open_on(
            StoreConfig {
                root: root.path().to_owned(),
                default_quota: None,
                partial_ttl: Duration::from_secs(3600),
                audit: AuditDestination::File("audit.log".into()),
                max_login_failures: 5,
                lockout: Duration::from_secs(60),
                retention,
            },
            Some(backend.into_backing(&format!("server-{server}"))),
        )
        .expect("store");
        stores.push(store);
        roots.push(root);
    }
    Servers {
        stores,
        catalog,
        _roots: roots,
    }
}

impl Servers {
    async fn space(&self, server: usize, user: &str) -> Space {
        self.stores[server]
            .space(user, "127.0.0.1:9".parse().expect("addr"))
            .await
            .expect("space")
    }
}

fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Uploads `body` in chunks of 256 KiB, as a front-end streams it.
async fn upload(space: &Space, to: &str, body: &[u8]) -> Result<String, StoreError> {
    let spec = UploadSpec {
        size: body.len() as u64,
        attributes: SourceAttributes {
            modified: Some(1_700_000_000),
            mode: None,
        },
        ..UploadSpec::default()
    };
    let mut upload = space.begin_upload(&path(to), spec).await?;
    upload.start_body(0).await.expect("start");
    for chunk in body.chunks(256 * 1024) {
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

async fn names(space: &Space, dir: &str) -> Vec<(String, u64)> {
    space
        .list(&path(dir))
        .await
        .expect("list")
        .into_iter()
        .map(|entry| (entry.name, entry.size))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_one_server_commits_the_others_serve_at_once() {
    let Some((postgres, garage)) = engines(3) else {
        return;
    };
    let servers = servers(&postgres, &garage, 3, "alice", None, Retention::default()).await;
    let (a, b, c) = (
        servers.space(0, "alice").await,
        servers.space(1, "alice").await,
        servers.space(2, "alice").await,
    );

    // Every server logs alice in against the catalog's account.
    for store in &servers.stores {
        assert!(
            store
                .logins()
                .credentials("alice")
                .await
                .expect("alice")
                .known
        );
        assert!(
            !store
                .logins()
                .credentials("mallory")
                .await
                .expect("decoy")
                .known
        );
    }

    // Put on A: a file of three parts, a small one through a batch, an empty one.
    a.mkdir(&path("photos"), false).await.expect("mkdir");
    let big = pattern(20 * MIB + 12_345, 1);
    upload(&a, "photos/big.raw", &big).await.expect("upload");
    let small = pattern(3_000, 2);
    let (file, pending) = a
        .accept_small(
            &path("photos/small.jpg"),
            small.clone(),
            &hash(&small),
            SourceAttributes::default(),
            None,
        )
        .await
        .expect("accept");
    let results = a.commit_small(vec![file]).await.expect("batch");
    let result = results.into_iter().next().expect("one result");
    pending.settle(result).expect("small committed");
    upload(&a, "photos/empty", &[]).await.expect("empty upload");

    // Get on B: the same bytes, the hash recorded at the commit.
    let (body, blake3) = download(&b, "photos/big.raw").await;
    assert!(body == big, "the bytes read on B are the ones put on A");
    assert_eq!(blake3, hash(&big));
    let (stat, recorded) = b
        .stat_with_hash(&path("photos/big.raw"))
        .await
        .expect("stat");
    assert_eq!(stat.size, big.len() as u64);
    assert_eq!(stat.modified, Some(1_700_000_000));
    assert_eq!(recorded.as_deref(), Some(hash(&big).as_str()));
    assert_eq!(download(&b, "photos/small.jpg").await.0, small);
    assert!(download(&b, "photos/empty").await.0.is_empty());

    // ls on C.
    assert_eq!(
        names(&c, "photos").await,
        vec![
            ("big.raw".to_owned(), big.len() as u64),
            ("empty".to_owned(), 0),
            ("small.jpg".to_owned(), small.len() as u64),
        ]
    );

    // A move on C, seen on B; a replaced file kept as a version.
    c.rename(&path("photos/small.jpg"), &path("photos/big.raw"))
        .await
        .expect("move over");
    let versions = b.versions(&path("photos/big.raw")).await.expect("versions");
    assert_eq!(versions.len(), 1, "the replaced file is a version");
    assert_eq!(versions[0].size, big.len() as u64);
    assert_eq!(download(&b, "photos/big.raw").await.0, small);
    let restored = a
        .restore_version(&path("photos/big.raw"), &versions[0].id)
        .await
        .expect("restore the version");
    assert_eq!(restored.blake3, hash(&big));
    assert_eq!(download(&c, "photos/big.raw").await.0, big);

    // rm on B goes to the trash A sees; A restores it.
    b.remove(&path("photos/empty"), false).await.expect("rm");
    assert!(c.entry(&path("photos/empty")).await.is_err());
    let trash = a.trash().await.expect("trash");
    assert_eq!(trash.len(), 1);
    assert_eq!(trash[0].kind, EntryKind::File);
    a.restore_trash(&TrashRef::Id(trash[0].id.clone()), None)
        .await
        .expect("restore");
    assert_eq!(c.entry(&path("photos/empty")).await.expect("back").size, 0);
    let described = c.list(&path("photos/empty")).await.expect("ls of a file");
    assert_eq!(described.len(), 1, "a file's listing is its own entry");
    assert_eq!(described[0].name, "empty");

    // Every server reports the same usage: the file, and its two old
    // versions (a restored version stays one; the file it replaced joins it).
    let usage = [
        a.usage().await.expect("usage"),
        b.usage().await.expect("usage"),
        c.usage().await.expect("usage"),
    ];
    assert_eq!(usage[0].used, usage[1].used);
    assert_eq!(usage[1].used, usage[2].used);
    assert_eq!(usage[0].used, (2 * big.len() + small.len()) as u64);
    assert_eq!(usage[0].versions, (big.len() + small.len()) as u64);
    assert_eq!(usage[0].trash, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uploads_racing_through_three_servers_never_pass_the_quota() {
    let Some((postgres, garage)) = engines(3) else {
        return;
    };
    let quota = 10 * MIB as u64;
    let keep_nothing = Retention {
        keep_trash: Duration::ZERO,
        keep_versions: 0,
        free_space_from_trash: false,
    };
    let servers = servers(&postgres, &garage, 3, "bob", Some(quota), keep_nothing).await;
    let mut spaces = Vec::new();
    for server in 0..3 {
        spaces.push(servers.space(server, "bob").await);
    }
    let racing = (0..16).map(|n| {
        let space = spaces[n % 3].clone();
        async move {
            let body = pattern(MIB, n as u8);
            upload(&space, &format!("race-{n:02}"), &body).await
        }
    });
    let results = futures_util::future::join_all(racing).await;
    let mut committed = 0;
    for result in &results {
        match result {
            Ok(_) => committed += 1,
            Err(err) => assert_eq!(err.kind, ErrorKind::QuotaExceeded, "{err}"),
        }
    }
    assert_eq!(committed, 10, "exactly what fits is committed");
    let usage = servers.catalog.usage("bob").await.expect("usage");
    assert_eq!(usage.used, quota);
    let seen = spaces[2].usage().await.expect("df");
    assert_eq!((seen.used, seen.quota), (quota, Some(quota)));
    let listed = spaces[1].list(&HomePath::home()).await.expect("list");
    assert_eq!(listed.len(), 10);

    // The room of uploads that ended is given back (off their tasks):
    // a removal then makes room for one more, on any server.
    spaces[2].remove(&path("race-00"), false).await.ok();
    spaces[2].remove(&path("race-01"), false).await.ok();
    let again = pattern(MIB, 99);
    let mut admitted = Err(StoreError::new(ErrorKind::Internal, "never tried"));
    for _ in 0..50 {
        admitted = upload(&spaces[0], "after", &again).await;
        if admitted.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    admitted.expect("room freed by a removal is usable on another server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_garage_node_killed_mid_upload_loses_nothing_acknowledged() {
    let Some((postgres, mut garage)) = engines(3) else {
        return;
    };
    let servers = servers(&postgres, &garage, 3, "carol", None, Retention::default()).await;
    let (a, b, c) = (
        servers.space(0, "carol").await,
        servers.space(1, "carol").await,
        servers.space(2, "carol").await,
    );
    let before = pattern(5 * MIB, 7);
    upload(&a, "before.bin", &before).await.expect("upload");

    // An upload through node 0 while node 2 dies: two of three replicas
    // still answer, so it completes.
    let during = pattern(40 * MIB + 1, 8);
    let spec = UploadSpec {
        size: during.len() as u64,
        ..UploadSpec::default()
    };
    let mut streaming = a
        .begin_upload(&path("during.bin"), spec)
        .await
        .expect("begin");
    streaming.start_body(0).await.expect("start");
    let (first, rest) = during.split_at(16 * MIB);
    for chunk in first.chunks(256 * 1024) {
        streaming
            .write(Bytes::copy_from_slice(chunk))
            .await
            .expect("write");
    }
    garage.kill_node(2);
    for chunk in rest.chunks(256 * 1024) {
        streaming
            .write(Bytes::copy_from_slice(chunk))
            .await
            .expect("write");
    }
    let committed = streaming.finish(&hash(&during)).await;
    committed.expect("two of three replicas take the upload");

    // Reads through node 1 still work, for the file before and the one during.
    assert!(download(&b, "before.bin").await.0 == before);
    assert!(download(&b, "during.bin").await.0 == during);

    // The server whose node died fails its upload cleanly: an error, no
    // file, and nothing else changed.
    let refused = upload(&c, "after.bin", &pattern(MIB, 9)).await;
    assert!(refused.is_err(), "an upload through a dead node fails");
    assert_eq!(
        b.entry(&path("after.bin")).await.expect_err("no file").kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        b.list(&HomePath::home()).await.expect("list").len(),
        2,
        "only the two acknowledged files"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lockout_earned_on_one_server_holds_on_the_others() {
    let Some((postgres, garage)) = engines(3) else {
        return;
    };
    let servers = servers(&postgres, &garage, 3, "dave", None, Retention::default()).await;
    let attacker: std::net::IpAddr = "127.0.0.7".parse().expect("address");
    let logins = |server: usize| servers.stores[server].logins();
    // Five failures (the servers' limit), spread over two servers.
    for server in [0, 1, 0, 1, 0] {
        assert!(logins(server).check(attacker, "dave").await.is_ok());
        logins(server).failed(attacker, "dave").await;
    }
    // A sweep (reservations, the collector, old failures) keeps fresh ones.
    servers.stores[1].sweep_expired().await;
    // The third server never saw them, and locks the name out too.
    let wait = logins(2)
        .check(attacker, "dave")
        .await
        .expect_err("locked out everywhere");
    assert!(wait > Duration::from_secs(50), "{wait:?}");
    let elsewhere: std::net::IpAddr = "127.0.0.8".parse().expect("address");
    assert!(
        logins(1).check(elsewhere, "dave").await.is_err(),
        "the name is locked from any address"
    );
    // A success (the right password, through a server) clears it for all.
    logins(2).succeeded(attacker, "dave").await;
    assert!(logins(0).check(attacker, "dave").await.is_ok());
    assert!(logins(1).check(elsewhere, "dave").await.is_ok());
}

/// What a resumable `put` says of `body`, as the client sends it.
fn resumable(body: &[u8]) -> UploadSpec {
    UploadSpec {
        size: body.len() as u64,
        attributes: SourceAttributes {
            modified: Some(1_700_000_000),
            mode: None,
        },
        resume: true,
        create_new: false,
    }
}

/// Sends `body[..cut]` of a resumable upload to `to`, then the connection
/// is cut: the engine abandons the upload.
async fn cut_upload(space: &Space, to: &str, body: &[u8], cut: usize) {
    let mut upload = space
        .begin_upload(&path(to), resumable(body))
        .await
        .expect("begin");
    assert_eq!(upload.offset(), 0);
    upload.start_body(0).await.expect("start");
    for chunk in body[..cut].chunks(256 * 1024) {
        upload
            .write(Bytes::copy_from_slice(chunk))
            .await
            .expect("write");
    }
    upload.abandon().await;
}

/// Waits (bounded) until `space` lists a partial of `to` no upload holds:
/// the cut server lets go of its lease from a task of its own.
async fn let_go(space: &Space, to: &str) -> netdisk_proto::response::PartialUpload {
    let shown = path(to).to_string();
    for _ in 0..500 {
        let partials = space.partials().await.expect("partials");
        if let Some(partial) = partials.into_iter().find(|p| p.path == shown && !p.active) {
            return partial;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{to}: the cut upload was not let go of");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_cut_on_one_server_goes_on_from_another() {
    let Some((postgres, garage)) = engines(3) else {
        return;
    };
    let quota = 128 * MIB as u64;
    let servers = servers(
        &postgres,
        &garage,
        3,
        "gina",
        Some(quota),
        Retention::default(),
    )
    .await;
    let (a, b, c) = (
        servers.space(0, "gina").await,
        servers.space(1, "gina").await,
        servers.space(2, "gina").await,
    );
    let part = 8 * MIB;
    let body = pattern(2 * part + part / 2 + 123, 21);

    // Cut on A after two parts and a half: the two confirmed parts are
    // kept, visible as a partial on every server, and count toward the quota.
    cut_upload(&a, "film.mkv", &body, 2 * part + part / 2).await;
    let kept = let_go(&c, "film.mkv").await;
    assert_eq!((kept.kept, kept.size), (2 * part as u64, body.len() as u64));
    assert!(kept.expires.is_some());
    let usage = c.usage().await.expect("usage");
    assert_eq!(
        (usage.used, usage.partials),
        (2 * part as u64, 2 * part as u64)
    );
    assert!(
        c.entry(&path("film.mkv")).await.is_err(),
        "a cut upload shows no file"
    );

    // B goes on from there: the prefix it reports is the kept bytes'
    // BLAKE3, though B never saw them; the file is verified whole.
    let mut upload = b
        .begin_upload(&path("film.mkv"), resumable(&body))
        .await
        .expect("begin on B");
    assert_eq!(upload.offset(), 2 * part as u64);
    assert_eq!(upload.prefix_blake3(), Some(hash(&body[..2 * part])));
    upload.start_body(upload.offset()).await.expect("start");
    for chunk in body[2 * part..].chunks(256 * 1024) {
        upload
            .write(Bytes::copy_from_slice(chunk))
            .await
            .expect("write");
    }
    let done = upload.finish(&hash(&body)).await.expect("commit on B");
    assert_eq!(done.blake3, hash(&body));
    assert_eq!(download(&c, "film.mkv").await, (body.clone(), hash(&body)));
    let usage = a.usage().await.expect("usage");
    assert_eq!(
        (usage.used, usage.partials, usage.reserved),
        (body.len() as u64, 0, 0),
        "the kept parts count once, as the file's"
    );
    assert!(a.partials().await.expect("partials").is_empty());

    // A file of the same size and time but other bytes: the client's own
    // prefix differs from the kept one's, so it starts over on another
    // server; the kept parts are replaced, and nothing of them is left.
    cut_upload(&a, "copy.mkv", &body, part + 10).await;
    let_go(&b, "copy.mkv").await;
    let other = pattern(body.len(), 99);
    let mut upload = c
        .begin_upload(&path("copy.mkv"), resumable(&other))
        .await
        .expect("begin on C");
    assert_eq!(upload.offset(), part as u64);
    assert_ne!(upload.prefix_blake3(), Some(hash(&other[..part])));
    upload.start_body(0).await.expect("start over");
    for chunk in other.chunks(256 * 1024) {
        upload
            .write(Bytes::copy_from_slice(chunk))
            .await
            .expect("write");
    }
    upload.finish(&hash(&other)).await.expect("commit on C");
    assert_eq!(
        download(&a, "copy.mkv").await,
        (other.clone(), hash(&other))
    );
    let usage = b.usage().await.expect("usage");
    assert_eq!(
        (usage.used, usage.partials, usage.reserved),
        (2 * body.len() as u64, 0, 0)
    );

    // A wrong hash at the end: refused, nothing shown, nothing kept.
    cut_upload(&b, "bad.mkv", &body[..2 * part], part).await;
    let_go(&a, "bad.mkv").await;
    let short = &body[..2 * part];
    let mut upload = a
        .begin_upload(&path("bad.mkv"), resumable(short))
        .await
        .expect("begin");
    upload.start_body(upload.offset()).await.expect("start");
    upload
        .write(Bytes::copy_from_slice(&other[part..2 * part]))
        .await
        .expect("write");
    let refused = upload.finish(&hash(short)).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Integrity);
    assert!(c.entry(&path("bad.mkv")).await.is_err());

    // A kept partial discarded by hand gives its bytes back.
    cut_upload(&a, "gone.mkv", &body, part + 1).await;
    let_go(&b, "gone.mkv").await;
    assert_eq!(b.usage().await.expect("usage").partials, part as u64);
    c.discard_partial(&path("gone.mkv")).await.expect("discard");
    assert!(a
        .partials()
        .await
        .expect("partials")
        .iter()
        .all(|p| p.path != path("gone.mkv").to_string()));
    assert_eq!(a.usage().await.expect("usage").partials, 0);
}

/// The link's outcome as a short word, for assertions.
fn refused(outcome: Result<netdisk_store::OpenShare, ShareRefused>) -> &'static str {
    match outcome {
        Ok(_) => "opened",
        Err(ShareRefused::NotFound) => "not found",
        Err(ShareRefused::Gone(_)) => "gone",
        Err(ShareRefused::Locked) => "locked",
        Err(ShareRefused::WrongPassword) => "wrong password",
        Err(ShareRefused::Throttled(_)) => "throttled",
        Err(ShareRefused::Store(_)) => "refused",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_share_link_made_on_one_server_opens_on_the_others() {
    let Some((postgres, garage)) = engines(3) else {
        return;
    };
    let servers = servers(&postgres, &garage, 3, "hana", None, Retention::default()).await;
    let a = servers.space(0, "hana").await;
    let body = pattern(300_000, 4);
    upload(&a, "report.pdf", &body).await.expect("upload");
    let link = a
        .add_share(
            &path("report.pdf"),
            ShareSpec {
                password: Some("open sesame".into()),
                max_downloads: Some(1),
                ..ShareSpec::default()
            },
        )
        .await
        .expect("share");
    let visitor: std::net::SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let (on_a, on_b, on_c) = (&servers.stores[0], &servers.stores[1], &servers.stores[2]);

    // Listed by every server; locked until its password is given; the
    // proof one server gives opens it on another.
    let listed = servers.space(1, "hana").await.shares().await.expect("list");
    assert_eq!(listed.iter().map(|s| s.id).collect::<Vec<_>>(), [link.id]);
    let locked = on_b
        .open_share(&link.token, visitor, None)
        .await
        .map(|open| open.unlocked);
    assert!(matches!(locked, Ok(false)), "locked until unlocked");
    assert_eq!(
        match on_c.unlock_share(&link.token, visitor, "wrong").await {
            Err(ShareRefused::WrongPassword) => "wrong password",
            _ => "other",
        },
        "wrong password"
    );
    let proof = match on_a.unlock_share(&link.token, visitor, "open sesame").await {
        Ok(proof) => proof,
        Err(_) => panic!("the password unlocks it"),
    };
    let Ok(open) = on_b.open_share(&link.token, visitor, Some(&proof)).await else {
        panic!("B opens what A unlocked");
    };
    assert!(open.unlocked, "A's proof holds on B");

    // Its one download, counted on B, is used up on C.
    let Ok(mut download) = open.open_download(None).await else {
        panic!("download");
    };
    let mut got = Vec::new();
    while let Some(chunk) = download.next_chunk().await {
        got.extend_from_slice(&chunk.expect("chunk"));
    }
    assert!(got == body);
    assert!(open.count_download(&download).await.is_ok());
    assert_eq!(
        refused(on_c.open_share(&link.token, visitor, Some(&proof)).await),
        "gone"
    );

    // Revoked through C: gone for every server.
    let second = servers
        .space(2, "hana")
        .await
        .add_share(&path("report.pdf"), ShareSpec::default())
        .await
        .expect("share");
    assert_eq!(
        refused(on_a.open_share(&second.token, visitor, None).await),
        "opened"
    );
    servers
        .space(2, "hana")
        .await
        .remove_share(second.id)
        .await
        .expect("revoke");
    assert_eq!(
        refused(on_a.open_share(&second.token, visitor, None).await),
        "not found"
    );

    // Wrong passwords for a link through two servers lock it on the third.
    let guarded = a
        .add_share(
            &path("report.pdf"),
            ShareSpec {
                password: Some("right".into()),
                ..ShareSpec::default()
            },
        )
        .await
        .expect("share");
    for attempt in 0..5 {
        let store = [on_a, on_b][attempt % 2];
        assert!(matches!(
            store.unlock_share(&guarded.token, visitor, "wrong").await,
            Err(ShareRefused::WrongPassword)
        ));
    }
    assert!(
        matches!(
            on_c.unlock_share(&guarded.token, visitor, "right").await,
            Err(ShareRefused::Throttled(_))
        ),
        "the lockout holds on every server"
    );
}

/// One tus PATCH as the HTTP gateway runs it: the body from the upload's
/// offset; returns the offset the upload has after it.
async fn patch(space: &Space, id: &str, body: &[u8]) -> u64 {
    let resumable = space.resumable(id).await.expect("the upload is known");
    let mut upload = space
        .begin_upload(&resumable.target, resumable.spec())
        .await
        .expect("begin");
    assert_eq!(upload.offset(), resumable.offset);
    upload.start_body(resumable.offset).await.expect("start");
    let end = resumable.offset as usize + body.len();
    upload
        .write(Bytes::copy_from_slice(body))
        .await
        .expect("write");
    if end as u64 == resumable.size {
        upload.finish_unhashed().await.expect("commit");
        space.forget_resumable(id).await.expect("forget");
        end as u64
    } else {
        upload.abandon().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tus_upload_made_on_one_server_takes_patches_on_the_others() {
    let Some((postgres, garage)) = engines(3) else {
        return;
    };
    let servers = servers(&postgres, &garage, 3, "ines", None, Retention::default()).await;
    let (a, b, c) = (
        servers.space(0, "ines").await,
        servers.space(1, "ines").await,
        servers.space(2, "ines").await,
    );
    let part = 8 * MIB;
    let body = pattern(2 * part + 777, 31);
    let created = a
        .create_resumable(
            &path("scan.tiff"),
            body.len() as u64,
            Some(1_700_000_000),
            None,
        )
        .await
        .expect("create on A");
    assert_eq!(
        b.resumable(&created.id).await.expect("known on B").offset,
        0
    );

    // A PATCH of a part and a half through B: the cluster keeps the whole
    // part, and says so, so the client sends the rest from there.
    let after = patch(&b, &created.id, &body[..part + part / 2]).await;
    assert_eq!(after, part as u64, "only whole parts are kept");
    let on_c = c.resumable(&created.id).await.expect("known on C");
    assert_eq!((on_c.offset, on_c.size), (part as u64, body.len() as u64));

    // The rest through C completes it; the id is gone everywhere.
    let done = patch(&c, &created.id, &body[part..]).await;
    assert_eq!(done, body.len() as u64);
    assert_eq!(download(&a, "scan.tiff").await, (body.clone(), hash(&body)));
    let gone = a.resumable(&created.id).await.unwrap_err();
    assert_eq!(gone.kind, ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_servers_audit_lines_reach_the_catalog() {
    let Some((postgres, garage)) = engines(3) else {
        return;
    };
    let servers = servers(&postgres, &garage, 2, "jon", None, Retention::default()).await;
    let (a, b) = (servers.space(0, "jon").await, servers.space(1, "jon").await);
    upload(&a, "minutes.txt", b"what was said")
        .await
        .expect("upload on A");
    b.remove(&path("minutes.txt"), false)
        .await
        .expect("remove on B");

    // The lines are inserted by a task of each server's: wait for them (bounded).
    let books = Books::open(&postgres).await;
    let mut rows = Vec::new();
    for _ in 0..500 {
        rows = books
            .client
            .query(
                "SELECT server, event, line->>'path' FROM audit WHERE owner = 'jon' ORDER BY id",
                &[],
            )
            .await
            .expect("audit rows")
            .iter()
            .map(|row| {
                (
                    row.get::<_, String>(0),
                    row.get::<_, String>(1),
                    row.get::<_, Option<String>>(2),
                )
            })
            .collect::<Vec<_>>();
        if rows.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let transfer = (
        "server-0".to_owned(),
        "transfer".to_owned(),
        Some("~/minutes.txt".to_owned()),
    );
    let removal = (
        "server-1".to_owned(),
        "remove".to_owned(),
        Some("~/minutes.txt".to_owned()),
    );
    assert!(rows.contains(&transfer), "A's upload: {rows:?}");
    assert!(rows.contains(&removal), "B's removal: {rows:?}");
}

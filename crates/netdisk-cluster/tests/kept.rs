//! The trash, old versions, properties and times in the catalog, against
//! a real PostgreSQL server: each removal moves rows, never bytes, and
//! after every operation `used` is checked against the rows themselves.

mod common;

use common::{new_file, path, postgres, put, put_as, Books};
use netdisk_cluster::{Catalog, Replaced};
use netdisk_proto::{EntryKind, HomePath};
use netdisk_store::{ErrorKind, Existing, KeptBytes};

fn names(listing: Vec<netdisk_cluster::CatalogEntry>) -> Vec<String> {
    listing.into_iter().map(|row| row.entry.name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trash_moves_rows_out_and_back() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 4).await.expect("connect");
    let books = Books::open(&postgres).await;
    catalog.set_account("ann", None).await.expect("account");
    catalog.set_account("ben", None).await.expect("account");
    catalog
        .mkdir("ann", &path("docs/sub"), true)
        .await
        .expect("mkdir");
    put(&catalog, "ann", "docs/a", 100).await.expect("put");
    put(&catalog, "ann", "docs/sub/b", 50).await.expect("put");
    put(&catalog, "ann", "top", 10).await.expect("put");
    catalog
        .set_properties("ann", &path("docs/sub/b"), Some(b"b's props"))
        .await
        .expect("props");
    catalog
        .set_properties("ann", &path("docs"), Some(b"docs' props"))
        .await
        .expect("props");
    let b_object = catalog
        .entry("ann", &path("docs/sub/b"))
        .await
        .expect("entry")
        .object;
    assert_eq!(books.check("ann").await, 160);

    // A tree goes whole; its bytes still count.
    let docs = catalog.trash("ann", &path("docs")).await.expect("trash");
    assert_eq!(
        (docs.path.as_str(), docs.kind, docs.size),
        ("~/docs", EntryKind::Dir, 150)
    );
    assert!((docs.deleted - netdisk_store::unix_now()).abs() < 60);
    for gone in ["docs", "docs/sub", "docs/sub/b"] {
        let error = catalog.entry("ann", &path(gone)).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::NotFound, "{gone}");
    }
    assert_eq!(books.rows("entries", "ann").await, 1, "only top is left");
    assert_eq!(books.trashed_rows().await, 4, "docs, a, sub, b");
    assert_eq!(books.check("ann").await, 160);
    assert_eq!(
        catalog.kept_bytes("ann").await.expect("kept"),
        KeptBytes {
            trash: 150,
            versions: 0
        }
    );
    assert!(
        catalog.doomed(10).await.expect("doomed").is_empty(),
        "trashing dooms nothing"
    );
    // The collector keeps a trashed file's object.
    let b_object = b_object.expect("object");
    assert_eq!(
        catalog
            .named(std::slice::from_ref(&b_object))
            .await
            .expect("named"),
        vec![b_object.clone()]
    );

    let top = catalog.trash("ann", &path("top")).await.expect("trash");
    assert_eq!((top.kind, top.size), (EntryKind::File, 10));
    for (what, refused, kind) in [
        (
            "nothing there",
            catalog.trash("ann", &path("nothing")).await.unwrap_err(),
            ErrorKind::NotFound,
        ),
        (
            "the home",
            catalog.trash("ann", &HomePath::home()).await.unwrap_err(),
            ErrorKind::PermissionDenied,
        ),
    ] {
        assert_eq!(refused.kind, kind, "{what}: {refused}");
    }
    let items = catalog.trash_items("ann").await.expect("items");
    assert_eq!(items, vec![docs.clone(), top.clone()], "oldest first");
    assert!(catalog.trash_items("ben").await.expect("items").is_empty());
    assert_eq!(books.check("ann").await, 160);

    // Only onto a free name: nothing moves when it is taken.
    catalog
        .mkdir("ann", &path("docs"), false)
        .await
        .expect("mkdir");
    put(&catalog, "ann", "docs/a", 5).await.expect("put");
    let taken = catalog
        .restore_trash("ann", &docs.id, &path("docs"))
        .await
        .unwrap_err();
    assert_eq!(taken.kind, ErrorKind::Exists, "{taken}");
    assert_eq!(
        catalog
            .restore_trash("ann", &top.id, &path("docs/a"))
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Exists
    );
    assert_eq!(
        catalog
            .restore_trash("ann", &top.id, &HomePath::home())
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Exists
    );
    assert_eq!(
        catalog
            .entry("ann", &path("docs/a"))
            .await
            .expect("entry")
            .entry
            .size,
        5
    );
    assert_eq!(catalog.trash_items("ann").await.expect("items").len(), 2);
    assert_eq!(books.check("ann").await, 165);
    // Under a file there is no directory to make: `mkdir -p` says the
    // file exists, here as in the local back-end.
    let under_file = catalog
        .restore_trash("ann", &docs.id, &path("docs/a/inside"))
        .await
        .unwrap_err();
    assert_eq!(under_file.kind, ErrorKind::Exists, "{under_file}");
    let deeper = catalog
        .restore_trash("ann", &docs.id, &path("docs/a/x/inside"))
        .await
        .unwrap_err();
    assert_eq!(deeper.kind, ErrorKind::NotADirectory, "{deeper}");
    assert_eq!(catalog.trash_items("ann").await.expect("items").len(), 2);
    for (owner, id) in [
        ("ann", "999999"),
        ("ann", "abc"),
        ("ann", "-1"),
        ("ben", docs.id.as_str()),
    ] {
        let missing = catalog
            .restore_trash(owner, id, &path("x"))
            .await
            .unwrap_err();
        assert_eq!(missing.kind, ErrorKind::NotFound, "{owner} {id}");
        let missing = catalog.purge_trash(owner, id).await.unwrap_err();
        assert_eq!(missing.kind, ErrorKind::NotFound, "{owner} {id}");
    }

    // Back under another name, missing parents made, properties with it.
    catalog
        .restore_trash("ann", &docs.id, &path("back/deep/docs"))
        .await
        .expect("restore");
    assert_eq!(
        names(
            catalog
                .list("ann", &path("back/deep/docs"))
                .await
                .expect("ls")
        ),
        ["a", "sub"]
    );
    let b = catalog
        .entry("ann", &path("back/deep/docs/sub/b"))
        .await
        .expect("entry");
    assert_eq!((b.entry.size, b.object), (50, Some(b_object)));
    assert_eq!(
        properties_of(&catalog, "ann", "back/deep/docs/sub/b")
            .await
            .as_deref(),
        Some(&b"b's props"[..])
    );
    assert_eq!(
        properties_of(&catalog, "ann", "back/deep/docs")
            .await
            .as_deref(),
        Some(&b"docs' props"[..])
    );
    assert_eq!(
        catalog.trash_items("ann").await.expect("items"),
        vec![top.clone()]
    );
    assert_eq!(books.trashed_rows().await, 1);
    assert_eq!(books.check("ann").await, 165);
    assert_eq!(
        catalog.kept_bytes("ann").await.expect("kept"),
        KeptBytes {
            trash: 10,
            versions: 0
        }
    );

    // A purge frees the bytes and dooms the object.
    catalog
        .restore_trash("ann", &top.id, &path("top"))
        .await
        .expect("restore top");
    let top_object = catalog
        .entry("ann", &path("top"))
        .await
        .expect("entry")
        .object
        .expect("object");
    let top = catalog.trash("ann", &path("top")).await.expect("trash");
    assert_eq!(
        catalog.purge_trash("ann", &top.id).await.expect("purge"),
        10
    );
    assert_eq!(
        catalog.purge_trash("ann", &top.id).await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(catalog.doomed(10).await.expect("doomed"), vec![top_object]);
    assert!(catalog.trash_items("ann").await.expect("items").is_empty());
    assert_eq!(books.check("ann").await, 155);
    assert_eq!(catalog.usage("ann").await.expect("usage").used, 155);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_kept_trimmed_and_purged() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 4).await.expect("connect");
    let books = Books::open(&postgres).await;
    catalog.set_account("vic", None).await.expect("account");
    let keep_two = Existing::KeepVersions(2);

    // Nothing there: nothing to keep.
    let first = new_file("f", 100);
    assert_eq!(
        put_as(&catalog, "vic", &first, keep_two)
            .await
            .expect("commit"),
        Replaced::default()
    );
    let mut objects = vec![first.object.clone()];
    for size in [200, 300] {
        let file = new_file("f", size);
        let replaced = put_as(&catalog, "vic", &file, keep_two)
            .await
            .expect("commit");
        assert_eq!(replaced, Replaced::default(), "kept, nothing left");
        objects.push(file.object.clone());
        books.check("vic").await;
    }
    let versions = catalog.versions("vic", &path("f")).await.expect("versions");
    let sizes: Vec<u64> = versions.iter().map(|version| version.size).collect();
    assert_eq!(sizes, [100, 200], "oldest first");
    assert_eq!(versions[0].modified, Some(1_700_000_000));
    assert_eq!(versions[0].blake3.as_deref(), Some(&*"0".repeat(64)));
    assert!((versions[0].replaced - netdisk_store::unix_now()).abs() < 60);
    let kept = catalog
        .version("vic", &path("f"), &versions[1].id)
        .await
        .expect("version");
    assert_eq!(
        (kept.object, kept.version.clone()),
        (objects[1].clone(), versions[1].clone())
    );
    assert_eq!(books.check("vic").await, 600);
    assert_eq!(
        catalog.named(&objects).await.expect("named").len(),
        3,
        "the collector keeps versions' objects"
    );

    // A third version pushes the oldest out: its bytes leave, its object is doomed.
    let fourth = new_file("f", 400);
    let replaced = put_as(&catalog, "vic", &fourth, keep_two)
        .await
        .expect("commit");
    assert_eq!(
        replaced,
        Replaced {
            object: None,
            bytes: 100,
            partial: None,
        }
    );
    assert_eq!(
        catalog.doomed(10).await.expect("doomed"),
        vec![objects[0].clone()]
    );
    catalog
        .forget_doomed(&[objects[0].clone()])
        .await
        .expect("forget");
    let sizes = version_sizes(&catalog, "vic", "f").await;
    assert_eq!(sizes, [200, 300]);
    assert_eq!(books.check("vic").await, 900);
    assert_eq!(
        catalog.kept_bytes("vic").await.expect("kept"),
        KeptBytes {
            trash: 0,
            versions: 500
        }
    );

    // An empty file is not worth a version, as in the local back-end.
    put(&catalog, "vic", "empty", 0).await.expect("put");
    put_as(&catalog, "vic", &new_file("empty", 7), keep_two)
        .await
        .expect("commit");
    assert!(version_sizes(&catalog, "vic", "empty").await.is_empty());
    assert_eq!(books.check("vic").await, 907);

    // Refuse: anything at the path is `exists`, and the room is given back.
    for at in ["f", "empty"] {
        let refused = put_as(&catalog, "vic", &new_file(at, 1), Existing::Refuse)
            .await
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Exists, "{at}");
    }
    catalog
        .mkdir("vic", &path("dir"), false)
        .await
        .expect("mkdir");
    let on_dir = put_as(&catalog, "vic", &new_file("dir", 1), Existing::Refuse)
        .await
        .unwrap_err();
    assert_eq!(on_dir.kind, ErrorKind::Exists);
    put_as(&catalog, "vic", &new_file("fresh", 3), Existing::Refuse)
        .await
        .expect("a new name is fine");
    assert_eq!(catalog.usage("vic").await.expect("usage").reserved, 0);
    assert_eq!(books.check("vic").await, 910);

    // Purging and trimming.
    let versions = catalog.versions("vic", &path("f")).await.expect("versions");
    assert_eq!(
        catalog
            .purge_version("vic", &path("fresh"), &versions[0].id)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound,
        "a version of another path"
    );
    assert_eq!(
        catalog
            .purge_version("vic", &path("f"), &versions[0].id)
            .await
            .expect("purge"),
        200
    );
    assert_eq!(
        catalog
            .purge_version("vic", &path("f"), &versions[0].id)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        catalog
            .version("vic", &path("f"), &versions[0].id)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
    assert_eq!(books.check("vic").await, 710);
    put_as(
        &catalog,
        "vic",
        &new_file("f", 500),
        Existing::KeepVersions(5),
    )
    .await
    .expect("commit");
    assert_eq!(
        catalog
            .trim_versions("vic", &path("f"), 1)
            .await
            .expect("trim"),
        300,
        "300 goes, 400 stays"
    );
    assert_eq!(books.check("vic").await, 910);

    // Keeping none: the replaced file and every older version go.
    let before = catalog
        .entry("vic", &path("f"))
        .await
        .expect("entry")
        .object;
    let replaced = put_as(
        &catalog,
        "vic",
        &new_file("f", 1),
        Existing::KeepVersions(0),
    )
    .await
    .expect("commit");
    assert_eq!(
        replaced,
        Replaced {
            object: before,
            bytes: 900,
            partial: None,
        }
    );
    assert!(version_sizes(&catalog, "vic", "f").await.is_empty());
    assert_eq!(books.check("vic").await, 11);

    // A plain replace frees the old file at once.
    let replaced = put(&catalog, "vic", "fresh", 2).await.expect("put");
    assert_eq!(replaced.bytes, 3);
    assert_eq!(books.check("vic").await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_belong_to_the_path_through_moves_and_removals() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("connect");
    let books = Books::open(&postgres).await;
    catalog.set_account("max", None).await.expect("account");
    let keep = Existing::KeepVersions(3);
    put(&catalog, "max", "a", 10).await.expect("put");
    put_as(&catalog, "max", &new_file("a", 20), keep)
        .await
        .expect("commit");
    put(&catalog, "max", "b", 30).await.expect("put");

    // A move over a file keeps it as the target's version; the moved
    // file's own versions stay at its old path.
    let b_object = catalog
        .entry("max", &path("b"))
        .await
        .expect("entry")
        .object;
    let replaced = catalog
        .rename("max", &path("a"), &path("b"), keep)
        .await
        .expect("mv");
    assert_eq!(replaced, Replaced::default());
    let b_versions = catalog.versions("max", &path("b")).await.expect("versions");
    assert_eq!(b_versions.len(), 1);
    assert_eq!(
        catalog
            .version("max", &path("b"), &b_versions[0].id)
            .await
            .expect("version")
            .object,
        b_object.expect("object")
    );
    assert_eq!(version_sizes(&catalog, "max", "a").await, [10]);
    assert_eq!(books.check("max").await, 60);

    // `Refuse` moves nothing onto anything.
    put(&catalog, "max", "c", 5).await.expect("put");
    for to in ["b", "c"] {
        let refused = catalog
            .rename("max", &path("c"), &path(to), Existing::Refuse)
            .await;
        if to == "b" {
            assert_eq!(refused.unwrap_err().kind, ErrorKind::Exists);
        } else {
            assert_eq!(
                refused.expect("onto itself: nothing to do"),
                Replaced::default()
            );
        }
    }
    catalog
        .rename("max", &path("c"), &path("d"), Existing::Refuse)
        .await
        .expect("onto a free name");
    // A plain move over a file frees it.
    let replaced = catalog
        .rename("max", &path("d"), &path("b"), Existing::Replace)
        .await
        .expect("mv");
    assert_eq!(replaced.bytes, 20);
    assert_eq!(books.check("max").await, 45);

    // Trashed or removed, the file's versions stay listed at its path.
    catalog.trash("max", &path("b")).await.expect("trash");
    assert_eq!(version_sizes(&catalog, "max", "b").await.len(), 1);
    assert_eq!(books.check("max").await, 45);
    put(&catalog, "max", "a", 1).await.expect("put");
    catalog.remove_file("max", &path("a")).await.expect("rm");
    assert_eq!(version_sizes(&catalog, "max", "a").await.len(), 1);
    assert_eq!(books.check("max").await, 45);
    assert_eq!(
        catalog.kept_bytes("max").await.expect("kept"),
        KeptBytes {
            trash: 5,
            versions: 40
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releasing_and_expiring_go_oldest_first() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("connect");
    let books = Books::open(&postgres).await;
    catalog.set_account("rae", None).await.expect("account");
    let keep = Existing::KeepVersions(5);
    // Trash of 100 then 200; versions of 50 (of v) then 70 (of w).
    for (at, size) in [("t1", 100), ("t2", 200)] {
        put(&catalog, "rae", at, size).await.expect("put");
        catalog.trash("rae", &path(at)).await.expect("trash");
    }
    for (at, size) in [("v", 50), ("w", 70)] {
        put(&catalog, "rae", at, size).await.expect("put");
        put_as(&catalog, "rae", &new_file(at, 1), keep)
            .await
            .expect("commit");
    }
    assert_eq!(books.check("rae").await, 422);
    let trash_sizes = |items: Vec<netdisk_proto::response::TrashItem>| -> Vec<u64> {
        items.into_iter().map(|item| item.size).collect()
    };

    // Not enough in all of it: nothing goes.
    assert_eq!(
        catalog
            .release_oldest("rae", 421, true)
            .await
            .expect("release"),
        0
    );
    assert_eq!(
        catalog
            .release_oldest("rae", 301, false)
            .await
            .expect("release"),
        0,
        "the trash alone is 300"
    );
    assert_eq!(books.check("rae").await, 422);
    assert_eq!(
        catalog.kept_bytes("rae").await.expect("kept"),
        KeptBytes {
            trash: 300,
            versions: 120
        }
    );
    // Oldest trash first, then the oldest versions, until enough.
    assert_eq!(
        catalog
            .release_oldest("rae", 301, true)
            .await
            .expect("release"),
        350
    );
    assert!(catalog.trash_items("rae").await.expect("items").is_empty());
    assert!(catalog
        .versions("rae", &path("v"))
        .await
        .expect("v")
        .is_empty());
    assert_eq!(
        catalog.versions("rae", &path("w")).await.expect("w").len(),
        1
    );
    assert_eq!(books.check("rae").await, 72);
    assert_eq!(catalog.doomed(10).await.expect("doomed").len(), 3);
    assert_eq!(
        catalog
            .release_oldest("rae", 0, true)
            .await
            .expect("release"),
        0
    );

    // Expiry: only items deleted before the time given.
    for (at, size) in [("e1", 11), ("e2", 13)] {
        put(&catalog, "rae", at, size).await.expect("put");
        catalog.trash("rae", &path(at)).await.expect("trash");
    }
    let now = netdisk_store::unix_now();
    assert_eq!(
        catalog
            .expire_trash("rae", now - 3600)
            .await
            .expect("expire"),
        0
    );
    assert_eq!(
        trash_sizes(catalog.trash_items("rae").await.expect("items")),
        [11, 13]
    );
    assert_eq!(
        catalog.expire_trash("rae", now + 1).await.expect("expire"),
        24
    );
    assert!(catalog.trash_items("rae").await.expect("items").is_empty());
    assert_eq!(books.check("rae").await, 72);
    assert_eq!(
        catalog.kept_bytes("rae").await.expect("kept"),
        KeptBytes {
            trash: 0,
            versions: 70
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_servers_get_one_outcome() {
    let Some(postgres) = postgres() else { return };
    let books = Books::open(&postgres).await;
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(Catalog::connect(&postgres.url(), 4).await.expect("connect"));
    }
    servers[0].set_account("ray", None).await.expect("account");

    // Twelve commits to one name that refuse to replace: one wins.
    let mut racing = tokio::task::JoinSet::new();
    for n in 0..12u64 {
        let catalog = servers[n as usize % 3].clone();
        racing.spawn(async move {
            let file = new_file("only-one", 100 + n);
            put_as(&catalog, "ray", &file, Existing::Refuse)
                .await
                .map(|_| file)
        });
    }
    let mut winners = Vec::new();
    while let Some(outcome) = racing.join_next().await {
        match outcome.expect("task") {
            Ok(file) => winners.push(file),
            Err(error) => assert_eq!(error.kind, ErrorKind::Exists, "{error}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one commit wins");
    let there = servers[1]
        .entry("ray", &path("only-one"))
        .await
        .expect("entry");
    assert_eq!(
        (there.entry.size, there.object),
        (winners[0].size, Some(winners[0].object.clone()))
    );
    assert_eq!(books.check("ray").await, winners[0].size);
    assert_eq!(servers[2].usage("ray").await.expect("usage").reserved, 0);

    // Six trash items restored to one name at once: one lands.
    let mut items = Vec::new();
    for n in 0..6 {
        let at = format!("item-{n}");
        put(&servers[0], "ray", &at, 10).await.expect("put");
        items.push(servers[0].trash("ray", &path(&at)).await.expect("trash"));
    }
    let mut racing = tokio::task::JoinSet::new();
    for (n, item) in items.into_iter().enumerate() {
        let catalog = servers[n % 3].clone();
        racing.spawn(async move {
            catalog
                .restore_trash("ray", &item.id, &path("restored/here"))
                .await
        });
    }
    let mut restored = 0;
    while let Some(outcome) = racing.join_next().await {
        match outcome.expect("task") {
            Ok(()) => restored += 1,
            Err(error) => assert_eq!(error.kind, ErrorKind::Exists, "{error}"),
        }
    }
    assert_eq!(restored, 1);
    assert_eq!(servers[0].trash_items("ray").await.expect("items").len(), 5);
    assert_eq!(books.check("ray").await, winners[0].size + 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_and_times_stay_with_their_row() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("connect");
    catalog.set_account("pia", None).await.expect("account");
    catalog
        .mkdir("pia", &path("dir/sub"), true)
        .await
        .expect("mkdir");
    put(&catalog, "pia", "dir/sub/f", 10).await.expect("put");
    let props = |at: &'static str| {
        let catalog = catalog.clone();
        async move { catalog.properties("pia", &path(at)).await }
    };
    assert_eq!(props("dir/sub/f").await.expect("props"), None);
    assert_eq!(
        catalog
            .properties("pia", &HomePath::home())
            .await
            .expect("props"),
        None
    );
    catalog
        .set_properties("pia", &path("dir/sub/f"), Some(b"file"))
        .await
        .expect("set");
    catalog
        .set_properties("pia", &path("dir/sub"), Some(b"sub"))
        .await
        .expect("set");
    catalog
        .set_properties("pia", &HomePath::home(), Some(b"home"))
        .await
        .expect("set");
    assert_eq!(
        catalog
            .properties("pia", &HomePath::home())
            .await
            .expect("props")
            .as_deref(),
        Some(&b"home"[..])
    );
    for (at, error) in [
        (
            "nothing",
            catalog
                .properties("pia", &path("nothing"))
                .await
                .unwrap_err(),
        ),
        (
            "nothing",
            catalog
                .set_properties("pia", &path("nothing"), Some(b"x"))
                .await
                .unwrap_err(),
        ),
        (
            "nothing",
            catalog
                .set_modified("pia", &path("nothing"), 5)
                .await
                .unwrap_err(),
        ),
    ] {
        assert_eq!(error.kind, ErrorKind::NotFound, "{at}");
    }
    assert_eq!(
        catalog
            .properties("nobody", &HomePath::home())
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );

    // A move takes them along, with the whole tree.
    catalog
        .rename("pia", &path("dir"), &path("moved"), Existing::Replace)
        .await
        .expect("mv");
    assert_eq!(
        props("moved/sub/f").await.expect("props").as_deref(),
        Some(&b"file"[..])
    );
    assert_eq!(
        props("moved/sub").await.expect("props").as_deref(),
        Some(&b"sub"[..])
    );
    catalog
        .set_properties("pia", &path("moved/sub"), None)
        .await
        .expect("clear");
    assert_eq!(props("moved/sub").await.expect("props"), None);

    // A new file over it is a new file: none of the old one's properties.
    put(&catalog, "pia", "moved/sub/f", 3).await.expect("put");
    assert_eq!(props("moved/sub/f").await.expect("props"), None);

    // Times.
    catalog
        .set_modified("pia", &path("moved/sub/f"), 1_234_567)
        .await
        .expect("touch");
    catalog
        .set_modified("pia", &path("moved"), 7_654_321)
        .await
        .expect("touch a directory");
    assert_eq!(
        catalog
            .entry("pia", &path("moved/sub/f"))
            .await
            .expect("entry")
            .entry
            .modified,
        Some(1_234_567)
    );
    assert_eq!(
        catalog
            .entry("pia", &path("moved"))
            .await
            .expect("entry")
            .entry
            .modified,
        Some(7_654_321)
    );
    assert_eq!(
        catalog
            .set_modified("pia", &HomePath::home(), 1)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Invalid
    );
}

/// The sizes of the old versions of `owner`'s file at `at`, oldest first.
async fn version_sizes(catalog: &Catalog, owner: &str, at: &str) -> Vec<u64> {
    catalog
        .versions(owner, &path(at))
        .await
        .expect("versions")
        .iter()
        .map(|version| version.size)
        .collect()
}

/// The dead properties recorded on `owner`'s `at`.
async fn properties_of(catalog: &Catalog, owner: &str, at: &str) -> Option<Vec<u8>> {
    catalog
        .properties(owner, &path(at))
        .await
        .expect("properties")
}

//! The catalog against a real PostgreSQL server: the namespace's rules,
//! the commit as one transaction, and quotas that hold when uploads race
//! through several servers (each its own pool of connections).

mod common;

use common::{far_future, new_file, path, postgres, put, Books};
use netdisk_cluster::{Catalog, Replaced, Usage};
use netdisk_proto::{EntryKind, HomePath};
use netdisk_store::{ErrorKind, Existing};

const MIB: u64 = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_namespace_and_its_commit() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 4).await.expect("connect");
    // A second server finds the schema made and checks its version.
    Catalog::connect(&postgres.connection_string(), 2)
        .await
        .expect("connect again");
    catalog.set_account("alice", None).await.expect("account");
    catalog.set_account("bob", None).await.expect("account");

    catalog
        .mkdir("alice", &path("photos"), false)
        .await
        .expect("mkdir");
    let exists = catalog
        .mkdir("alice", &path("photos"), false)
        .await
        .unwrap_err();
    assert_eq!(exists.kind, ErrorKind::Exists);
    let orphan = catalog
        .mkdir("alice", &path("x/y"), false)
        .await
        .unwrap_err();
    assert_eq!(orphan.kind, ErrorKind::NotFound, "{orphan}");
    catalog
        .mkdir("alice", &path("photos/2026/12"), true)
        .await
        .expect("mkdir -p");
    catalog
        .mkdir("alice", &path("photos/2026"), true)
        .await
        .expect("mkdir -p of a directory there");

    let replaced = put(&catalog, "alice", "photos/b.jpg", 300)
        .await
        .expect("commit");
    for parents in [false, true] {
        let on_file = catalog
            .mkdir("alice", &path("photos/b.jpg"), parents)
            .await
            .unwrap_err();
        assert_eq!(on_file.kind, ErrorKind::Exists, "{on_file}");
        let under_file = catalog
            .mkdir("alice", &path("photos/b.jpg/x"), parents)
            .await
            .unwrap_err();
        assert_eq!(under_file.kind, ErrorKind::NotADirectory, "{under_file}");
    }
    assert_eq!(replaced, Replaced::default());
    put(&catalog, "alice", "photos/a.jpg", 200)
        .await
        .expect("commit");
    put(&catalog, "alice", "photos/B.jpg", 100)
        .await
        .expect("commit");
    let names: Vec<String> = catalog
        .list("alice", &path("photos"))
        .await
        .expect("list")
        .into_iter()
        .map(|row| row.entry.name)
        .collect();
    assert_eq!(names, ["2026", "B.jpg", "a.jpg", "b.jpg"], "bytewise order");
    let usage = catalog.usage("alice").await.expect("usage");
    assert_eq!((usage.used, usage.reserved), (600, 0));

    // Another user sees none of it.
    assert!(catalog
        .list("bob", &HomePath::home())
        .await
        .expect("list")
        .is_empty());
    let hidden = catalog
        .entry("bob", &path("photos/a.jpg"))
        .await
        .unwrap_err();
    assert_eq!(hidden.kind, ErrorKind::NotFound);

    // Replacing a file: the new row, the old object doomed, the sizes exact.
    let before = catalog
        .entry("alice", &path("photos/a.jpg"))
        .await
        .expect("entry");
    let replaced = put(&catalog, "alice", "photos/a.jpg", 50)
        .await
        .expect("replace");
    assert_eq!(replaced.bytes, 200);
    assert_eq!(replaced.object, before.object);
    let after = catalog
        .entry("alice", &path("photos/a.jpg"))
        .await
        .expect("entry");
    assert_eq!((after.entry.kind, after.entry.size), (EntryKind::File, 50));
    assert_ne!(after.object, before.object);
    assert_eq!(after.entry.modified, Some(1_700_000_000));
    assert_eq!(catalog.usage("alice").await.expect("usage").used, 450);
    let doomed = catalog.doomed(100).await.expect("doomed");
    assert_eq!(doomed, vec![before.object.clone().expect("object")]);
    catalog.forget_doomed(&doomed).await.expect("forget");
    assert!(catalog.doomed(100).await.expect("doomed").is_empty());

    // Refused commits change nothing, and their room is given back.
    for (at, kind) in [
        ("photos/2026", ErrorKind::IsADirectory),
        ("nowhere/x", ErrorKind::NotFound),
        ("photos/a.jpg/x", ErrorKind::NotADirectory),
    ] {
        let refused = put(&catalog, "alice", at, 10).await.unwrap_err();
        assert_eq!(refused.kind, kind, "{at}: {refused}");
    }
    let reservation = catalog
        .reserve("alice", 10, 0, "test", far_future())
        .await
        .expect("reserve");
    let too_big = catalog
        .commit_file(
            "alice",
            &new_file("photos/big", 11),
            &reservation,
            Existing::Replace,
            "test",
        )
        .await
        .unwrap_err();
    assert_eq!(too_big.kind, ErrorKind::QuotaExceeded);
    catalog.release(&reservation).await.expect("release");
    catalog
        .release(&reservation)
        .await
        .expect("release twice does nothing");
    let late = catalog
        .commit_file(
            "alice",
            &new_file("photos/late", 5),
            &reservation,
            Existing::Replace,
            "test",
        )
        .await
        .unwrap_err();
    assert_eq!(
        late.kind,
        ErrorKind::NotFound,
        "a released reservation commits nothing"
    );
    assert_eq!(
        catalog.usage("alice").await.expect("usage"),
        Usage {
            quota: None,
            used: 450,
            reserved: 0
        }
    );

    let removed = catalog
        .remove_file("alice", &path("photos/b.jpg"))
        .await
        .expect("rm");
    assert_eq!(removed.bytes, 300);
    let dir = catalog
        .remove_file("alice", &path("photos/2026"))
        .await
        .unwrap_err();
    assert_eq!(dir.kind, ErrorKind::IsADirectory);
    assert_eq!(catalog.usage("alice").await.expect("usage").used, 150);
    assert_eq!(
        catalog.doomed(100).await.expect("doomed"),
        vec![removed.object.expect("object")]
    );
    assert!(postgres.log_tail().contains("ready to accept connections"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_uploads_through_three_servers_never_exceed_the_quota() {
    let Some(postgres) = postgres() else { return };
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(Catalog::connect(&postgres.url(), 6).await.expect("connect"));
    }
    servers[0]
        .set_account("carol", Some(10 * MIB))
        .await
        .expect("account");
    put(&servers[0], "carol", "existing", 3 * MIB / 2)
        .await
        .expect("commit");

    // 16 uploads of 1 MiB, spread over the servers, all at once: 8 fit.
    let mut racing = tokio::task::JoinSet::new();
    for n in 0..16 {
        let catalog = servers[n % 3].clone();
        racing.spawn(async move { put(&catalog, "carol", &format!("race-{n:02}"), MIB).await });
    }
    let mut committed = 0;
    while let Some(outcome) = racing.join_next().await {
        match outcome.expect("task") {
            Ok(_) => committed += 1,
            Err(error) => assert_eq!(error.kind, ErrorKind::QuotaExceeded, "{error}"),
        }
    }
    assert_eq!(committed, 8);
    let usage = servers[1].usage("carol").await.expect("usage");
    assert_eq!(usage.used, 3 * MIB / 2 + 8 * MIB);
    assert_eq!(usage.reserved, 0);
    let listed = servers[2]
        .list("carol", &HomePath::home())
        .await
        .expect("list");
    let total: u64 = listed.iter().map(|row| row.entry.size).sum();
    assert_eq!(total, usage.used, "used is the sum of the rows");
    assert_eq!(listed.len(), 9);

    // A server that died holding room: its reservation expires.
    let stale = servers[0]
        .reserve(
            "carol",
            MIB / 4,
            0,
            "dead-server",
            netdisk_store::unix_now() - 1,
        )
        .await
        .expect("reserve");
    assert_eq!(
        servers[1].usage("carol").await.expect("usage").reserved,
        stale.bytes
    );
    assert_eq!(
        servers[1]
            .expire_reservations(netdisk_store::unix_now())
            .await
            .expect("expire"),
        1
    );
    assert_eq!(servers[2].usage("carol").await.expect("usage").reserved, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renames_rmdir_and_trees() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("connect");
    catalog.set_account("gus", None).await.expect("account");
    let names = |listing: Vec<netdisk_cluster::CatalogEntry>| -> Vec<String> {
        listing.into_iter().map(|row| row.entry.name).collect()
    };
    // Names with LIKE's wildcards in them must not match other names.
    catalog
        .mkdir("gus", &path("a_%/b/c"), true)
        .await
        .expect("mkdir -p");
    catalog
        .mkdir("gus", &path("aX%"), false)
        .await
        .expect("mkdir");
    put(&catalog, "gus", "a_%/b/c/one", 10).await.expect("put");
    put(&catalog, "gus", "a_%/top", 20).await.expect("put");
    put(&catalog, "gus", "aX%/other", 40).await.expect("put");

    // A tree moves whole: paths, parents and the moved row's name.
    catalog
        .rename("gus", &path("a_%"), &path("moved"), Existing::Replace)
        .await
        .expect("mv dir");
    assert_eq!(
        names(catalog.list("gus", &path("moved")).await.expect("ls")),
        ["b", "top"]
    );
    assert_eq!(
        names(catalog.list("gus", &path("moved/b/c")).await.expect("ls")),
        ["one"]
    );
    assert_eq!(
        catalog
            .entry("gus", &path("moved/b/c/one"))
            .await
            .expect("entry")
            .entry
            .size,
        10
    );
    assert_eq!(
        catalog.entry("gus", &path("a_%")).await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        names(catalog.list("gus", &path("aX%")).await.expect("ls")),
        ["other"],
        "untouched"
    );
    assert_eq!(
        names(catalog.list("gus", &HomePath::home()).await.expect("ls")),
        ["aX%", "moved"]
    );

    // rename(2)'s refusals.
    for (from, to, kind) in [
        ("moved", "moved/b/inside", ErrorKind::Invalid),
        ("moved", "aX%", ErrorKind::NotEmpty),
        ("moved", "aX%/other", ErrorKind::NotADirectory),
        ("moved/top", "aX%", ErrorKind::IsADirectory),
        ("nothing", "x", ErrorKind::NotFound),
        ("moved/top", "nowhere/x", ErrorKind::NotFound),
    ] {
        let refused = catalog
            .rename("gus", &path(from), &path(to), Existing::Replace)
            .await
            .unwrap_err();
        assert_eq!(refused.kind, kind, "{from} -> {to}: {refused}");
    }

    // A file over a file: the replaced one's object doomed, its bytes freed.
    let replaced_object = catalog
        .entry("gus", &path("aX%/other"))
        .await
        .expect("entry")
        .object;
    let replaced = catalog
        .rename(
            "gus",
            &path("moved/top"),
            &path("aX%/other"),
            Existing::Replace,
        )
        .await
        .expect("mv over");
    assert_eq!(
        (replaced.bytes, replaced.object.clone()),
        (40, replaced_object)
    );
    assert_eq!(catalog.usage("gus").await.expect("usage").used, 30);
    assert_eq!(
        catalog.doomed(10).await.expect("doomed"),
        vec![replaced.object.expect("object")]
    );
    // A directory over an empty one.
    catalog
        .mkdir("gus", &path("empty"), false)
        .await
        .expect("mkdir");
    catalog
        .rename("gus", &path("moved/b"), &path("empty"), Existing::Replace)
        .await
        .expect("mv over empty dir");
    assert_eq!(
        names(catalog.list("gus", &path("empty/c")).await.expect("ls")),
        ["one"]
    );

    // rmdir only of an empty directory; a tree goes whole with its bytes.
    let not_empty = catalog.rmdir("gus", &path("empty")).await.unwrap_err();
    assert_eq!(not_empty.kind, ErrorKind::NotEmpty);
    assert_eq!(
        catalog
            .rmdir("gus", &path("aX%/other"))
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotADirectory
    );
    catalog
        .rmdir("gus", &path("moved"))
        .await
        .expect("rmdir an emptied directory");
    assert_eq!(
        catalog
            .remove_tree("gus", &path("empty"))
            .await
            .expect("rm -r"),
        10
    );
    assert_eq!(catalog.usage("gus").await.expect("usage").used, 20);
    assert_eq!(
        names(catalog.list("gus", &HomePath::home()).await.expect("ls")),
        ["aX%"]
    );
    assert_eq!(
        catalog
            .remove_tree("gus", &HomePath::home())
            .await
            .unwrap_err()
            .kind,
        ErrorKind::PermissionDenied
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_catalog_is_brought_up_to_date() {
    let Some(postgres) = postgres() else {
        return;
    };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("catalog");
    catalog.set_account("ivy", None).await.expect("account");
    put(&catalog, "ivy", "kept.txt", 7).await.expect("put");
    // What a version 1 server made: parts without their hashes, no tokens,
    // share links, tus uploads or audit table.
    let books = Books::open(&postgres).await;
    books
        .client
        .batch_execute(
            "ALTER TABLE partial_parts DROP COLUMN chaining, DROP COLUMN prefix;
             DROP TABLE tokens; DROP TABLE shares; DROP TABLE resumable_uploads; DROP TABLE audit;
             DELETE FROM netdisk_schema; INSERT INTO netdisk_schema VALUES (1);",
        )
        .await
        .expect("make it version 1");

    let upgraded = Catalog::connect(&postgres.url(), 2).await.expect("upgrade");
    let version: i32 = books
        .client
        .query_one("SELECT max(version) FROM netdisk_schema", &[])
        .await
        .expect("version")
        .get(0);
    assert_eq!(version, 2);
    let columns: i64 = books
        .client
        .query_one(
            "SELECT count(*) FROM information_schema.columns
             WHERE table_name = 'partial_parts' AND column_name IN ('chaining', 'prefix')",
            &[],
        )
        .await
        .expect("columns")
        .get(0);
    assert_eq!(columns, 2, "the parts table has its hashes again");
    let tokens: bool = books
        .client
        .query_one(
            "SELECT to_regclass('tokens') IS NOT NULL AND to_regclass('shares') IS NOT NULL
                 AND to_regclass('resumable_uploads') IS NOT NULL
                 AND to_regclass('audit') IS NOT NULL",
            &[],
        )
        .await
        .expect("tokens and shares tables")
        .get(0);
    assert!(
        tokens,
        "tokens, share links, tus uploads and audit lines are kept in the catalog"
    );
    let entry = upgraded
        .entry("ivy", &path("kept.txt"))
        .await
        .expect("files stay");
    assert_eq!(entry.entry.size, 7);
    assert_eq!(books.check("ivy").await, 7);
    Catalog::connect(&postgres.url(), 2)
        .await
        .expect("an up-to-date catalog is left as it is");
}

//! The user database in the catalog, against a real PostgreSQL server:
//! `UserDb`'s calls and meaning, shared by several servers.

mod common;

use common::{new_file, path, postgres, put, put_as, Books};
use netdisk_cluster::{Catalog, KeptUpload, ObjectKey, PartialSource};
use netdisk_proto::scram::Verifier;
use netdisk_store::{ErrorKind, Existing, RetentionOverrides, UserInfo};
use std::time::Duration;

fn verifier(password: &str, salt: &[u8]) -> Verifier {
    Verifier::from_password(password, salt, 4096).expect("verifier")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_added_changed_and_listed() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("connect");
    let other_server = Catalog::connect(&postgres.url(), 2).await.expect("connect");
    assert!(catalog.is_empty().await.expect("empty"));

    let bob = verifier("pw1", b"bob's salt");
    catalog.add_user("bob", &bob, None).await.expect("add");
    catalog
        .add_user("alice", &verifier("pw2", b"alice's salt"), Some(1000))
        .await
        .expect("add");
    catalog
        .add_user("Zed", &verifier("pw3", b"zed's salt"), None)
        .await
        .expect("add");
    let taken = other_server
        .add_user("bob", &verifier("x", b"s"), Some(5))
        .await
        .unwrap_err();
    assert_eq!(taken.kind, ErrorKind::Exists, "{taken}");
    let bad = catalog
        .add_user("../x", &verifier("x", b"s"), None)
        .await
        .unwrap_err();
    assert_eq!(bad.kind, ErrorKind::Invalid, "{bad}");
    assert!(!other_server.is_empty().await.expect("empty"));

    let listed = other_server.list_users().await.expect("list");
    let names: Vec<(&str, Option<u64>)> = listed
        .iter()
        .map(|user| (user.name.as_str(), user.quota))
        .collect();
    assert_eq!(
        names,
        [("Zed", None), ("alice", Some(1000)), ("bob", None)],
        "bytewise, and the refused add changed no quota"
    );
    let now = netdisk_store::unix_now();
    assert!(listed.iter().all(|user| (user.created - now).abs() < 60));

    // The verifier comes back as it went in; a new one replaces it.
    assert_eq!(
        other_server.credentials("bob").await.expect("credentials"),
        Some((bob.clone(), None))
    );
    let new_bob = verifier("pw4", b"bob's new salt");
    catalog.set_verifier("bob", &new_bob).await.expect("passwd");
    let (stored, _) = other_server
        .credentials("bob")
        .await
        .expect("credentials")
        .expect("bob");
    assert_eq!(stored, new_bob);
    assert_ne!(stored, bob);
    assert_eq!(
        catalog.credentials("nobody").await.expect("credentials"),
        None
    );

    // The quota is the account's.
    catalog.set_quota("bob", Some(77)).await.expect("quota");
    assert_eq!(catalog.usage("bob").await.expect("usage").quota, Some(77));
    assert_eq!(
        other_server.credentials("bob").await.expect("credentials"),
        Some((new_bob, Some(77)))
    );
    catalog.set_quota("alice", None).await.expect("quota");
    assert_eq!(catalog.usage("alice").await.expect("usage").quota, None);
    // An account without a user is not a user.
    catalog
        .set_account("carol", Some(1))
        .await
        .expect("account");
    for (what, refused) in [
        (
            "set_verifier",
            catalog.set_verifier("nobody", &stored).await.unwrap_err(),
        ),
        (
            "set_quota",
            catalog.set_quota("nobody", Some(1)).await.unwrap_err(),
        ),
        (
            "set_quota",
            catalog.set_quota("carol", Some(2)).await.unwrap_err(),
        ),
        (
            "set_retention",
            catalog
                .set_retention("nobody", RetentionOverrides::default())
                .await
                .unwrap_err(),
        ),
        (
            "reset_retention",
            catalog.reset_retention("nobody").await.unwrap_err(),
        ),
    ] {
        assert_eq!(refused.kind, ErrorKind::NotFound, "{what}: {refused}");
    }
    assert_eq!(catalog.usage("carol").await.expect("usage").quota, Some(1));
    // ... until it is added: then it is theirs, with the quota given.
    catalog
        .add_user("carol", &verifier("pw", b"carol's salt"), Some(9))
        .await
        .expect("add over an account");
    assert_eq!(catalog.usage("carol").await.expect("usage").quota, Some(9));
    assert_eq!(
        catalog.list_users().await.expect("list")[1],
        UserInfo {
            name: "alice".into(),
            quota: None,
            created: listed[1].created
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_overrides_merge_and_reset() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("connect");
    catalog
        .add_user("dan", &verifier("pw", b"salt"), None)
        .await
        .expect("add");
    assert_eq!(
        catalog.retention_of("dan").await.expect("retention"),
        RetentionOverrides::default()
    );
    let week = Duration::from_secs(7 * 24 * 3600);
    let set = catalog
        .set_retention(
            "dan",
            RetentionOverrides {
                keep_trash: Some(week),
                keep_versions: None,
                free_space_from_trash: Some(false),
            },
        )
        .await
        .expect("set");
    assert_eq!(
        set,
        RetentionOverrides {
            keep_trash: Some(week),
            keep_versions: None,
            free_space_from_trash: Some(false),
        }
    );
    // Each one given replaces theirs; the others stay.
    let merged = catalog
        .set_retention(
            "dan",
            RetentionOverrides {
                keep_trash: None,
                keep_versions: Some(u32::MAX),
                free_space_from_trash: Some(true),
            },
        )
        .await
        .expect("set");
    let expected = RetentionOverrides {
        keep_trash: Some(week),
        keep_versions: Some(u32::MAX),
        free_space_from_trash: Some(true),
    };
    assert_eq!(merged, expected);
    assert_eq!(
        catalog.retention_of("dan").await.expect("retention"),
        expected
    );
    catalog.reset_retention("dan").await.expect("reset");
    assert_eq!(
        catalog.retention_of("dan").await.expect("retention"),
        RetentionOverrides::default()
    );
    // Deleting the user takes their settings too.
    catalog
        .set_retention("dan", expected)
        .await
        .expect("set again");
    catalog.delete_user("dan").await.expect("delete");
    assert_eq!(
        catalog.retention_of("dan").await.expect("retention"),
        RetentionOverrides::default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_made_once_whoever_asks() {
    let Some(postgres) = postgres() else { return };
    let mut servers = Vec::new();
    for _ in 0..4 {
        servers.push(Catalog::connect(&postgres.url(), 2).await.expect("connect"));
    }
    let mut racing = tokio::task::JoinSet::new();
    for server in &servers {
        let server = server.clone();
        racing.spawn(async move { server.secret("decoy").await });
    }
    let mut seen = Vec::new();
    while let Some(secret) = racing.join_next().await {
        seen.push(secret.expect("task").expect("secret"));
    }
    assert!(
        seen.iter().all(|secret| *secret == seen[0]),
        "one value for all"
    );
    assert_ne!(seen[0], [0u8; 32]);
    assert_eq!(servers[0].secret("decoy").await.expect("secret"), seen[0]);
    assert_ne!(servers[1].secret("other").await.expect("secret"), seen[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_takes_all_of_theirs() {
    let Some(postgres) = postgres() else { return };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("connect");
    let books = Books::open(&postgres).await;
    for name in ["eve", "fay"] {
        catalog
            .add_user(name, &verifier("pw", b"salt"), None)
            .await
            .expect("add");
    }
    // Eve has files, a trash item, an old version, a reservation and a
    // partial upload; Fay has a file.
    catalog
        .mkdir("eve", &path("dir"), false)
        .await
        .expect("mkdir");
    let mut objects = Vec::new();
    for (at, size) in [("dir/a", 10), ("b", 20), ("c", 30)] {
        let file = new_file(at, size);
        put_as(&catalog, "eve", &file, Existing::Replace)
            .await
            .expect("put");
        objects.push(file.object);
    }
    let newer = new_file("c", 40);
    put_as(&catalog, "eve", &newer, Existing::KeepVersions(3))
        .await
        .expect("commit");
    objects.push(newer.object);
    catalog.trash("eve", &path("b")).await.expect("trash");
    catalog
        .reserve("eve", 5, 0, "test", netdisk_store::unix_now() + 60)
        .await
        .expect("reserve");
    let partial = KeptUpload {
        object: ObjectKey::fresh(),
        upload: "upload-id".into(),
        part_size: 5 << 20,
    };
    catalog
        .record_partial(
            "eve",
            &path("big"),
            PartialSource {
                size: 1 << 30,
                modified: None,
            },
            &partial,
            "test",
            netdisk_store::unix_now() + 60,
        )
        .await
        .expect("partial");
    put(&catalog, "fay", "mine", 7).await.expect("put");
    assert_eq!(books.check("eve").await, 100);

    let partials = catalog.delete_user("eve").await.expect("delete");
    assert_eq!(partials, vec![partial], "for the caller to abort");
    let mut doomed = catalog.doomed(100).await.expect("doomed");
    doomed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    objects.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(doomed, objects, "every object of hers, and only those");
    for table in ["entries", "trash", "versions", "reservations", "partials"] {
        assert_eq!(books.rows(table, "eve").await, 0, "{table}");
    }
    assert_eq!(books.trashed_rows().await, 0);
    assert_eq!(
        catalog.usage("eve").await.unwrap_err().kind,
        ErrorKind::NotFound,
        "her account went"
    );
    assert_eq!(catalog.credentials("eve").await.expect("credentials"), None);
    assert_eq!(
        catalog.delete_user("eve").await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    // Fay keeps hers.
    assert_eq!(books.check("fay").await, 7);
    assert_eq!(
        catalog
            .entry("fay", &path("mine"))
            .await
            .expect("entry")
            .entry
            .size,
        7
    );
    catalog.delete_user("fay").await.expect("delete");
    assert!(catalog.is_empty().await.expect("empty"));
    // Her name can be taken again, fresh.
    catalog
        .add_user("eve", &verifier("pw", b"salt"), None)
        .await
        .expect("add");
    assert_eq!(books.check("eve").await, 0);
    assert!(catalog
        .list("eve", &netdisk_proto::HomePath::home())
        .await
        .expect("list")
        .is_empty());
}

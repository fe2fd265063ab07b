//! The collector against real engines (PostgreSQL and a Garage node):
//! doomed objects go, orphans go once old enough, named objects stay.

mod common;

use bytes::Bytes;
use common::{engines, objects_on};
use netdisk_cluster::{collect, Catalog, Collected, NewFile, ObjectKey, Objects};
use netdisk_proto::HomePath;
use netdisk_store::Existing;
use std::time::Duration;

async fn commit(catalog: &Catalog, objects: &Objects, at: &str, bytes: &'static [u8]) -> ObjectKey {
    let key = ObjectKey::fresh();
    objects
        .put(&key, Bytes::from_static(bytes))
        .await
        .expect("put");
    let size = bytes.len() as u64;
    let reservation = catalog
        .reserve("dora", size, 0, "test", netdisk_store::unix_now() + 60)
        .await
        .expect("reserve");
    let file = NewFile {
        path: HomePath::home().resolve(at).expect("path"),
        size,
        blake3: blake3::hash(bytes).to_hex().to_string(),
        object: key.clone(),
        modified: None,
        mode: None,
    };
    catalog
        .commit_file("dora", &file, &reservation, Existing::Replace, "test")
        .await
        .expect("commit");
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doomed_and_orphaned_objects_are_deleted_named_ones_stay() {
    let Some((postgres, garage)) = engines(1) else {
        return;
    };
    let catalog = Catalog::connect(&postgres.url(), 2).await.expect("catalog");
    catalog.set_account("dora", None).await.expect("account");
    let objects = objects_on(&garage, 0);

    let first = commit(&catalog, &objects, "a.txt", b"first").await;
    let second = commit(&catalog, &objects, "a.txt", b"second").await; // dooms `first`
    let kept = commit(&catalog, &objects, "b.txt", b"kept").await;
    let orphan = ObjectKey::fresh(); // completed, never committed: its server died
    objects
        .put(&orphan, Bytes::from_static(b"orphan"))
        .await
        .expect("put");

    let hour = Duration::from_secs(3600);
    let collected = collect(&catalog, &objects, hour).await.expect("collect");
    assert_eq!(
        collected,
        Collected {
            doomed: 1,
            orphans: 0
        },
        "the orphan is too young yet"
    );
    assert!(
        objects.size(&first).await.is_err(),
        "the doomed object is gone"
    );
    assert!(
        objects.size(&orphan).await.is_ok(),
        "a young unnamed object stays"
    );

    let collected = collect(&catalog, &objects, Duration::ZERO)
        .await
        .expect("collect");
    assert_eq!(
        collected,
        Collected {
            doomed: 0,
            orphans: 1
        }
    );
    assert!(objects.size(&orphan).await.is_err(), "the orphan is gone");
    for named in [&second, &kept] {
        assert!(
            objects.size(named).await.is_ok(),
            "{named:?} is named: it stays"
        );
    }
    assert_eq!(
        collect(&catalog, &objects, Duration::ZERO)
            .await
            .expect("collect"),
        Collected::default()
    );
}

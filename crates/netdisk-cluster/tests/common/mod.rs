//! What the back-end's tests share: the real engines (skipped with the
//! reason where they are not installed, unless CI requires them), a
//! bucket handle on one Garage node, paths and test bytes, committing
//! files to the catalog, and a check of its books read straight from
//! the tables.
#![allow(dead_code)] // each test binary uses its own part of it

use netdisk_cluster::{Catalog, NewFile, ObjectKey, Objects, Replaced, S3Location};
use netdisk_proto::HomePath;
use netdisk_store::{Existing, StoreError};
use netdisk_testbed::{require_engines, Garage, Postgres, TestbedError};

/// An engine, or `None` (the reason printed) where its program is not
/// installed and CI did not ask for it; any other failure fails the test.
fn or_skip<T>(started: Result<T, TestbedError>) -> Option<T> {
    match started {
        Ok(engine) => Some(engine),
        Err(TestbedError::Missing(missing)) if !require_engines() => {
            eprintln!("skipped: {missing}");
            None
        }
        Err(error) => panic!("engine: {error}"),
    }
}

pub fn postgres() -> Option<Postgres> {
    or_skip(Postgres::start())
}

pub fn garage(nodes: usize) -> Option<Garage> {
    or_skip(Garage::start(nodes))
}

/// PostgreSQL and a Garage cluster of `nodes`.
pub fn engines(nodes: usize) -> Option<(Postgres, Garage)> {
    or_skip(Postgres::start().and_then(|postgres| Ok((postgres, Garage::start(nodes)?))))
}

/// The cluster's bucket through node `node`.
pub fn objects_on(garage: &Garage, node: usize) -> Objects {
    let location = S3Location::parse(&format!(
        "s3://{}?endpoint={}&region={}",
        garage.bucket(),
        garage.endpoint(node),
        garage.region()
    ))
    .expect("location");
    Objects::open(
        &location,
        Some((garage.access_key_id(), garage.secret_access_key())),
    )
    .expect("open objects")
}

pub fn path(text: &str) -> HomePath {
    HomePath::home().resolve(text).expect("path")
}

/// Deterministic bytes of `len`, different for each `seed`.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len);
    let mut state = 0x9e37_79b9_u32 ^ u32::from(seed);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

pub fn new_file(at: &str, size: u64) -> NewFile {
    NewFile {
        path: path(at),
        size,
        blake3: "0".repeat(64),
        object: ObjectKey::fresh(),
        modified: Some(1_700_000_000),
        mode: None,
    }
}

pub fn far_future() -> i64 {
    netdisk_store::unix_now() + 3600
}

/// Reserves `size` and commits a file of that size at `at`, replacing a file there.
pub async fn put(
    catalog: &Catalog,
    owner: &str,
    at: &str,
    size: u64,
) -> Result<Replaced, StoreError> {
    put_as(catalog, owner, &new_file(at, size), Existing::Replace).await
}

/// Reserves room for `file` and commits it, doing with a file at its
/// path what `existing` says; a refused commit gives its room back.
pub async fn put_as(
    catalog: &Catalog,
    owner: &str,
    file: &NewFile,
    existing: Existing,
) -> Result<Replaced, StoreError> {
    let reservation = catalog
        .reserve(owner, file.size, 0, "test", far_future())
        .await?;
    let committed = catalog
        .commit_file(owner, file, &reservation, existing, "test")
        .await;
    if committed.is_err() {
        catalog.release(&reservation).await.expect("release");
    }
    committed
}

/// Reads the catalog's tables directly (not through `Catalog`), to check
/// its books after an operation.
pub struct Books {
    pub client: tokio_postgres::Client,
}

impl Books {
    pub async fn open(postgres: &Postgres) -> Books {
        let (client, connection) = tokio_postgres::connect(&postgres.url(), tokio_postgres::NoTls)
            .await
            .expect("connect to check the books");
        tokio::spawn(connection);
        Books { client }
    }

    /// Panics unless `owner`'s `used` is the bytes of every row of theirs
    /// (home, trash, versions, kept parts), each trash item's size the bytes of its
    /// rows, and no doomed object still named by a row. Returns `used`.
    pub async fn check(&self, owner: &str) -> u64 {
        let row = self
            .client
            .query_one(
                "SELECT
                    (SELECT used FROM accounts WHERE owner = $1),
                    (SELECT coalesce(sum(size), 0)::bigint FROM entries WHERE owner = $1),
                    (SELECT coalesce(sum(t.size), 0)::bigint FROM trashed_entries t
                        JOIN trash i ON i.id = t.item WHERE i.owner = $1),
                    (SELECT coalesce(sum(size), 0)::bigint FROM versions WHERE owner = $1),
                    (SELECT coalesce(sum(size), 0)::bigint FROM partial_parts WHERE owner = $1)",
                &[&owner],
            )
            .await
            .expect("read the books");
        let used: i64 = row.get(0);
        let (home, trash, versions, parts): (i64, i64, i64, i64) =
            (row.get(1), row.get(2), row.get(3), row.get(4));
        assert_eq!(
            used,
            home + trash + versions + parts,
            "{owner}: used {used}, rows: home {home} + trash {trash} + versions {versions} + kept parts {parts}"
        );
        let unequal_items: i64 = self
            .client
            .query_one(
                "SELECT count(*) FROM trash i WHERE i.owner = $1 AND i.size <>
                    (SELECT coalesce(sum(size), 0) FROM trashed_entries WHERE item = i.id)",
                &[&owner],
            )
            .await
            .expect("read the books")
            .get(0);
        assert_eq!(
            unequal_items, 0,
            "{owner}: a trash item's size is not its rows'"
        );
        let doomed_yet_named: i64 = self
            .client
            .query_one(
                "SELECT count(*) FROM doomed_objects d WHERE
                    EXISTS (SELECT 1 FROM entries WHERE object = d.object)
                    OR EXISTS (SELECT 1 FROM trashed_entries WHERE object = d.object)
                    OR EXISTS (SELECT 1 FROM versions WHERE object = d.object)",
                &[],
            )
            .await
            .expect("read the books")
            .get(0);
        assert_eq!(doomed_yet_named, 0, "a doomed object is still named");
        u64::try_from(used).expect("used")
    }

    /// How many rows of `table` `owner` has (the home's, versions, trash items).
    pub async fn rows(&self, table: &str, owner: &str) -> i64 {
        self.client
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE owner = $1"),
                &[&owner],
            )
            .await
            .expect("count rows")
            .get(0)
    }

    /// How many rows the trash items hold, all users together.
    pub async fn trashed_rows(&self) -> i64 {
        self.client
            .query_one("SELECT count(*) FROM trashed_entries", &[])
            .await
            .expect("count rows")
            .get(0)
    }
}

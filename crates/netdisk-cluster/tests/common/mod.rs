//! What the back-end's tests share: the real engines (skipped with the
//! reason where they are not installed, unless CI requires them), a
//! bucket handle on one Garage node, paths and test bytes.
#![allow(dead_code)] // each test binary uses its own part of it

use netdisk_cluster::{Objects, S3Location};
use netdisk_proto::HomePath;
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

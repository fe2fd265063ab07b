//! Deletes objects no file needs: those the catalog doomed (a replaced or
//! removed file's) and orphans (an upload's object completed by a server
//! that died before its commit). An object is written before the row
//! that names it, so an unnamed object is only an orphan once it is
//! older than any upload could take to commit (`orphan_age`).

use crate::catalog::Catalog;
use crate::objects::{ObjectKey, Objects};
use netdisk_store::StoreError;
use std::time::{Duration, SystemTime};

/// Doomed objects handled per catalog query.
const BATCH: i64 = 500;

/// What one collection deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Collected {
    pub doomed: u64,
    pub orphans: u64,
}

/// Runs one collection: every doomed object, then every unnamed object
/// older than `orphan_age`. Several servers may collect at once: deleting
/// an object twice is no error.
pub async fn collect(
    catalog: &Catalog,
    objects: &Objects,
    orphan_age: Duration,
) -> Result<Collected, StoreError> {
    let mut collected = Collected::default();
    loop {
        let doomed = catalog.doomed(BATCH).await?;
        if doomed.is_empty() {
            break;
        }
        for key in &doomed {
            objects.delete(key).await?;
        }
        catalog.forget_doomed(&doomed).await?;
        collected.doomed += doomed.len() as u64;
    }
    let before = SystemTime::now()
        .checked_sub(orphan_age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let old: Vec<ObjectKey> = objects
        .list()
        .await?
        .into_iter()
        .filter(|(_, modified)| *modified <= before)
        .map(|(key, _)| key)
        .collect();
    for chunk in old.chunks(BATCH as usize) {
        let named = catalog.named(chunk).await?;
        for key in chunk.iter().filter(|key| !named.contains(key)) {
            objects.delete(key).await?;
            collected.orphans += 1;
        }
    }
    Ok(collected)
}

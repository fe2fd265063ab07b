//! Small uploads in batches: each file arrives whole (in memory), is
//! verified and given its space at once, and waits for its batch; a
//! batch is committed with one durability step for all its files. A file
//! is never reported committed before it is durable.

use crate::audit::TransferRecord;
use crate::backend::{Existing, SmallFile, SourceAttributes};
use crate::error::{ErrorKind, StoreError};
use crate::quota::Reservation;
use crate::retention::ReplacedSize;
use crate::space::{outcome, Space};
use crate::upload::{Audited, Committed};
use netdisk_proto::HomePath;
use tokio::task::JoinHandle;

/// A small upload accepted, waiting for its batch's commit. Dropped
/// unsettled (the client went away), its space goes back and it is
/// audited as interrupted.
pub struct SmallPending {
    path: HomePath,
    size: u64,
    blake3: String,
    reservation: Reservation,
    record: Audited,
}

/// Per file of a batch, in order: the bytes it replaced, or why it failed.
pub type BatchResults = Vec<Result<u64, StoreError>>;

impl Space {
    /// Verifies a small file's bytes against the client's BLAKE3 and
    /// reserves their space (`quota` looked up once per batch, see
    /// [`Space::quota`]). Returns the file for the batch and what answers it.
    pub async fn accept_small(
        &self,
        target: &HomePath,
        body: Vec<u8>,
        client_blake3: &str,
        attributes: SourceAttributes,
        quota: Option<u64>,
    ) -> Result<(SmallFile, SmallPending), StoreError> {
        let mut record = Audited::start(self, "upload", target);
        let size = body.len() as u64;
        let hash = blake3::hash(&body).to_hex().to_string();
        record.0.bytes = size;
        record.0.blake3 = Some(hash.clone());
        let reserved = if client_blake3 != hash {
            Err(StoreError::new(
                ErrorKind::Integrity,
                format!(
                    "{target}: BLAKE3 mismatch (client {client_blake3}, server {hash}); nothing was stored"
                ),
            ))
        } else {
            self.reserve_small(target, size, quota).await
        };
        let (reservation, existing) = match reserved {
            Ok(reserved) => reserved,
            Err(err) => {
                record.0.result = err.code().as_str();
                return Err(err);
            }
        };
        let file = SmallFile {
            target: target.clone(),
            body,
            blake3: hash.clone(),
            attributes,
            existing,
            room: reservation.ticket(),
        };
        let pending = SmallPending {
            path: target.clone(),
            size,
            blake3: hash,
            reservation,
            record,
        };
        Ok((file, pending))
    }

    async fn reserve_small(
        &self,
        target: &HomePath,
        size: u64,
        quota: Option<u64>,
    ) -> Result<(Reservation, Existing), StoreError> {
        // The replaced file's size is looked up only near the quota (one
        // stat, answered from the kernel's cache): the usual batch pays
        // nothing for it.
        let existing = self.retention.on_replace();
        self.reserve_upload(size, ReplacedSize::LookUp(target), existing, quota)
            .await
    }

    /// Commits a batch on the blocking pool; the results come in the
    /// files' order.
    pub fn commit_small(&self, files: Vec<SmallFile>) -> JoinHandle<BatchResults> {
        let (home, partials) = (self.home.clone(), self.partials.clone());
        tokio::task::spawn_blocking(move || home.commit_small_batch(files, &partials))
    }

    /// Writes the audit line of an upload a front-end refused before it
    /// reached the store (a malformed path, an oversized body).
    pub fn record_refused(&self, record: &TransferRecord) {
        record.write(&self.store.audit, self.peer, &self.user);
    }
}

impl SmallPending {
    /// Settles the space with the file's result in its batch.
    pub fn settle(self, result: Result<u64, StoreError>) -> Result<Committed, StoreError> {
        let SmallPending {
            path,
            size,
            blake3,
            reservation,
            mut record,
        } = self;
        record.0.result = outcome(&result);
        // Dropping the reservation (on failure) gives the space back.
        let replaced = result?;
        reservation.settle(size, replaced);
        Ok(Committed { path, size, blake3 })
    }
}

//! A resumable upload's record in the catalog, as the server writing it
//! keeps it: each part the store confirms is recorded with its hashes
//! (so any server can go on from it), and a lease, renewed while this
//! server writes, keeps the others off it. A server that dies stops
//! renewing: its lease runs out and the next attempt, anywhere, goes on.

use crate::backend::Shared;
use crate::catalog::{Claimed, KeptPart, KeptUpload, PartialSource};
use crate::part_hasher::PartHasher;
use crate::part_writer::PartWriter;
use netdisk_proto::HomePath;
use netdisk_store::{ErrorKind, StoreError};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long a lease outlives its last renewal: how long an upload cut by
/// a dead server waits before another server may go on with it.
const LEASE: Duration = Duration::from_secs(20);
/// How often a live writer renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How long an attempt waits for another server's lease to end (its
/// writer let go, or died) before it says `busy`.
const CLAIM_PATIENCE: Duration = Duration::from_secs(25);
/// How often a waiting attempt looks again.
const CLAIM_POLL: Duration = Duration::from_millis(500);

fn lease_end() -> i64 {
    netdisk_store::unix_now() + LEASE.as_secs() as i64
}

/// One user's resumable upload to one target, in the catalog.
#[derive(Clone)]
pub(crate) struct PartialRecord {
    pub(crate) shared: Shared,
    pub(crate) owner: String,
    pub(crate) target: HomePath,
    pub(crate) source: PartialSource,
}

impl PartialRecord {
    /// Takes the target's partial for this server, waiting (bounded) for
    /// another server's lease to end.
    pub(crate) async fn claim(&self) -> Result<Claimed, StoreError> {
        let deadline = tokio::time::Instant::now() + CLAIM_PATIENCE;
        loop {
            let claimed = self
                .shared
                .catalog
                .claim_partial(
                    &self.owner,
                    &self.target,
                    self.source,
                    &self.shared.server,
                    lease_end(),
                )
                .await;
            match claimed {
                Err(err) if err.kind == ErrorKind::Busy => {
                    // No notification crosses servers: look again shortly.
                    if tokio::time::Instant::now() + CLAIM_POLL > deadline {
                        return Err(err);
                    }
                    tokio::time::sleep(CLAIM_POLL).await;
                }
                other => return other,
            }
        }
    }

    /// Renews this server's lease until the returned guard is dropped.
    pub(crate) fn hold(&self) -> LeaseRenewer {
        let record = self.clone();
        LeaseRenewer(self.shared.runtime.spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                // No row yet (no part recorded), or lost to another
                // server: then `add_part` says so and the upload stops.
                let _ = record
                    .shared
                    .catalog
                    .renew_partial(
                        &record.owner,
                        &record.target,
                        &record.shared.server,
                        lease_end(),
                    )
                    .await;
            }
        }))
    }

    /// Lets go of the lease, so the next attempt may go on at once.
    pub(crate) async fn release(&self) {
        let released = self
            .shared
            .catalog
            .release_partial(&self.owner, &self.target, &self.shared.server)
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, "a partial's lease was not let go; it runs out");
        }
    }

    /// Forgets the partial and aborts its multipart upload; returns its bytes.
    pub(crate) async fn discard(&self) -> Result<Option<u64>, StoreError> {
        discard_partial(&self.shared, &self.owner, &self.target).await
    }

    /// Records the first part of a new multipart upload `writer` started;
    /// a partial of this target held before (a start-over) is forgotten
    /// and its upload aborted.
    async fn start(&self, writer: &PartWriter) -> Result<(), StoreError> {
        let Some(upload) = writer.upload_id() else {
            return Err(StoreError::new(
                ErrorKind::Internal,
                "a part was confirmed before its upload started",
            ));
        };
        let kept = KeptUpload {
            object: writer.key().clone(),
            upload: upload.to_owned(),
            part_size: writer.part_size(),
        };
        let replaced = self
            .shared
            .catalog
            .record_partial(
                &self.owner,
                &self.target,
                self.source,
                &kept,
                &self.shared.server,
                lease_end(),
            )
            .await?;
        if let Some(old) = replaced {
            abort_kept(&self.shared, &old).await;
        }
        Ok(())
    }
}

/// Forgets `owner`'s partial of `target` (`busy` while another server's
/// lease runs) and aborts its multipart upload; returns its bytes, `None`
/// when there is none.
pub(crate) async fn discard_partial(
    shared: &Shared,
    owner: &str,
    target: &HomePath,
) -> Result<Option<u64>, StoreError> {
    let dropped = shared
        .catalog
        .drop_partial(owner, target, &shared.server)
        .await?;
    let Some((kept, bytes)) = dropped else {
        return Ok(None);
    };
    if let Some(kept) = kept {
        abort_kept(shared, &kept).await;
    }
    Ok(Some(bytes))
}

/// Aborts a forgotten partial's multipart upload; should that fail, the
/// store's expiry of incomplete uploads removes its parts.
pub(crate) async fn abort_kept(shared: &Shared, kept: &KeptUpload) {
    if let Err(error) = shared
        .objects
        .abort_multipart(&kept.object, &kept.upload)
        .await
    {
        tracing::debug!(%error, object = kept.object.as_str(), "a forgotten partial's upload was not aborted");
    }
}

/// Renews a lease while it lives.
pub(crate) struct LeaseRenewer(JoinHandle<()>);

impl Drop for LeaseRenewer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Records the parts of one body as the store confirms them.
pub(crate) struct PartRecorder {
    record: PartialRecord,
    /// Parts recorded so far (those resumed after count).
    recorded: usize,
    /// The upload's reservation, whose room each part's bytes leave.
    room: Option<i64>,
}

impl PartRecorder {
    pub(crate) fn new(record: PartialRecord, recorded: usize, room: Option<i64>) -> PartRecorder {
        PartRecorder {
            record,
            recorded,
            room,
        }
    }

    /// Records every part `writer` has had confirmed since the last call,
    /// with its hashes from `hasher` (which has seen its bytes).
    pub(crate) async fn catch_up(
        &mut self,
        writer: &PartWriter,
        hasher: &PartHasher,
    ) -> Result<(), StoreError> {
        while let Some(part) = writer.parts().get(self.recorded) {
            let hash = hasher.part(part.index).ok_or_else(|| {
                StoreError::new(
                    ErrorKind::Internal,
                    "a part was confirmed before it was hashed",
                )
            })?;
            if part.index == 0 {
                self.record.start(writer).await?;
            }
            let kept = KeptPart {
                part: part.clone(),
                hash,
            };
            self.record
                .shared
                .catalog
                .add_part(
                    &self.record.owner,
                    &self.record.target,
                    &kept,
                    &self.record.shared.server,
                    lease_end(),
                    self.room,
                )
                .await?;
            self.recorded += 1;
        }
        Ok(())
    }
}

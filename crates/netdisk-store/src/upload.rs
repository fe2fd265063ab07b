//! A verified upload: space reserved before the first byte, bytes staged
//! outside the home and hashed as they arrive, and the file placed only
//! when its BLAKE3 matches the client's, durably and atomically. A
//! resumable upload keeps what reached the disk when it is cut, for a
//! later attempt to go on from.
//!
//! Space: the upload reserves what it may still write before the client
//! sends a byte; when it ends, what it left on disk moves from reserved
//! to used.

use crate::audit::TransferRecord;
use crate::backend::{BodyWriter, Existing, Prepared, SourceAttributes};
use crate::claims::ActivePartials;
use crate::error::{ErrorKind, StoreError};
use crate::quota::Reservation;
use crate::retention::ReplacedSize;
use crate::space::{outcome, Space};
use bytes::{Bytes, BytesMut};
use netdisk_fileio::CHUNK;
use netdisk_proto::HomePath;
use std::io;
use std::time::Duration;

/// How long a resumable upload waits for an earlier writer of its partial
/// (typically the same client's cut connection) to let go.
const CLAIM_PATIENCE: Duration = Duration::from_secs(5);

/// What the client says of the file it is about to send.
#[derive(Debug, Clone, Copy, Default)]
pub struct UploadSpec {
    pub size: u64,
    /// The source's attributes, kept on the stored file; `modified` also
    /// tells whether a kept partial is of this version of the source.
    pub attributes: SourceAttributes,
    /// Keep the bytes if the upload is cut, and go on from kept ones.
    pub resume: bool,
    /// Only a new file: refused (`exists`) if something is at the target
    /// when the upload begins, or when it commits (atomically: two such
    /// uploads racing for one name, one gets it and the other is refused).
    pub create_new: bool,
}

/// A committed upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub path: HomePath,
    pub size: u64,
    pub blake3: String,
}

/// An upload between its acceptance and its commit. End it with
/// [`Upload::finish`] or [`Upload::abandon`]; either writes its audit line.
pub struct Upload {
    space: Space,
    target: HomePath,
    spec: UploadSpec,
    prepared: Prepared,
    reservation: Reservation,
    quota: Option<u64>,
    /// Bytes of the staging file counted in the user's usage before this upload wrote.
    counted: u64,
    /// Where the body starts: `offset`, or 0 when the client starts over.
    start: u64,
    failure: Option<StoreError>,
    sink: Option<Box<dyn BodyWriter>>,
    /// Pieces of the body gathered until they make a chunk: an HTTP body
    /// arrives a TLS record (16 KiB) at a time, and the writer is then
    /// woken, and writes, once per `netdisk_fileio::CHUNK` instead.
    gathered: BytesMut,
    record: Audited,
    /// What the commit does with a file at the target.
    existing: Existing,
}

impl Space {
    /// Checks the target and the quota, finds any kept partial, and
    /// reserves the space. Refused, nothing is staged.
    pub async fn begin_upload(
        &self,
        target: &HomePath,
        spec: UploadSpec,
    ) -> Result<Upload, StoreError> {
        let mut record = Audited::start(self, "upload", target);
        match self.prepare(target, spec).await {
            Ok((prepared, reservation, quota, existing)) => Ok(Upload {
                existing,
                space: self.clone(),
                target: target.clone(),
                spec,
                counted: prepared.offset,
                start: prepared.offset,
                prepared,
                reservation,
                quota,
                failure: None,
                sink: None,
                gathered: BytesMut::new(),
                record,
            }),
            Err(err) => {
                record.0.result = err.code().as_str();
                Err(err)
            }
        }
    }

    async fn prepare(
        &self,
        target: &HomePath,
        spec: UploadSpec,
    ) -> Result<(Prepared, Reservation, Option<u64>, Existing), StoreError> {
        if matches!(self.existing(&spec), Existing::Refuse) && self.entry(target).await.is_ok() {
            return Err(StoreError::new(
                ErrorKind::Exists,
                format!("{target}: already exists"),
            ));
        }
        let quota = self.quota().await?;
        let claim = if spec.resume {
            let key = ActivePartials::key_for(&self.user, target);
            let claim = self
                .partials
                .active
                .claim_within(key, CLAIM_PATIENCE)
                .await
                .ok_or_else(|| {
                    StoreError::new(
                        ErrorKind::Busy,
                        format!("{target}: another upload to it is in progress"),
                    )
                })?;
            Some(claim)
        } else {
            None
        };
        let (check, partials) = (target.clone(), self.partials.clone());
        let mut prepared = self
            .run(move |home| {
                // Starting over (not resumable): a kept partial of this target
                // is worthless, and its bytes must not count against this upload.
                let dropped = if spec.resume {
                    0
                } else {
                    home.discard_partial(&check, &partials).unwrap_or(0)
                };
                let mut prepared =
                    home.prepare_upload(&check, spec.size, spec.attributes.modified, claim)?;
                prepared.discarded += dropped;
                Ok(prepared)
            })
            .await?;
        if prepared.discarded > 0 {
            self.store.quotas.freed(&self.user, prepared.discarded);
        }
        let extra = spec.size - prepared.offset;
        let replaced = prepared.replacing;
        let reserved = self
            .reserve_upload(
                extra,
                ReplacedSize::Known(replaced),
                self.existing(&spec),
                quota,
            )
            .await;
        match reserved {
            Ok((reservation, existing)) => {
                if existing != Existing::Replace {
                    // The file it replaces stays, as a version: it frees nothing.
                    prepared.replacing = 0;
                }
                Ok((prepared, reservation, quota, existing))
            }
            Err(err) => {
                // Kept bytes stay for a later attempt; a partial just created goes.
                if prepared.offset == 0 {
                    prepared.staged.set_keep(false);
                }
                Err(err)
            }
        }
    }
}

impl Space {
    /// What an upload's commit does with a file at its target.
    pub(crate) fn existing(&self, spec: &UploadSpec) -> Existing {
        if spec.create_new {
            Existing::Refuse
        } else {
            self.retention.on_replace()
        }
    }
}

impl Upload {
    /// Bytes kept from an interrupted attempt: the client sends the rest.
    pub fn offset(&self) -> u64 {
        self.prepared.offset
    }

    /// The BLAKE3 of the kept bytes, for the client to check against its own.
    pub fn prefix_blake3(&self) -> Option<String> {
        self.prepared
            .prefix_blake3
            .clone()
            .filter(|_| self.prepared.offset > 0)
    }

    /// Why the bytes of an earlier attempt were thrown away, if they were.
    pub fn take_restarted(&mut self) -> Option<String> {
        self.prepared.restarted.take()
    }

    /// Starts receiving the body from `start`: `offset()`, or 0 when the
    /// client's first bytes differ from the kept ones (it starts over).
    pub async fn start_body(&mut self, start: u64) -> io::Result<()> {
        let offset = self.prepared.offset;
        if start == 0 && offset > 0 {
            self.space.store.quotas.freed(&self.space.user, offset);
            self.counted = 0;
            // What of the replaced file's credit the first reservation left unused.
            let credit = self
                .prepared
                .replacing
                .saturating_sub(self.spec.size - offset);
            if let Err(err) = self
                .reservation
                .grow_replacing(offset, credit, self.quota)
                .await
            {
                self.failure = Some(err);
            }
        }
        self.start = start;
        // A body already refused (no room to restart) is still read and
        // hashed, so the client stays in step.
        let hash_only = self.failure.is_some();
        let room = self.reservation.ticket();
        self.sink = Some(self.prepared.staged.take_body(start, hash_only, room)?);
        Ok(())
    }

    /// Bytes the body has left from `start`.
    pub fn body_len(&self) -> u64 {
        self.spec.size - self.start
    }

    /// Hands a piece of the body to the file writer, pieces smaller than
    /// a chunk gathered first (waiting while its queue is full). An error
    /// means the writer thread is gone.
    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        let Some(sink) = &mut self.sink else {
            return Err(io::Error::other("upload body written before start_body"));
        };
        if self.gathered.is_empty() && chunk.len() >= CHUNK {
            return sink.push(chunk).await;
        }
        if self.gathered.capacity() == 0 {
            self.gathered.reserve(CHUNK);
        }
        self.gathered.extend_from_slice(&chunk);
        if self.gathered.len() >= CHUNK {
            sink.push(std::mem::take(&mut self.gathered).freeze())
                .await?;
        }
        Ok(())
    }

    /// Hands the gathered pieces to the writer now, for a front-end whose
    /// peer has paused: what it sent goes to the disk (and a resumable
    /// upload's kept bytes grow) without waiting for a chunk's worth more.
    pub async fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Some(sink) if !self.gathered.is_empty() => {
                sink.push(std::mem::take(&mut self.gathered).freeze()).await
            }
            _ => Ok(()),
        }
    }

    /// Waits for every write to land; a write error (disk full) is kept
    /// for `finish` to report. Returns the whole upload's BLAKE3 (hex),
    /// `None` if no body was started.
    async fn land_writes(&mut self) -> io::Result<Option<String>> {
        self.flush().await?;
        let Some(sink) = self.sink.take() else {
            return Ok(None);
        };
        let written = sink.finish().await?;
        if let (None, Some(e)) = (&self.failure, written.error) {
            self.failure = Some(StoreError::from_io(&e, "upload"));
        }
        self.record.0.bytes = written.count.saturating_sub(self.start);
        Ok(Some(written.blake3))
    }

    /// The whole body arrived, with the client's BLAKE3 of the file:
    /// commits it unless the hashes differ or a write failed, and settles
    /// the space either way.
    pub async fn finish(self, client_blake3: &str) -> Result<Committed, StoreError> {
        self.commit(Some(client_blake3)).await
    }

    /// The whole body arrived from a client that sent no hash of it (an
    /// HTTP client without a digest header): only the transport vouches
    /// for the bytes. Commits unless a write failed.
    pub async fn finish_unhashed(self) -> Result<Committed, StoreError> {
        self.commit(None).await
    }

    async fn commit(mut self, client_blake3: Option<&str>) -> Result<Committed, StoreError> {
        let landed = self.land_writes().await;
        let Upload {
            space,
            target,
            spec,
            mut prepared,
            reservation,
            counted,
            start,
            mut failure,
            mut record,
            existing,
            ..
        } = self;
        let landed = landed.and_then(|hash| {
            hash.ok_or_else(|| io::Error::other("the upload's body never started"))
        });
        let hash = match landed {
            Ok(hash) => hash,
            Err(e) => {
                let err = StoreError::from_io(&e, "upload");
                record.0.result = err.code().as_str();
                return Err(err);
            }
        };
        record.0.blake3 = Some(hash.clone());
        match client_blake3 {
            Some(client) if failure.is_none() && client != hash => {
                failure = Some(StoreError::new(
                    ErrorKind::Integrity,
                    format!(
                        "{target}: BLAKE3 mismatch (client {client}, server {hash}); nothing was stored"
                    ),
                ));
            }
            _ => {}
        }
        // From here the staging file is either committed or worthless.
        prepared.staged.set_keep(false);
        let placed = match failure {
            Some(err) => Err(err),
            None => {
                let Prepared { staged, .. } = prepared;
                let (target, hash, partials) =
                    (target.clone(), hash.clone(), space.partials.clone());
                let room = reservation.ticket();
                space
                    .run(move |_home| {
                        let stored = staged.written().saturating_sub(counted);
                        let replaced = staged.commit(
                            spec.attributes,
                            &hash,
                            &target,
                            &partials,
                            existing,
                            room,
                        )?;
                        Ok((stored, replaced))
                    })
                    .await
            }
        };
        record.0.result = outcome(&placed);
        match placed {
            Ok((stored, replaced)) => {
                reservation.settle(stored, replaced);
                tracing::info!(user = %space.user, path = %target, bytes = spec.size, resumed_from = start, blake3 = %hash, "upload committed");
                Ok(Committed {
                    path: target,
                    size: spec.size,
                    blake3: hash,
                })
            }
            Err(err) => {
                // A failed upload's bytes are not worth keeping.
                tracing::info!(user = %space.user, error = %err.message, "upload failed");
                reservation.settle(0, counted);
                Err(err)
            }
        }
    }

    /// The body since `start_body` is refused (its checksum failed): the
    /// partial goes back to the bytes it had before, then the upload ends
    /// as `abandon` does. If it cannot be cut back, it is not kept at all.
    pub async fn abandon_body(mut self) {
        if let Err(e) = self.land_writes().await {
            tracing::warn!(error = %e, "upload writer failed");
        }
        if let Err(e) = self.prepared.staged.cut_back(self.start) {
            tracing::warn!(error = %e, "a refused body could not be cut from its partial");
            self.prepared.staged.set_keep(false);
            // The bytes kept before this body leave with it.
            self.space
                .store
                .quotas
                .freed(&self.space.user, self.counted);
            self.counted = 0;
        }
        self.abandon().await;
    }

    /// The client went away before the end: what reached the disk stays
    /// only if the upload is resumable, and the space is settled accordingly.
    /// Returns the bytes kept: where the next attempt goes on from (a
    /// back-end may keep less than arrived: whole parts only).
    pub async fn abandon(mut self) -> u64 {
        if let Err(e) = self.land_writes().await {
            tracing::warn!(error = %e, "upload writer failed");
        }
        let (stored, kept) = if self.prepared.staged.keeps() {
            let kept = self.prepared.staged.kept();
            (
                self.prepared.staged.written().saturating_sub(self.counted),
                kept,
            )
        } else {
            (0, 0)
        };
        let Upload {
            prepared,
            reservation,
            record,
            ..
        } = self;
        // The partial is let go before the space is settled, so whoever
        // sees the reservation end may claim the partial at once.
        drop(prepared);
        reservation.settle(stored, 0);
        drop(record);
        kept
    }
}

/// A transfer's audit line, written when it is dropped, however the
/// transfer ended ("interrupted" unless told otherwise).
pub(crate) struct Audited(pub(crate) TransferRecord, pub(crate) Space);

impl Audited {
    pub(crate) fn start(space: &Space, direction: &'static str, path: &HomePath) -> Audited {
        Audited(
            TransferRecord::start(direction, path.to_string()),
            space.clone(),
        )
    }
}

impl Drop for Audited {
    fn drop(&mut self) {
        let space = &self.1;
        self.0.write(&space.store.audit, space.peer, &space.user);
    }
}

//! Upload: `put` -> `put_ready` (with the bytes kept from an interrupted
//! attempt, if any), then `put_data` + body, then `put_end` with the
//! client's BLAKE3 -> `put_done` once the file is verified, synced and
//! renamed into place.
//!
//! Space: the upload reserves what it may still write before `put_ready`;
//! when it ends, what it left on disk moves from reserved to used.

use super::{resolve, shown};
use crate::audit::TransferRecord;
use crate::connection::{Connection, Fatal};
use crate::error::CommandError;
use crate::home::Home;
use crate::quota::Reservation;
use crate::session::{Session, Shared};
use crate::staging::{ActivePartials, Prepared, SourceAttributes};
use netdisk_fileio::{FileSink, PageCache};
use netdisk_proto::request::{Put, PutEnd};
use netdisk_proto::response::{PutDone, PutReady};
use netdisk_proto::{ErrorCode, Frame, HomePath, Message};
use tokio::io::{AsyncRead, AsyncWrite};

/// How long a resumable upload waits for an earlier writer of its partial
/// (typically the same client's cut connection) to let go.
const CLAIM_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

pub(crate) async fn apply<S: AsyncRead + AsyncWrite + Unpin>(
    req: Put,
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    let mut record = TransferRecord::start("upload", shown(session, &req.path));
    let outcome = upload(req, session, conn, shared, &mut record).await;
    record.write(&shared.audit, session.peer, &session.user);
    outcome
}

async fn upload<S: AsyncRead + AsyncWrite + Unpin>(
    req: Put,
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
    record: &mut TransferRecord,
) -> Result<(), Fatal> {
    let id = req.id;
    let (target, mut prepared, reservation, quota) = match prepare(&req, session, shared).await {
        Ok(ready) => ready,
        // Refused before put_ready: the client sends no body.
        Err(err) => {
            record.result = err.code.as_str();
            return conn.send(&err.into_message(id)).await;
        }
    };
    let offset = prepared.offset;
    conn.send(&Message::PutReady(PutReady {
        id,
        offset,
        prefix_blake3: (offset > 0)
            .then(|| prepared.hasher.clone().finalize().to_hex().to_string()),
        restarted: prepared.restarted.take(),
    }))
    .await?;

    let start = match conn
        .read_message(shared.config.stall_timeout, "upload")
        .await?
    {
        Message::PutData(data)
            if data.id == id
                && (data.offset == offset || data.offset == 0)
                && data.offset.checked_add(data.size) == Some(req.size) =>
        {
            data.offset
        }
        other => {
            return Err(Fatal::protocol(
                other.id(),
                format!(
                    "expected put_data with id {id}, offset {offset} or 0, and size {} from there",
                    req.size
                ),
            ))
        }
    };
    let mut upload = Upload {
        user: session.user.clone(),
        reservation,
        counted: offset,
        failure: None,
    };
    let mut hasher = std::mem::take(&mut prepared.hasher);
    if start == 0 && offset > 0 {
        // The client's first bytes differ from the kept ones: start over.
        Home::restart_upload(&mut prepared.file)
            .map_err(|e| Fatal::Io(std::io::Error::other(e.message)))?;
        shared.quotas.freed(&session.user, offset);
        upload.counted = 0;
        hasher = blake3::Hasher::new();
        // What of the replaced file's credit the first reservation left unused.
        let credit = prepared.replacing.saturating_sub(req.size - offset);
        if let Err(err) = upload.reservation.grow_replacing(offset, credit, quota) {
            upload.failure = Some(err);
        }
    }

    let received = receive(
        id,
        req.size - start,
        &mut prepared,
        &mut hasher,
        &mut upload,
        conn,
        shared,
    )
    .await;
    record.bytes = hasher.count().saturating_sub(start);
    let end = match received {
        Ok(end) => end,
        Err(fatal) => {
            upload.abandon(prepared);
            return Err(fatal);
        }
    };
    let hash = hasher.finalize().to_hex().to_string();
    record.blake3 = Some(hash.clone());
    if upload.failure.is_none() && end.blake3 != hash {
        upload.failure = Some(CommandError::new(
            ErrorCode::Integrity,
            format!(
                "{target}: BLAKE3 mismatch (client {}, server {hash}); nothing was stored",
                end.blake3
            ),
        ));
    }
    let attributes = SourceAttributes {
        modified: req.modified,
        mode: req.mode,
    };
    let committed = upload
        .complete(prepared, attributes, session, &target)
        .await;
    record.result = super::outcome(&committed);
    let response = match committed {
        Ok(()) => {
            tracing::info!(user = %session.user, path = %target, bytes = req.size, resumed_from = start, blake3 = %hash, "upload committed");
            Message::PutDone(PutDone {
                id,
                path: target.to_string(),
                size: req.size,
                blake3: hash,
            })
        }
        Err(err) => err.into_message(id),
    };
    conn.send(&response).await
}

/// Checks the target, the quota and any kept partial; reserves the space.
async fn prepare(
    req: &Put,
    session: &Session,
    shared: &Shared,
) -> Result<(HomePath, Prepared, Reservation, Option<u64>), CommandError> {
    let target = resolve(session, &req.path)?;
    let quota = shared.quota_of(&session.user).await?;
    let claim = if req.resume {
        let key = ActivePartials::key_for(&session.user, &target);
        let claim = shared
            .active
            .claim_within(key, CLAIM_PATIENCE)
            .await
            .ok_or_else(|| {
                CommandError::new(
                    ErrorCode::Busy,
                    format!("{target}: another upload to it is in progress"),
                )
            })?;
        Some(claim)
    } else {
        None
    };
    let check = target.clone();
    let (size, modified, resume) = (req.size, req.modified, req.resume);
    let partials = session.partials.clone();
    let mut prepared = session
        .home
        .run(move |home| {
            // Starting over (`resume` false): a kept partial of this target
            // is worthless, and its bytes must not count against this upload.
            let dropped = if resume {
                0
            } else {
                home.discard_partial(&check, &partials).unwrap_or(0)
            };
            let mut prepared = home.prepare_upload(&check, size, modified, claim)?;
            prepared.discarded += dropped;
            Ok(prepared)
        })
        .await?;
    if prepared.discarded > 0 {
        shared.quotas.freed(&session.user, prepared.discarded);
    }
    match shared.quotas.reserve(
        &session.user,
        req.size - prepared.offset,
        prepared.replacing,
        quota,
    ) {
        Ok(reservation) => Ok((target, prepared, reservation, quota)),
        Err(err) => {
            // Kept bytes stay for a later attempt; a partial just created goes.
            if prepared.offset == 0 {
                prepared.staged.keep = false;
            }
            Err(err)
        }
    }
}

/// Reads the body into the staging file, hashing it, then `put_end`.
async fn receive<S: AsyncRead + AsyncWrite + Unpin>(
    id: u64,
    remaining: u64,
    prepared: &mut Prepared,
    hasher: &mut blake3::Hasher,
    upload: &mut Upload,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<PutEnd, Fatal> {
    let file = prepared.file.try_clone()?;
    let prefix = std::mem::take(hasher);
    // A body already refused (no room to restart) is still read and
    // hashed, so the connection stays in step.
    let mut sink = if upload.failure.is_some() {
        FileSink::hash_only(file, prefix)
    } else {
        FileSink::start(file, prefix, PageCache::Keep)
    };
    let body = receive_body(remaining, &mut sink, conn, shared).await;
    // Let every write land, even when the connection was cut, before
    // anyone measures, keeps or syncs the file.
    let written = sink.finish().await?;
    *hasher = written.hasher;
    if let (None, Some(e)) = (&upload.failure, written.error) {
        // Disk full and the like: reported after the whole body was read.
        upload.failure = Some(CommandError::from_io(&e, "upload"));
    }
    body?;
    match conn
        .read_message(shared.config.stall_timeout, "upload")
        .await?
    {
        Message::PutEnd(end) if end.id == id => Ok(end),
        other => Err(Fatal::protocol(
            other.id(),
            format!("expected put_end with id {id}, got {}", other.type_name()),
        )),
    }
}

/// Hands `remaining` body bytes to the file writer.
async fn receive_body<S: AsyncRead + AsyncWrite + Unpin>(
    mut remaining: u64,
    sink: &mut FileSink,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    while remaining > 0 {
        let chunk = match conn.read(shared.config.stall_timeout, "upload").await? {
            Frame::Body(chunk) => chunk,
            Frame::Message(m) => {
                return Err(Fatal::protocol(m.id(), "header inside an upload body"))
            }
        };
        remaining -= chunk.len() as u64;
        sink.push(chunk).await?;
    }
    Ok(())
}

/// The accounting state of one upload.
struct Upload {
    user: String,
    reservation: Reservation,
    /// Bytes of the staging file counted in the user's usage before this upload wrote.
    counted: u64,
    failure: Option<CommandError>,
}

impl Upload {
    /// The connection was cut: what reached the disk stays only if the
    /// upload is resumable, and the space is settled accordingly.
    fn abandon(self, prepared: Prepared) {
        let stored = if prepared.staged.keep {
            prepared.staged.len().saturating_sub(self.counted)
        } else {
            0
        };
        // The partial is let go before the space is settled, so whoever
        // sees the reservation end may claim the partial at once.
        drop(prepared);
        self.reservation.settle(stored, 0);
    }

    /// The body and `put_end` arrived: commits the file unless something
    /// failed, and settles the space either way.
    async fn complete(
        self,
        mut prepared: Prepared,
        attributes: SourceAttributes,
        session: &Session,
        target: &HomePath,
    ) -> Result<(), CommandError> {
        let Upload {
            user,
            reservation,
            counted,
            failure,
        } = self;
        // From here the staging file is either committed or worthless.
        prepared.staged.keep = false;
        let result = match failure {
            Some(err) => Err(err),
            None => {
                let Prepared { file, staged, .. } = prepared;
                let target = target.clone();
                let partials = session.partials.clone();
                session
                    .home
                    .run(move |home| {
                        let stored = staged.len().saturating_sub(counted);
                        attributes
                            .apply(&file)
                            .and_then(|()| file.sync_all())
                            .map_err(|e| CommandError::from_io(&e, "upload"))?;
                        let replaced = home.commit_upload(staged, &target, &partials)?;
                        Ok((stored, replaced))
                    })
                    .await
            }
        };
        match result {
            Ok((stored, replaced)) => {
                reservation.settle(stored, replaced);
                Ok(())
            }
            Err(err) => {
                // A failed upload's bytes are not worth keeping.
                tracing::info!(user = %user, error = %err.message, "upload failed");
                reservation.settle(0, counted);
                Err(err)
            }
        }
    }
}

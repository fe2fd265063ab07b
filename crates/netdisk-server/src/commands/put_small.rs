//! `put_small`: a whole small file in one frame. A client may send many
//! without waiting; each is read, verified and given its quota here, then
//! waits in the session's [`SmallBatch`]. The batch is committed (one
//! durability step for all its files, see `Home::commit_small_batch`) when
//! the client has sent nothing more for now, when it is full, or before
//! any other request; only then is each answered, in order. A file is
//! never reported committed before it is durable.
//!
//! The commit runs on the blocking pool while the session goes on reading
//! the next batch (group commit): the network and the disk overlap, and a
//! batch grows for as long as the one before it takes. At most one batch
//! is in flight ([`Committing`]); the next one starts only after it is
//! answered, so answers keep the order of the requests, and a batch sees
//! every file of the batches before it in place.

use super::{resolve, shown};
use crate::audit::TransferRecord;
use crate::connection::{Connection, Fatal};
use crate::error::CommandError;
use crate::quota::Reservation;
use crate::session::{Session, Shared};
use crate::staging::{SmallFile, SourceAttributes};
use bytes::Bytes;
use netdisk_proto::request::{PutSmall, PUT_SMALL_MAX};
use netdisk_proto::response::PutDone;
use netdisk_proto::{ErrorCode, Frame, HomePath, Message};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;

/// A batch is committed once it holds this many files...
const BATCH_FILES: usize = 1024;
/// ...or this many bytes (what a session may hold in memory for it).
const BATCH_BYTES: u64 = 4 * 1024 * 1024;

/// The server-wide room for waiting bodies, in KiB permits: never less
/// than one largest body (a session must always be able to get room once
/// the others have committed), never more than a semaphore holds.
pub(crate) fn budget(bytes: u64) -> usize {
    let kib = usize::try_from(bytes / 1024).unwrap_or(usize::MAX);
    kib.clamp(
        kib_of(PUT_SMALL_MAX) as usize,
        tokio::sync::Semaphore::MAX_PERMITS,
    )
}

/// KiB permits a body of `size` bytes takes (at least one).
fn kib_of(size: u64) -> u32 {
    u32::try_from(size.div_ceil(1024).max(1)).unwrap_or(u32::MAX)
}

/// Small uploads received, waiting for their batch's commit.
#[derive(Default)]
pub(crate) struct SmallBatch {
    /// Every request, in order, with what it is waiting for.
    entries: Vec<Entry>,
    /// The files of the entries still to commit, in the same order.
    files: Vec<SmallFile>,
    bytes: u64,
    /// The user's quota, looked up once per batch.
    quota: Option<Option<u64>>,
}

struct Entry {
    id: u64,
    record: TransferRecord,
    state: State,
}

enum State {
    /// Refused before the commit; the answer is this error.
    Refused(CommandError),
    /// Its file is in `files`; the answer depends on the commit.
    Pending {
        path: String,
        size: u64,
        blake3: String,
        reservation: Reservation,
        /// Its share of the server-wide room, given back with the entry.
        _room: OwnedSemaphorePermit,
    },
}

impl SmallBatch {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.entries.len() >= BATCH_FILES || self.bytes >= BATCH_BYTES
    }
}

/// What `Home::commit_small_batch` gives back: per file, the bytes it replaced.
type BatchResults = Vec<Result<u64, CommandError>>;

/// A batch being committed on the blocking pool, waiting to be answered.
pub(crate) struct Committing {
    entries: Vec<Entry>,
    results: JoinHandle<BatchResults>,
}

/// Waits for the batch in flight to be committed (forever if there is
/// none). Cancel-safe: dropped early, it leaves the commit running; once
/// it has returned, [`answer_committed`] must be called with its result.
pub(crate) async fn committed(
    committing: &mut Option<Committing>,
) -> Result<BatchResults, tokio::task::JoinError> {
    match committing {
        Some(committing) => (&mut committing.results).await,
        None => std::future::pending().await,
    }
}

/// Answers the batch in flight, whose commit [`committed`] saw end.
pub(crate) async fn answer_committed<S: AsyncRead + AsyncWrite + Unpin>(
    joined: Result<BatchResults, tokio::task::JoinError>,
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    let Some(committing) = session.committing.take() else {
        return Ok(());
    };
    let messages = settle_joined(committing.entries, joined, session, shared);
    send_all(messages, conn).await
}

/// Reads a `put_small` and its body, checks it, and queues it.
pub(crate) async fn stage<S: AsyncRead + AsyncWrite + Unpin>(
    req: PutSmall,
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    let mut record = TransferRecord::start("upload", shown(session, &req.path));
    let state = if req.size > PUT_SMALL_MAX {
        skip_body(req.size, conn, shared).await?;
        State::Refused(CommandError::new(
            ErrorCode::TooLarge,
            format!(
                "put_small carries at most {PUT_SMALL_MAX} bytes ({} sent); use put",
                req.size
            ),
        ))
    } else {
        let room = make_room(req.size, session, conn, shared).await?;
        let (body, hash) = read_body(req.size, conn, shared).await?;
        record.bytes = req.size;
        record.blake3 = Some(hash.clone());
        match check(&req, &hash, session, shared).await {
            Ok((target, reservation)) => {
                let batch = &mut session.batch;
                batch.bytes += req.size;
                batch.files.push(SmallFile {
                    target: target.clone(),
                    body,
                    attributes: SourceAttributes {
                        modified: req.modified,
                        mode: req.mode,
                    },
                });
                State::Pending {
                    path: target.to_string(),
                    size: req.size,
                    blake3: hash,
                    reservation,
                    _room: room,
                }
            }
            Err(error) => State::Refused(error),
        }
    };
    session.batch.entries.push(Entry {
        id: req.id,
        record,
        state,
    });
    Ok(())
}

/// Takes room for a body of `size` bytes from the server-wide budget.
/// When there is none, this session's batch is committed first (giving
/// back its own share), then it waits for others to commit theirs; a
/// session never waits while holding room.
async fn make_room<S: AsyncRead + AsyncWrite + Unpin>(
    size: u64,
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<OwnedSemaphorePermit, Fatal> {
    let permits = kib_of(size);
    if let Ok(room) = shared.small_bodies.clone().try_acquire_many_owned(permits) {
        return Ok(room);
    }
    // Give back all this session holds: the batch in flight and this one.
    commit(session, conn, shared).await?;
    shared
        .small_bodies
        .clone()
        .acquire_many_owned(permits)
        .await
        .map_err(|_| Fatal::ShuttingDown)
}

/// The target, the hash and the quota.
async fn check(
    req: &PutSmall,
    hash: &str,
    session: &mut Session,
    shared: &Shared,
) -> Result<(HomePath, Reservation), CommandError> {
    let target = resolve(session, &req.path)?;
    if req.blake3 != hash {
        return Err(CommandError::new(
            ErrorCode::Integrity,
            format!(
                "{target}: BLAKE3 mismatch (client {}, server {hash}); nothing was stored",
                req.blake3
            ),
        ));
    }
    let quota = match session.batch.quota {
        Some(quota) => quota,
        None => {
            let quota = shared.quota_of(&session.user).await?;
            session.batch.quota = Some(quota);
            quota
        }
    };
    let reservation = match shared.quotas.reserve(&session.user, req.size, 0, quota) {
        Ok(reservation) => reservation,
        // Near the quota, the file it replaces may free enough. Looked up
        // only then (one stat, answered from the kernel's cache), so the
        // usual batch pays nothing for it.
        Err(full) => match session.home.file_size(&target) {
            0 => return Err(full),
            replacing => shared
                .quotas
                .reserve(&session.user, req.size, replacing, quota)?,
        },
    };
    Ok((target, reservation))
}

/// The body (at most PUT_SMALL_MAX bytes) and its BLAKE3. The bytes are
/// copied out of the read buffer: a chunk kept as `Bytes` would keep the
/// whole buffer it came from (up to 256 KiB) alive until the commit.
async fn read_body<S: AsyncRead + AsyncWrite + Unpin>(
    size: u64,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(Vec<u8>, String), Fatal> {
    // Bounded by PUT_SMALL_MAX, checked by the caller.
    let mut body = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    while (body.len() as u64) < size {
        body.extend_from_slice(&body_chunk(conn, shared).await?);
    }
    let hash = blake3::hash(&body).to_hex().to_string();
    Ok((body, hash))
}

/// Reads and drops a refused body, so the connection stays in step.
async fn skip_body<S: AsyncRead + AsyncWrite + Unpin>(
    mut remaining: u64,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    while remaining > 0 {
        remaining -= body_chunk(conn, shared).await?.len() as u64;
    }
    Ok(())
}

async fn body_chunk<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<Bytes, Fatal> {
    match conn.read(shared.config.stall_timeout, "upload").await? {
        Frame::Body(chunk) => Ok(chunk),
        Frame::Message(m) => Err(Fatal::protocol(m.id(), "header inside a put_small body")),
    }
}

/// The connection ended before the batch was committed: nothing of it
/// is stored (the bodies were only in memory) and the reservations go
/// back; each upload gets its audit line.
pub(crate) fn abandon(session: &mut Session, shared: &Shared) {
    for entry in std::mem::take(&mut session.batch).entries {
        entry
            .record
            .write(&shared.audit, session.peer, &session.user);
    }
}

/// Commits the session's batch and answers each of its requests, in
/// order, after the batch in flight: when this returns, nothing waits.
pub(crate) async fn commit<S: AsyncRead + AsyncWrite + Unpin>(
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    start_commit(session, conn, shared).await?;
    finish_commit(session, conn, shared).await
}

/// Answers the batch in flight (waiting for it), then starts committing
/// the session's batch on the blocking pool without waiting for it.
pub(crate) async fn start_commit<S: AsyncRead + AsyncWrite + Unpin>(
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    finish_commit(session, conn, shared).await?;
    if session.batch.is_empty() {
        return Ok(());
    }
    let SmallBatch { entries, files, .. } = std::mem::take(&mut session.batch);
    if files.is_empty() {
        // Every request was refused: nothing to commit, answer now.
        let messages = settle(entries, Vec::new(), session, shared);
        return send_all(messages, conn).await;
    }
    let home = session.home.clone();
    let partials = session.partials.clone();
    session.committing = Some(Committing {
        entries,
        results: tokio::task::spawn_blocking(move || home.commit_small_batch(files, &partials)),
    });
    Ok(())
}

/// Waits for the batch in flight, if any, and answers its requests.
pub(crate) async fn finish_commit<S: AsyncRead + AsyncWrite + Unpin>(
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    if session.committing.is_none() {
        return Ok(());
    }
    let joined = committed(&mut session.committing).await;
    answer_committed(joined, session, conn, shared).await
}

/// The connection ended with a batch in flight: its files may be in place,
/// so the space is accounted and the audit lines written; nobody is left
/// to answer.
pub(crate) async fn finish_unanswered(session: &mut Session, shared: &Shared) {
    if let Some(committing) = session.committing.take() {
        settle_committed(committing, session, shared).await;
    }
}

async fn settle_committed(
    committing: Committing,
    session: &Session,
    shared: &Shared,
) -> Vec<Message> {
    let joined = committing.results.await;
    settle_joined(committing.entries, joined, session, shared)
}

fn settle_joined(
    entries: Vec<Entry>,
    joined: Result<BatchResults, tokio::task::JoinError>,
    session: &Session,
    shared: &Shared,
) -> Vec<Message> {
    // One result per entry whose file went to the commit.
    let files = entries
        .iter()
        .filter(|entry| matches!(entry.state, State::Pending { .. }))
        .count();
    let results = joined.unwrap_or_else(|e| {
        let failed = CommandError::new(ErrorCode::Internal, format!("worker failed: {e}"));
        vec![Err(failed); files]
    });
    tracing::debug!(user = %session.user, files, "small uploads committed");
    settle(entries, results, session, shared)
}

/// Settles each request's space and writes its audit line; returns the
/// answers, in order.
fn settle(
    entries: Vec<Entry>,
    results: BatchResults,
    session: &Session,
    shared: &Shared,
) -> Vec<Message> {
    let mut results = results.into_iter();
    let mut messages = Vec::with_capacity(entries.len());
    for Entry {
        id,
        mut record,
        state,
    } in entries
    {
        let message = match state {
            State::Refused(error) => error.into_message(id),
            State::Pending {
                path,
                size,
                blake3,
                reservation,
                ..
            } => match results.next() {
                Some(Ok(replaced)) => {
                    reservation.settle(size, replaced);
                    Message::PutDone(PutDone {
                        id,
                        path,
                        size,
                        blake3,
                    })
                }
                // Dropping the reservation gives the space back.
                Some(Err(error)) => error.into_message(id),
                None => {
                    CommandError::new(ErrorCode::Internal, "batch result missing").into_message(id)
                }
            },
        };
        record.result = match &message {
            Message::Error(e) => e.code.as_str(),
            _ => "ok",
        };
        record.write(&shared.audit, session.peer, &session.user);
        messages.push(message);
    }
    messages
}

async fn send_all<S: AsyncRead + AsyncWrite + Unpin>(
    messages: Vec<Message>,
    conn: &mut Connection<S>,
) -> Result<(), Fatal> {
    for message in &messages {
        conn.send(message).await?;
    }
    Ok(())
}

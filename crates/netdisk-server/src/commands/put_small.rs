//! `put_small`: a whole small file in one frame. A client may send many
//! without waiting; each is read, verified and given its quota here, then
//! waits in the session's [`SmallBatch`]. The batch is committed (one
//! durability step for all its files, by the store) when
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
use crate::connection::{Connection, Fatal};
use crate::error::CommandError;
use crate::peer_stream::PeerStream;
use crate::session::{Session, Shared};
use bytes::Bytes;
use netdisk_proto::request::{PutSmall, PUT_SMALL_MAX};
use netdisk_proto::{ErrorCode, Frame, Message};
use netdisk_store::{BatchResults, SmallFile, SmallPending, SourceAttributes, TransferRecord};
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
    state: State,
}

enum State {
    /// Refused before the commit (and audited); the answer is this error.
    Refused(CommandError),
    /// Its file is in `files`; the answer depends on the commit.
    Pending {
        pending: Box<SmallPending>,
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
pub(crate) async fn answer_committed<S: PeerStream>(
    joined: Result<BatchResults, tokio::task::JoinError>,
    session: &mut Session,
    conn: &mut Connection<S>,
) -> Result<(), Fatal> {
    let Some(committing) = session.committing.take() else {
        return Ok(());
    };
    let messages = settle_joined(committing.entries, joined, session);
    send_all(messages, conn).await
}

/// Reads a `put_small` and its body, checks it, and queues it.
pub(crate) async fn stage<S: PeerStream>(
    req: PutSmall,
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    let mut record = TransferRecord::start("upload", shown(session, &req.path));
    let state = if req.size > PUT_SMALL_MAX {
        skip_body(req.size, conn, shared).await?;
        let err = CommandError::new(
            ErrorCode::TooLarge,
            format!(
                "put_small carries at most {PUT_SMALL_MAX} bytes ({} sent); use put",
                req.size
            ),
        );
        record.bytes = req.size;
        record.result = err.code.as_str();
        session.space.record_refused(&record);
        State::Refused(err)
    } else {
        let room = make_room(req.size, session, conn, shared).await?;
        let body = read_body(conn, shared).await?;
        match check(&req, body, session).await {
            Ok((file, pending)) => {
                let batch = &mut session.batch;
                batch.bytes += req.size;
                batch.files.push(file);
                State::Pending {
                    pending: Box::new(pending),
                    _room: room,
                }
            }
            Err(error) => State::Refused(error),
        }
    };
    session.batch.entries.push(Entry { id: req.id, state });
    Ok(())
}

/// Takes room for a body of `size` bytes from the server-wide budget.
/// When there is none, this session's batch is committed first (giving
/// back its own share), then it waits for others to commit theirs; a
/// session never waits while holding room.
async fn make_room<S: PeerStream>(
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
    commit(session, conn).await?;
    shared
        .small_bodies
        .clone()
        .acquire_many_owned(permits)
        .await
        .map_err(|_| Fatal::ShuttingDown)
}

/// The target, then the store checks the hash and the quota; either
/// refusal is audited.
async fn check(
    req: &PutSmall,
    body: Vec<u8>,
    session: &mut Session,
) -> Result<(SmallFile, SmallPending), CommandError> {
    let target = match resolve(session, &req.path) {
        Ok(target) => target,
        Err(err) => {
            let mut record = TransferRecord::start("upload", shown(session, &req.path));
            record.bytes = req.size;
            record.result = err.code.as_str();
            session.space.record_refused(&record);
            return Err(err);
        }
    };
    let quota = match session.batch.quota {
        Some(quota) => quota,
        None => {
            let quota = session.space.quota().await?;
            session.batch.quota = Some(quota);
            quota
        }
    };
    let attributes = SourceAttributes {
        modified: req.modified,
        mode: req.mode,
    };
    Ok(session
        .space
        .accept_small(&target, body, &req.blake3, attributes, quota)
        .await?)
}

/// The body (at most PUT_SMALL_MAX bytes, checked by the caller), read
/// into a buffer of its own: a chunk kept as `Bytes` would keep the whole
/// read buffer it came from (up to 256 KiB) alive until the commit.
async fn read_body<S: PeerStream>(
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<Vec<u8>, Fatal> {
    let mut body = Vec::new();
    conn.read_body_into(&mut body, shared.config.stall_timeout, "upload")
        .await?;
    Ok(body)
}

/// Reads and drops a refused body, so the connection stays in step.
async fn skip_body<S: PeerStream>(
    mut remaining: u64,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    while remaining > 0 {
        remaining -= body_chunk(conn, shared).await?.len() as u64;
    }
    Ok(())
}

async fn body_chunk<S: PeerStream>(
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<Bytes, Fatal> {
    match conn.read(shared.config.stall_timeout, "upload").await? {
        Frame::Body(chunk) => Ok(chunk),
        Frame::Message(m) => Err(Fatal::protocol(m.id(), "header inside a put_small body")),
    }
}

/// The connection ended before the batch was committed: nothing of it
/// is stored (the bodies were only in memory); dropping the entries gives
/// the reservations back and audits each upload as interrupted.
pub(crate) fn abandon(session: &mut Session) {
    session.batch = SmallBatch::default();
}

/// Commits the session's batch and answers each of its requests, in
/// order, after the batch in flight: when this returns, nothing waits.
pub(crate) async fn commit<S: PeerStream>(
    session: &mut Session,
    conn: &mut Connection<S>,
) -> Result<(), Fatal> {
    start_commit(session, conn).await?;
    finish_commit(session, conn).await
}

/// Answers the batch in flight (waiting for it), then starts committing
/// the session's batch on the blocking pool without waiting for it.
pub(crate) async fn start_commit<S: PeerStream>(
    session: &mut Session,
    conn: &mut Connection<S>,
) -> Result<(), Fatal> {
    finish_commit(session, conn).await?;
    if session.batch.is_empty() {
        return Ok(());
    }
    let SmallBatch { entries, files, .. } = std::mem::take(&mut session.batch);
    if files.is_empty() {
        // Every request was refused: nothing to commit, answer now.
        let messages = settle(entries, Vec::new());
        return send_all(messages, conn).await;
    }
    session.committing = Some(Committing {
        entries,
        results: session.space.commit_small(files),
    });
    Ok(())
}

/// Waits for the batch in flight, if any, and answers its requests.
async fn finish_commit<S: PeerStream>(
    session: &mut Session,
    conn: &mut Connection<S>,
) -> Result<(), Fatal> {
    if session.committing.is_none() {
        return Ok(());
    }
    let joined = committed(&mut session.committing).await;
    answer_committed(joined, session, conn).await
}

/// The connection ended with a batch in flight: its files may be in place,
/// so the space is accounted and the audit lines written; nobody is left
/// to answer.
pub(crate) async fn finish_unanswered(session: &mut Session) {
    if let Some(committing) = session.committing.take() {
        let joined = committing.results.await;
        settle_joined(committing.entries, joined, session);
    }
}

fn settle_joined(
    entries: Vec<Entry>,
    joined: Result<BatchResults, tokio::task::JoinError>,
    session: &Session,
) -> Vec<Message> {
    // One result per entry whose file went to the commit.
    let files = entries
        .iter()
        .filter(|entry| matches!(entry.state, State::Pending { .. }))
        .count();
    let results = joined.unwrap_or_else(|e| {
        let failed = netdisk_store::StoreError::new(
            netdisk_store::ErrorKind::Internal,
            format!("worker failed: {e}"),
        );
        vec![Err(failed); files]
    });
    tracing::debug!(user = %session.space.user(), files, "small uploads committed");
    settle(entries, results)
}

/// Settles each request's space (the store writes its audit line);
/// returns the answers, in order.
fn settle(entries: Vec<Entry>, results: BatchResults) -> Vec<Message> {
    let mut results = results.into_iter();
    entries
        .into_iter()
        .map(|Entry { id, state }| match state {
            State::Refused(error) => error.into_message(id),
            State::Pending { pending, .. } => {
                let result = results.next().unwrap_or_else(|| {
                    Err(netdisk_store::StoreError::new(
                        netdisk_store::ErrorKind::Internal,
                        "batch result missing",
                    ))
                });
                match pending.settle(result) {
                    Ok(done) => super::put_done(id, done),
                    Err(err) => super::refusal(err, id),
                }
            }
        })
        .collect()
}

async fn send_all<S: PeerStream>(
    messages: Vec<Message>,
    conn: &mut Connection<S>,
) -> Result<(), Fatal> {
    // One flush for the whole batch: its answers share writes.
    for message in &messages {
        conn.feed(message).await?;
    }
    conn.flush().await
}

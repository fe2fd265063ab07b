//! The server side of each request type: one file per command. Simple
//! commands return one response; `put` and `get` stream a body.

mod cd;
mod df;
mod get;
mod ls;
mod mkdir;
mod mv;
mod partial_rm;
mod partials;
mod put;
pub(crate) mod put_small;
mod pwd;
mod rm;
mod rmdir;
mod share_add;
mod share_rm;
mod shares;
mod stat;
mod token_add;
mod token_rm;
mod tokens;
mod trash;
mod trash_purge;
mod trash_restore;
mod version_restore;
mod versions;
mod versions_purge;

use crate::connection::{Connection, Fatal};
use crate::error::CommandError;
use crate::peer_stream::PeerStream;
use crate::session::{Session, Shared};
use netdisk_proto::Message;

/// Runs one request and sends its response. A failed request becomes an
/// `error` frame and the session goes on; only protocol violations and
/// broken connections end it.
pub(crate) async fn dispatch<S: PeerStream>(
    message: Message,
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    let id = message.id();
    let result = match message {
        Message::Pwd(req) => pwd::apply(req, session),
        Message::Cd(req) => cd::apply(req, session).await,
        Message::Ls(req) => return ls::apply(req, session, conn).await,
        Message::Stat(req) => stat::apply(req, session).await,
        Message::Mkdir(req) => mkdir::apply(req, session).await,
        Message::Rm(req) => rm::apply(req, session).await,
        Message::Rmdir(req) => rmdir::apply(req, session).await,
        Message::Mv(req) => mv::apply(req, session).await,
        Message::Df(req) => df::apply(req, session).await,
        Message::Partials(req) => partials::apply(req, session).await,
        Message::PartialRm(req) => partial_rm::apply(req, session).await,
        Message::ShareAdd(req) => share_add::apply(req, session, shared).await,
        Message::Shares(req) => shares::apply(req, session, shared).await,
        Message::ShareRm(req) => share_rm::apply(req, session).await,
        Message::TokenAdd(req) => token_add::apply(req, session, shared).await,
        Message::Tokens(req) => tokens::apply(req, session, shared).await,
        Message::TokenRm(req) => token_rm::apply(req, session, shared).await,
        Message::Trash(req) => trash::apply(req, session).await,
        Message::TrashRestore(req) => trash_restore::apply(req, session).await,
        Message::TrashPurge(req) => trash_purge::apply(req, session).await,
        Message::Versions(req) => versions::apply(req, session).await,
        Message::VersionRestore(req) => version_restore::apply(req, session).await,
        Message::VersionsPurge(req) => versions_purge::apply(req, session).await,
        // A transfer's state (hashers, buffers, the store's handles) is
        // kilobytes: boxed, it is on the heap only while the transfer
        // runs, not in every idle connection's task.
        Message::Put(req) => return Box::pin(put::apply(req, session, conn, shared)).await,
        Message::Get(req) => return Box::pin(get::apply(req, session, conn)).await,
        other => {
            return Err(Fatal::protocol(
                id,
                format!(
                    "{} is not a request a logged-in client can send",
                    other.type_name()
                ),
            ))
        }
    };
    let response = match result {
        Ok(response) => response,
        Err(err) => err.into_message(id.unwrap_or_default()),
    };
    conn.send(&response).await
}

/// Work on the user database, off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, netdisk_store::StoreError> + Send + 'static,
) -> Result<T, CommandError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CommandError::new(netdisk_proto::ErrorCode::Internal, format!("worker: {e}")))?
        .map_err(CommandError::from)
}

/// A client path as the audit log shows it: resolved ("~/a/b") when it
/// can be, else as sent, escaped.
pub(crate) fn shown(session: &Session, path: &str) -> String {
    match session.cwd.resolve(path) {
        Ok(resolved) => resolved.to_string(),
        Err(_) => path.escape_debug().to_string(),
    }
}

/// The answer to request `id` once its upload is committed.
pub(crate) fn put_done(id: u64, done: netdisk_store::Committed) -> Message {
    Message::PutDone(netdisk_proto::response::PutDone {
        id,
        path: done.path.to_string(),
        size: done.size,
        blake3: done.blake3,
    })
}

/// A store's refusal as an `error` frame answering request `id`.
pub(crate) fn refusal(err: netdisk_store::StoreError, id: u64) -> Message {
    CommandError::from(err).into_message(id)
}

/// Resolves a client path against the session's directory; a refusal names the path.
pub(crate) fn resolve(
    session: &Session,
    path: &str,
) -> Result<netdisk_proto::HomePath, CommandError> {
    session.cwd.resolve(path).map_err(|err| {
        // Hostile paths may hold control characters; show them escaped.
        let shown: String = path.chars().take(64).collect();
        CommandError::new(err.code(), format!("{}: {err}", shown.escape_debug()))
    })
}

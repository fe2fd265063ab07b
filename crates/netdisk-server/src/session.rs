//! A logged-in session: the user's space in the store, the current
//! directory, and the loop that reads requests and runs them in order.

use crate::commands::dispatch;
use crate::commands::put_small::{self, Committing, SmallBatch};
use crate::config::ServerConfig;
use crate::connection::{Connection, Fatal};
use crate::login::LoggedIn;
use crate::peer_stream::PeerStream;
use crate::tls::ServerTls;
use netdisk_proto::HomePath;
use netdisk_proto::Message;
use netdisk_store::{Space, Store};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// State shared by every connection of one server.
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) config: ServerConfig,
    /// `None` in plaintext mode.
    pub(crate) tls: Option<Arc<ServerTls>>,
    /// Room for `put_small` bodies waiting for their commit, in KiB.
    pub(crate) small_bodies: Arc<tokio::sync::Semaphore>,
}

impl Shared {
    pub(crate) fn new(store: Store, config: ServerConfig, tls: Option<Arc<ServerTls>>) -> Shared {
        let small_bodies = Arc::new(tokio::sync::Semaphore::new(put_small::budget(
            config.small_upload_memory,
        )));
        Shared {
            store,
            config,
            tls,
            small_bodies,
        }
    }
}

pub(crate) struct Session {
    /// The user's files, through the store.
    pub(crate) space: Space,
    pub(crate) cwd: HomePath,
    /// `put_small` uploads waiting for their batch's commit.
    pub(crate) batch: SmallBatch,
    /// The batch before it, being committed.
    pub(crate) committing: Option<Committing>,
}

pub(crate) async fn serve_requests<S: PeerStream>(
    conn: &mut Connection<S>,
    shared: &Shared,
    user: LoggedIn,
    cancel: &CancellationToken,
) -> Result<(), Fatal> {
    let space = shared
        .store
        .space(&user.name, user.peer)
        .await
        .map_err(|e| Fatal::Io(std::io::Error::other(e.message)))?;
    let mut session = Session {
        space,
        cwd: HomePath::home(),
        batch: SmallBatch::default(),
        committing: None,
    };
    let ended = serve_session(&mut session, conn, shared, cancel).await;
    put_small::finish_unanswered(&mut session).await;
    if !session.batch.is_empty() {
        put_small::abandon(&mut session);
    }
    ended
}

/// Reads requests and runs them in order until the connection ends.
async fn serve_session<S: PeerStream>(
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
    cancel: &CancellationToken,
) -> Result<(), Fatal> {
    loop {
        let message = match conn.request_ready() {
            // The client sent nothing more for now (or closed its side,
            // perhaps still reading). Commit what waits, unless a batch is
            // still being committed: then this one grows until that ends
            // (group commit). Meanwhile wait for the next request or the
            // commit, whichever comes first.
            None | Some(Err(Fatal::Closed)) => {
                if session.committing.is_none() {
                    put_small::start_commit(session, conn).await?;
                }
                // Answers queued for pipelined requests go out before
                // waiting (after the commit has started: a peer gone
                // meanwhile must not keep received files from it).
                conn.flush().await?;
                conn.release_buffers();
                // Shutdown is only checked between requests: a running transfer finishes.
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => {
                        // Uploads received are committed and answered before leaving.
                        put_small::commit(session, conn).await?;
                        return Err(Fatal::ShuttingDown);
                    }
                    joined = put_small::committed(&mut session.committing) => {
                        put_small::answer_committed(joined, session, conn).await?;
                        continue;
                    }
                    message = conn.next_request(shared.config.idle_timeout, shared.config.header_timeout) => match message {
                        Ok(message) => message,
                        // However the session ends, what was received is
                        // committed and answered first (a client that
                        // closed its side may still read its answers).
                        Err(end) => {
                            put_small::commit(session, conn).await?;
                            return Err(end);
                        }
                    },
                }
            }
            Some(message) => message?,
        };
        match message {
            Message::PutSmall(req) => {
                put_small::stage(req, session, conn, shared).await?;
                if session.batch.is_full() {
                    put_small::start_commit(session, conn).await?;
                }
            }
            other => {
                // Answers go out in request order, and what follows sees the files.
                put_small::commit(session, conn).await?;
                dispatch(other, session, conn, shared).await?;
            }
        }
    }
}

//! A logged-in session: who the user is, their jailed home, the current
//! directory, and the loop that reads requests and runs them in order.

use crate::audit::AuditLog;
use crate::commands::dispatch;
use crate::commands::put_small::{self, Committing, SmallBatch};
use crate::config::ServerConfig;
use crate::connection::{Connection, Fatal};
use crate::data_dir::DataDir;
use crate::error::CommandError;
use crate::home::{Home, OpenHomes};
use crate::login::LoggedIn;
use crate::quota::QuotaBook;
use crate::staging::{ActivePartials, PartialRelease};
use crate::throttle::LoginThrottle;
use crate::tls::ServerTls;
use crate::users::UserDb;
use netdisk_proto::HomePath;
use netdisk_proto::{ErrorCode, Message};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

/// State shared by every connection of one server.
pub(crate) struct Shared {
    pub(crate) data: DataDir,
    pub(crate) users: Arc<UserDb>,
    pub(crate) config: ServerConfig,
    /// Keys the made-up verifiers of unknown users (see `login`); kept in
    /// the user database so an unknown user's salt survives restarts too.
    pub(crate) decoy_key: [u8; 32],
    pub(crate) quotas: Arc<QuotaBook>,
    pub(crate) active: Arc<ActivePartials>,
    /// `None` in plaintext mode.
    pub(crate) tls: Option<ServerTls>,
    pub(crate) audit: AuditLog,
    pub(crate) throttle: LoginThrottle,
    pub(crate) homes: OpenHomes,
    /// Room for `put_small` bodies waiting for their commit, in KiB.
    pub(crate) small_bodies: Arc<tokio::sync::Semaphore>,
}

impl Shared {
    pub(crate) fn new(
        data: DataDir,
        users: UserDb,
        config: ServerConfig,
        decoy_key: [u8; 32],
        tls: Option<ServerTls>,
        audit: AuditLog,
    ) -> Shared {
        let small_bodies = Arc::new(tokio::sync::Semaphore::new(put_small::budget(
            config.small_upload_memory,
        )));
        Shared {
            data,
            users: Arc::new(users),
            throttle: LoginThrottle::new(config.max_login_failures, config.lockout),
            config,
            decoy_key,
            quotas: Arc::default(),
            active: Arc::default(),
            tls,
            audit,
            homes: OpenHomes::default(),
            small_bodies,
        }
    }

    /// The user's quota now (it may change while the server runs):
    /// their own, else the server's default; `None` is unlimited.
    pub(crate) async fn quota_of(&self, user: &str) -> Result<Option<u64>, CommandError> {
        let users = self.users.clone();
        let name = user.to_owned();
        let own = tokio::task::spawn_blocking(move || users.credentials(&name))
            .await
            .map_err(|e| CommandError::new(ErrorCode::Internal, e.to_string()))?
            .map_err(|e| CommandError::new(ErrorCode::Internal, e.to_string()))?
            .and_then(|(_, quota)| quota);
        Ok(own.or(self.config.default_quota))
    }
}

pub(crate) struct Session {
    pub(crate) user: String,
    pub(crate) peer: std::net::SocketAddr,
    pub(crate) home: Home,
    pub(crate) cwd: HomePath,
    /// `put_small` uploads waiting for their batch's commit.
    pub(crate) batch: SmallBatch,
    /// The batch before it, being committed.
    pub(crate) committing: Option<Committing>,
    /// For commits: the user's kept partials they may release.
    pub(crate) partials: PartialRelease,
}

pub(crate) async fn serve_requests<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Connection<S>,
    shared: &Shared,
    user: LoggedIn,
    cancel: &CancellationToken,
) -> Result<(), Fatal> {
    let home = shared.homes.open(
        &user.name,
        &shared.data.home(&user.name),
        &shared.data.staging(&user.name),
    )?;
    if !shared.quotas.is_loaded(&user.name) {
        // Measured once per server run; every change after is tracked.
        let used = home
            .run(|home| Ok(home.usage()? + home.kept_partial_bytes()))
            .await;
        shared.quotas.load(&user.name, used.unwrap_or(0));
    }
    let mut session = Session {
        user: user.name.clone(),
        peer: user.peer,
        home,
        cwd: HomePath::home(),
        batch: SmallBatch::default(),
        committing: None,
        partials: PartialRelease {
            active: shared.active.clone(),
            user: user.name,
        },
    };
    let ended = serve_session(&mut session, conn, shared, cancel).await;
    put_small::finish_unanswered(&mut session, shared).await;
    if !session.batch.is_empty() {
        put_small::abandon(&mut session, shared);
    }
    ended
}

/// Reads requests and runs them in order until the connection ends.
async fn serve_session<S: AsyncRead + AsyncWrite + Unpin>(
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
                    put_small::start_commit(session, conn, shared).await?;
                }
                conn.release_buffers();
                // Shutdown is only checked between requests: a running transfer finishes.
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => {
                        // Uploads received are committed and answered before leaving.
                        put_small::commit(session, conn, shared).await?;
                        return Err(Fatal::ShuttingDown);
                    }
                    joined = put_small::committed(&mut session.committing) => {
                        put_small::answer_committed(joined, session, conn, shared).await?;
                        continue;
                    }
                    message = conn.next_request(shared.config.idle_timeout, shared.config.header_timeout) => match message {
                        Ok(message) => message,
                        // However the session ends, what was received is
                        // committed and answered first (a client that
                        // closed its side may still read its answers).
                        Err(end) => {
                            put_small::commit(session, conn, shared).await?;
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
                    put_small::start_commit(session, conn, shared).await?;
                }
            }
            other => {
                // Answers go out in request order, and what follows sees the files.
                put_small::commit(session, conn, shared).await?;
                dispatch(other, session, conn, shared).await?;
            }
        }
    }
}

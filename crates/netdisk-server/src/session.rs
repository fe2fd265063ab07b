//! A logged-in session: who the user is, their jailed home, the current
//! directory, and the loop that reads requests and runs them in order.

use crate::commands::dispatch;
use crate::config::ServerConfig;
use crate::connection::{Connection, Fatal};
use crate::data_dir::DataDir;
use crate::home::Home;
use crate::login::LoggedIn;
use crate::users::UserDb;
use netdisk_proto::HomePath;
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
}

impl Shared {
    pub(crate) fn new(
        data: DataDir,
        users: UserDb,
        config: ServerConfig,
        decoy_key: [u8; 32],
    ) -> Shared {
        Shared {
            data,
            users: Arc::new(users),
            config,
            decoy_key,
        }
    }
}

pub(crate) struct Session {
    pub(crate) user: String,
    pub(crate) home: Home,
    pub(crate) cwd: HomePath,
}

pub(crate) async fn serve_requests<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Connection<S>,
    shared: &Shared,
    user: LoggedIn,
    cancel: &CancellationToken,
) -> Result<(), Fatal> {
    let home = Home::open(
        &shared.data.home(&user.name),
        &shared.data.staging(&user.name),
    )?;
    let mut session = Session {
        user: user.name,
        home,
        cwd: HomePath::home(),
    };
    loop {
        conn.release_buffers();
        // Shutdown is only checked between requests: a running transfer finishes.
        let message = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Fatal::ShuttingDown),
            message = conn.read_message(shared.config.idle_timeout, "idle session") => message?,
        };
        dispatch(message, &mut session, conn, &shared.config).await?;
    }
}

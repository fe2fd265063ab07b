//! The engine as a whole: the data directory, the user database and
//! logins, the back-end, the quota book, the claims on partials and the
//! audit log, shared by every front-end of one server process.

use crate::audit::{AuditDestination, AuditLog, AuditSink};
use crate::auth::Logins;
use crate::backend::Backend;
use crate::claims::{ActivePartials, PartialRelease};
use crate::data_dir::{DataDir, DataDirError};
use crate::directory::UserDirectory;
use crate::error::{ErrorKind, StoreError};
use crate::local::LocalBackend;
use crate::quota::{QuotaBook, QuotaLedger};
use crate::resumable::ResumableBook;
use crate::retention::Retention;
use crate::shares::{ShareBook, Shares};
use crate::space::Space;
use crate::throttle::{FailureRecords, LoginThrottle, MemoryRecords};
use crate::tokens::{TokenBook, Tokens};
use crate::users::{UserDb, UserDbError};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The engine's settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The data directory (see [`DataDir`]).
    pub root: PathBuf,
    /// Quota for users without one of their own; `None` is unlimited.
    pub default_quota: Option<u64>,
    /// How long the bytes of an interrupted resumable upload are kept.
    pub partial_ttl: Duration,
    pub audit: AuditDestination,
    /// Failed logins (per address, and per user name) before a lockout.
    pub max_login_failures: u32,
    /// How long a lockout lasts; failures older than this are forgotten.
    pub lockout: Duration,
    /// What is kept of deleted and replaced files.
    pub retention: Retention,
}

/// Why the store could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Users(#[from] UserDbError),
    #[error(transparent)]
    Audit(#[from] std::io::Error),
    #[error("user directory: {0}")]
    Directory(#[from] StoreError),
}

/// The engine's secrets from `directory`, read on a thread of their own:
/// a shared directory answers through the async runtime, which `open`
/// (called from async code too) must not block.
fn secrets<const N: usize>(
    directory: &Arc<dyn UserDirectory>,
    names: [&str; N],
) -> Result<[[u8; 32]; N], StoreError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut values = [[0u8; 32]; N];
                for (value, name) in values.iter_mut().zip(names) {
                    *value = directory.secret(name)?;
                }
                Ok(values)
            })
            .join()
            .map_err(|_| StoreError::new(ErrorKind::Internal, "reading the secrets failed"))?
    })
}

/// Where users' files, accounts and the rest of their state live, when
/// not on this machine (the data directory then holds only the audit log
/// and the server's own TLS key).
pub struct Backing {
    pub backend: Box<dyn Backend>,
    pub quotas: Arc<dyn QuotaLedger>,
    /// The users' accounts.
    pub users: Arc<dyn UserDirectory>,
    /// Failed logins, counted where every server sees them.
    pub login_failures: Arc<dyn FailureRecords>,
    /// The HTTP API's tokens.
    pub tokens: Arc<dyn TokenBook>,
    /// Share links.
    pub shares: Arc<dyn ShareBook>,
    /// Resumable uploads by id (tus).
    pub resumables: Arc<dyn ResumableBook>,
    /// Where audit lines go besides the server's own audit log.
    pub audit: Option<Arc<dyn AuditSink>>,
}

/// Cheap to clone: every clone is the same engine.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    /// The data directory's database: the accounts, tokens, share links
    /// and tus uploads unless a `Backing` brings its own.
    pub(crate) users: Arc<UserDb>,
    pub(crate) tokens: Arc<dyn TokenBook>,
    pub(crate) resumables: Arc<dyn ResumableBook>,
    /// Where accounts are read.
    pub(crate) directory: Arc<dyn UserDirectory>,
    pub(crate) logins: Logins,
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) quotas: Arc<dyn QuotaLedger>,
    pub(crate) active: Arc<ActivePartials>,
    pub(crate) audit: AuditLog,
    pub(crate) shares: Shares,
    /// The HTTP gateway's port, 0 while none runs (share links open there).
    http_port: AtomicU16,
    pub(crate) config: StoreConfig,
}

impl Store {
    /// Opens the data directory (creating it on first use) on the local
    /// file system, and removes what a crash left of plain uploads.
    pub fn open(config: StoreConfig) -> Result<Store, OpenError> {
        Store::open_on(config, None)
    }

    /// Opens the data directory as `open` does, with users' files and the
    /// quota in `backing` instead when it is given.
    pub fn open_on(config: StoreConfig, backing: Option<Backing>) -> Result<Store, OpenError> {
        let data = DataDir::open(&config.root)?;
        let users = Arc::new(data.users()?);
        let audit = AuditLog::open(&config.audit, data.root())?;
        let root = data.root().to_owned();
        let backing = match backing {
            Some(backing) => backing,
            None => Backing {
                backend: Box::new(LocalBackend::new(data)),
                quotas: Arc::new(QuotaBook::default()),
                users: users.clone(),
                login_failures: Arc::new(MemoryRecords::default()),
                tokens: users.clone(),
                shares: users.clone(),
                resumables: users.clone(),
                audit: None,
            },
        };
        let audit = audit.with_shared(backing.audit.clone());
        let directory = backing.users.clone();
        let login_failures = backing.login_failures.clone();
        let [decoy_key, unlock_key] = secrets(&directory, ["decoy-verifier", "share-unlock"])?;
        let shares = Shares::new(
            backing.shares.clone(),
            users.iterations(),
            unlock_key,
            // Counted where logins are (shared by a cluster's servers),
            // under keys of their own.
            LoginThrottle::new(
                config.max_login_failures,
                config.lockout,
                login_failures.clone(),
            )
            .scoped("link "),
        );
        // Uploads cut by a crash: plain ones go now, resumable ones when they expire.
        backing
            .backend
            .sweep(config.partial_ttl, &ActivePartials::default(), true);
        Ok(Store {
            inner: Arc::new(Inner {
                root,
                logins: Logins::new(
                    directory.clone(),
                    decoy_key,
                    LoginThrottle::new(config.max_login_failures, config.lockout, login_failures),
                ),
                users,
                tokens: backing.tokens,
                resumables: backing.resumables,
                directory,
                backend: backing.backend,
                quotas: backing.quotas,
                active: Arc::default(),
                audit,
                shares,
                http_port: AtomicU16::new(0),
                config,
            }),
        })
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub fn users(&self) -> &UserDb {
        &self.inner.users
    }

    /// True when there are no users yet.
    pub async fn has_no_users(&self) -> bool {
        let directory = self.inner.directory.clone();
        tokio::task::spawn_blocking(move || directory.is_empty())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false)
    }

    /// The HTTP API's bearer tokens.
    pub fn tokens(&self) -> Tokens {
        Tokens::new(self.inner.tokens.clone())
    }

    pub fn logins(&self) -> &Logins {
        &self.inner.logins
    }

    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// Tells the engine where this process serves HTTP (share links' pages).
    pub fn announce_http_port(&self, port: u16) {
        self.inner.http_port.store(port, Ordering::Relaxed);
    }

    /// The port the HTTP gateway of this process listens on, if one runs.
    pub fn http_port(&self) -> Option<u16> {
        Some(self.inner.http_port.load(Ordering::Relaxed)).filter(|&port| port != 0)
    }

    pub fn partial_ttl(&self) -> Duration {
        self.inner.config.partial_ttl
    }

    /// The logged-in `user`'s files, for requests from `peer`. The first
    /// space of a user in this process measures their usage; every change
    /// after that is tracked.
    pub async fn space(&self, user: &str, peer: SocketAddr) -> Result<Space, StoreError> {
        let inner = self.inner.clone();
        let name = user.to_owned();
        let (home, retention) = tokio::task::spawn_blocking(move || {
            let home = inner.backend.open_home(&name)?;
            let retention = inner.retention_of(&name);
            if !inner.quotas.is_loaded(&name) {
                // No session of this user is under way in this process yet,
                // so nothing is half made on purpose: what is, a crash left.
                home.sweep_kept();
                let kept = home.kept_bytes().unwrap_or_default();
                let used = home.usage().unwrap_or(0)
                    + home.kept_partial_bytes()
                    + kept.trash
                    + kept.versions;
                inner.quotas.load(&name, used);
            }
            Ok::<_, StoreError>((home, retention))
        })
        .await
        .map_err(StoreError::worker)??;
        Ok(Space {
            user: user.to_owned(),
            peer,
            home,
            partials: PartialRelease {
                active: self.inner.active.clone(),
                user: user.to_owned(),
            },
            retention,
            store: self.inner.clone(),
        })
    }

    /// Removes the partial uploads and trash items that expired; returns
    /// how many bytes.
    pub async fn sweep_expired(&self) -> u64 {
        let inner = self.inner.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let mut swept = inner
                .backend
                .sweep(inner.config.partial_ttl, &inner.active, false);
            for (user, bytes) in &swept {
                tracing::info!(%user, bytes, "expired partial uploads removed");
                inner.quotas.freed(user, *bytes);
            }
            swept.extend(inner.expire_trash());
            swept
        })
        .await;
        swept
            .unwrap_or_default()
            .iter()
            .map(|(_, bytes)| bytes)
            .sum()
    }
}

impl Inner {
    /// The user's trash and versions settings: theirs, else the server's.
    fn retention_of(&self, user: &str) -> Retention {
        match self.directory.retention_of(user) {
            Ok(own) => own.over(self.config.retention),
            Err(e) => {
                tracing::warn!(%user, error = %e, "cannot read the user's retention; the server's applies");
                self.config.retention
            }
        }
    }

    /// Deletes every user's trash items older than their trash keeps them
    /// (a trash that is off keeps nothing: what is left in it goes).
    fn expire_trash(&self) -> Vec<(String, u64)> {
        let users = match self.directory.list() {
            Ok(users) => users,
            Err(e) => {
                tracing::warn!(error = %e, "trash expiry: cannot list users");
                return Vec::new();
            }
        };
        let mut swept = Vec::new();
        for user in users {
            let keep = self.retention_of(&user.name).keep_trash.as_secs();
            let keep = i64::try_from(keep).unwrap_or(i64::MAX);
            let before = crate::unix_now().saturating_sub(keep);
            let freed = self
                .backend
                .open_home(&user.name)
                .and_then(|home| home.expire_trash(before));
            match freed {
                Ok(0) => {}
                Ok(bytes) => {
                    tracing::info!(user = %user.name, bytes, "expired trash removed");
                    self.quotas.freed(&user.name, bytes);
                    swept.push((user.name, bytes));
                }
                Err(e) => tracing::warn!(user = %user.name, error = %e, "trash expiry failed"),
            }
        }
        swept
    }

    /// The user's quota now (it may change while the server runs):
    /// their own, else the default; `None` is unlimited.
    pub(crate) async fn quota_of(&self, user: &str) -> Result<Option<u64>, StoreError> {
        let directory = self.directory.clone();
        let name = user.to_owned();
        let own = tokio::task::spawn_blocking(move || directory.credentials(&name))
            .await
            .map_err(StoreError::worker)??
            .and_then(|(_, quota)| quota);
        Ok(own.or(self.config.default_quota))
    }
}

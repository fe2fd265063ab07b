//! Server settings, with the defaults `netdisk serve` uses.

use netdisk_proto::SiteKey;
pub use netdisk_store::{AuditDestination, Retention};
use std::path::PathBuf;
use std::time::Duration;

/// How connections are protected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Transport {
    /// TLS 1.3 with the data directory's own certificate (`ROOT/tls/`),
    /// generated on first start.
    #[default]
    Tls,
    /// TLS 1.3 with the operator's certificate chain and key (PEM files).
    TlsWith { cert: PathBuf, key: PathBuf },
    /// No encryption: only for loopback or a network that is already private.
    Plaintext,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The data directory (see [`crate::DataDir`]).
    pub root: PathBuf,
    /// Address to listen on, e.g. "0.0.0.0:7420" or "127.0.0.1:0".
    pub listen: String,
    pub transport: Transport,
    /// When set, clients must prove they hold this key before logging in.
    pub site_key: Option<SiteKey>,
    /// Connections served at once; one more gets a `busy` error and is closed.
    pub max_connections: usize,
    /// Connections served at once from one IP address.
    pub max_connections_per_ip: usize,
    /// Time from hello to a completed login. (The TLS handshake before it
    /// gets at most this too, and never more than 10 s.)
    pub login_timeout: Duration,
    /// Time a logged-in session may sit between requests.
    pub idle_timeout: Duration,
    /// Time the rest of a request header may take once its first bytes came.
    pub header_timeout: Duration,
    /// Failed logins (per address, and per user name) before a lockout.
    pub max_login_failures: u32,
    /// How long a lockout lasts; failures older than this are forgotten.
    pub lockout: Duration,
    pub audit: AuditDestination,
    /// Time a transfer may go without receiving a single byte.
    pub stall_timeout: Duration,
    /// How long running requests may take to finish after a shutdown signal.
    pub grace_period: Duration,
    /// How long the bytes of an interrupted resumable upload are kept.
    pub partial_ttl: Duration,
    /// Quota for users without one of their own; `None` is unlimited.
    pub default_quota: Option<u64>,
    /// Bytes of `put_small` bodies all sessions together may hold while
    /// they wait for their batch's commit (each session also holds at most
    /// 4 MiB). A session that would go over commits what it holds, then
    /// waits for room.
    pub small_upload_memory: u64,
    /// What is kept of deleted and replaced files (trash, versions).
    pub retention: Retention,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            root: PathBuf::from(netdisk_store::DEFAULT_ROOT),
            listen: format!("0.0.0.0:{}", netdisk_proto::DEFAULT_PORT),
            transport: Transport::default(),
            site_key: None,
            max_connections: 1024,
            max_connections_per_ip: 64,
            login_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(600),
            header_timeout: Duration::from_secs(10),
            max_login_failures: 10,
            lockout: Duration::from_secs(15 * 60),
            audit: AuditDestination::default(),
            stall_timeout: Duration::from_secs(60),
            grace_period: Duration::from_secs(30),
            partial_ttl: Duration::from_secs(24 * 3600),
            default_quota: None,
            small_upload_memory: 256 * 1024 * 1024,
            retention: Retention::default(),
        }
    }
}

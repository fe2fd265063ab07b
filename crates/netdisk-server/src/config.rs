//! Server settings, with the defaults `netdisk serve` uses.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The data directory (see [`crate::DataDir`]).
    pub root: PathBuf,
    /// Address to listen on, e.g. "0.0.0.0:7420" or "127.0.0.1:0".
    pub listen: String,
    /// Connections served at once; one more gets a `busy` error and is closed.
    pub max_connections: usize,
    /// Time from connect to a completed login.
    pub login_timeout: Duration,
    /// Time a logged-in session may sit between requests.
    pub idle_timeout: Duration,
    /// Time a transfer may go without receiving a single byte.
    pub stall_timeout: Duration,
    /// How long running requests may take to finish after a shutdown signal.
    pub grace_period: Duration,
    /// How long the bytes of an interrupted resumable upload are kept.
    pub partial_ttl: Duration,
    /// Quota for users without one of their own; `None` is unlimited.
    pub default_quota: Option<u64>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            root: PathBuf::from(crate::data_dir::DEFAULT_ROOT),
            listen: format!("0.0.0.0:{}", netdisk_proto::DEFAULT_PORT),
            max_connections: 1024,
            login_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(600),
            stall_timeout: Duration::from_secs(60),
            grace_period: Duration::from_secs(30),
            partial_ttl: Duration::from_secs(24 * 3600),
            default_quota: None,
        }
    }
}

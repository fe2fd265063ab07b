//! The gateway's settings, with the defaults `netdisk serve --http` uses.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Address to listen on, e.g. "0.0.0.0:7480" or "127.0.0.1:0".
    pub listen: String,
    /// Connections served at once; one more is closed at once.
    pub max_connections: usize,
    /// Connections served at once from one IPv4 address or IPv6 /64.
    pub max_connections_per_ip: usize,
    /// Time a request's header may take, and a kept-alive connection may
    /// wait for the next one (a trickled header is cut).
    pub header_timeout: Duration,
    /// Time an upload's body may go without a single byte arriving.
    pub stall_timeout: Duration,
    /// How long a login's session token is valid.
    pub session_lifetime: Duration,
    /// How long a login's refresh token is valid (it works once).
    pub refresh_lifetime: Duration,
    /// How long running requests may take to finish after a shutdown signal.
    pub grace_period: Duration,
}

/// The port `--http` suggests: the native port's neighbour family (7420).
pub const DEFAULT_HTTP_PORT: u16 = 7480;

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: format!("0.0.0.0:{DEFAULT_HTTP_PORT}"),
            max_connections: 1024,
            max_connections_per_ip: 64,
            header_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(60),
            session_lifetime: Duration::from_secs(12 * 3600),
            refresh_lifetime: Duration::from_secs(30 * 24 * 3600),
            grace_period: Duration::from_secs(30),
        }
    }
}

//! The netdisk server, the native protocol's front-end over the storage
//! engine (`netdisk-store`): a listener with a connection limit and
//! graceful shutdown, one task per connection, the SCRAM login exchange,
//! and one file per command, each turning frames into store calls and
//! the answers back into frames.
//!
//! The connection code is generic over the byte stream (`AsyncRead +
//! AsyncWrite`): TLS 1.3 (the default) and plaintext TCP share all of it.

mod accept;
mod commands;
mod config;
mod connection;
mod error;
mod linger;
mod listener;
mod login;
mod peer_stream;
mod session;
mod source;
mod tls;

pub use accept::{serve_connections, ConnectionLimits};
pub use config::{AuditDestination, Retention, ServerConfig, Transport};
pub use error::ServerError;
pub use linger::close_lingering;
pub use listener::Server;
pub use tls::{ServerTls, TlsError};

//! The netdisk server: a listener with a connection limit and graceful
//! shutdown, one task per connection, SCRAM login against the user
//! database, and the file commands, each jailed to the user's home.
//!
//! The connection code is generic over the byte stream (`AsyncRead +
//! AsyncWrite`): TLS 1.3 (the default) and plaintext TCP share all of it.

mod accept;
mod audit;
mod commands;
mod config;
mod connection;
mod data_dir;
mod error;
mod home;
mod linger;
mod listener;
mod login;
mod quota;
mod session;
mod source;
mod staging;
mod throttle;
mod tls;
mod user_name;
mod users;

pub use accept::{serve_connections, ConnectionLimits};
pub use config::{AuditDestination, ServerConfig, Transport};
pub use data_dir::{DataDir, DataDirError, DEFAULT_ROOT};
pub use error::ServerError;
pub use linger::close_lingering;
pub use listener::Server;
pub use tls::TlsError;
pub use user_name::{validate_user_name, UserNameError, MAX_USER_NAME_LEN};
pub use users::{UserDb, UserDbError, UserInfo};

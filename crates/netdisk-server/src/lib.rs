//! The netdisk server: a listener with a connection limit and graceful
//! shutdown, one task per connection, SCRAM login against the user
//! database, and the file commands, each jailed to the user's home.
//!
//! The connection code is generic over the byte stream (`AsyncRead +
//! AsyncWrite`), so TLS can wrap the TCP stream without touching commands.

mod commands;
mod config;
mod connection;
mod data_dir;
mod error;
mod home;
mod listener;
mod login;
mod quota;
mod session;
mod staging;
mod user_name;
mod users;

pub use config::ServerConfig;
pub use data_dir::{DataDir, DataDirError, DEFAULT_ROOT};
pub use error::ServerError;
pub use listener::Server;
pub use user_name::{validate_user_name, UserNameError, MAX_USER_NAME_LEN};
pub use users::{UserDb, UserDbError, UserInfo};

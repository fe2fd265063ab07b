//! netdisk's WebDAV front-end (RFC 4918, with RFC 4331's quota
//! properties), served by the web gateway under `/dav/` for the same
//! users, jail, quotas, verified atomic commit and audit log as every
//! other front-end. The protocol (XML, PROPFIND/PROPPATCH, COPY/MOVE
//! walks, LOCK/UNLOCK, conditional headers) is the `dav-server` crate's;
//! this crate gives it a file system made of store calls
//! ([`netdisk_store::Space`]) and the logins (HTTP Basic, or the API's
//! tokens). Every rule about files stays in the store.

mod auth;
mod errors;
mod locks;
mod meta;
mod paths;
mod properties;
mod read_file;
mod service;
mod space_fs;
mod win32_times;
mod write_file;

pub use service::{DavService, DAV_PREFIX};

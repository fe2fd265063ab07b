//! The netdisk client library: connect, log in with SCRAM-SHA-256
//! (checking the server's proof too), run requests, and move files with
//! end-to-end BLAKE3 verification.
//!
//! `Client` is generic over the byte stream; `Client::connect` gives one
//! over TLS 1.3 (trusting the server by pinned fingerprint or by CA) or,
//! when both sides agree, plain TCP.

mod attributes;
mod client;
mod error;
mod small;
mod stream;
mod tls;
mod transfer;

pub use client::{Client, Credential};
pub use error::ClientError;
pub use netdisk_proto::scram::ClientKeys;
pub use rustls::RootCertStore;
pub use small::{SmallDownload, SmallUpload};
pub use stream::NetStream;
pub use tls::{ServerTrust, Transport};
pub use transfer::{GetReport, Progress, PutReport};

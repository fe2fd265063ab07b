//! The netdisk client library: connect, log in with SCRAM-SHA-256
//! (checking the server's proof too), run requests, and move files with
//! end-to-end BLAKE3 verification.
//!
//! `Client` is generic over the byte stream, so TLS can wrap the TCP stream
//! without changing any request code.

mod client;
mod error;
mod transfer;

pub use client::Client;
pub use error::ClientError;
pub use transfer::{GetReport, Progress, PutReport};

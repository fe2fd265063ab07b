//! The netdisk wire protocol, with no I/O: frames, messages, error codes,
//! the SCRAM-SHA-256 login exchange and the rules for paths inside a home.
//!
//! Every frame is a 4-byte little-endian length followed by that many bytes
//! of UTF-8 JSON (the header). A header may announce a body of raw bytes that
//! follows it directly. See `docs/PROTOCOL.md` for the full description.

pub mod codec;
pub mod entry;
pub mod error;
pub mod fingerprint;
pub mod handshake;
pub mod message;
pub mod path;
pub mod request;
pub mod response;
pub mod scram;
pub mod site_key;
pub mod time;

pub use codec::{take_buffered_body, CodecError, Frame, FrameCodec, Header, NetdiskCodec};
pub use entry::{Entry, EntryKind};
pub use error::ErrorCode;
pub use fingerprint::{Fingerprint, FingerprintError};
pub use message::Message;
pub use path::{HomePath, PathError};
pub use site_key::{SiteKey, SiteKeyError};

/// The protocol version this crate speaks. A peer with another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest JSON header accepted, in bytes (the length prefix excluded).
pub const MAX_HEADER_LEN: usize = 64 * 1024;

/// The TCP port a server listens on when none is given.
pub const DEFAULT_PORT: u16 = 7420;

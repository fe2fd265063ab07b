//! The messages exchanged before a session is logged in.

use serde::{Deserialize, Serialize};

/// Sent by the server as soon as a client connects, before anything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The protocol version the server speaks (`PROTOCOL_VERSION`).
    pub protocol: u32,
    /// Server software name, e.g. "netdisk".
    pub server: String,
    /// Server software version, e.g. "0.1.0".
    pub version: String,
    /// Login mechanisms the server accepts, e.g. ["SCRAM-SHA-256"].
    pub auth: Vec<String>,
    /// 32 fresh random bytes, base64 (standard alphabet, padded). Unique per
    /// connection; the site-key proof is an HMAC over these bytes.
    pub challenge: String,
    /// True when the server holds a site key: the client's first message
    /// must then be a `site_proof`, or the connection is closed.
    #[serde(default)]
    pub site_key: bool,
    /// Whole seconds (rounded down) a logged-in session may sit between
    /// requests before the server closes it; absent when the server does
    /// not say. A client that waits for its user can send a cheap request
    /// (`pwd`) well within it to keep the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<u64>,
}

/// Proof that the client holds the server's site key: sent first, before
/// `login`, when `hello.site_key` is true. No answer follows a right proof;
/// a wrong one gets `error` `site_key_refused` and the connection closes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteProof {
    /// base64 of HMAC-SHA256(site key, the 32 decoded challenge bytes).
    pub mac: String,
}

/// Client's first login message: SCRAM client-first-message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub id: u64,
    /// The protocol version the client speaks; the server refuses others.
    pub protocol: u32,
    /// Must be one of the server's `auth` list.
    pub mechanism: String,
    /// The SCRAM client-first-message, e.g. "n,,n=alice,r=NONCE".
    pub data: String,
}

/// Server's answer to `login`: SCRAM server-first-message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginChallenge {
    pub id: u64,
    /// e.g. "r=NONCE,s=SALT,i=ITERATIONS".
    pub data: String,
}

/// Client's proof: SCRAM client-final-message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginProof {
    pub id: u64,
    /// e.g. "c=biws,r=NONCE,p=PROOF".
    pub data: String,
}

/// Login succeeded. The client must still check `data` (the server's proof).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOk {
    pub id: u64,
    /// SCRAM server-final-message, "v=SIGNATURE".
    pub data: String,
    /// The logged-in user's name.
    pub user: String,
    /// The session's starting directory, always "~".
    pub cwd: String,
}

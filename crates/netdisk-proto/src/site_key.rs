//! The optional site key: a secret shared by the server and its legitimate
//! clients. A client proves it holds the key by answering the per-connection
//! challenge of `hello` with HMAC-SHA256 before it may try to log in, so
//! strangers cannot even reach the password check.
//!
//! A key file holds the base64 of at least 32 random bytes on its first
//! line (`netdisk keygen` writes one); anything after the first line is ignored.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Fewer bytes than this is a password, not a key.
pub const MIN_SITE_KEY_LEN: usize = 32;

#[derive(Clone)]
pub struct SiteKey(Vec<u8>);

// The key never appears in logs or panics.
impl std::fmt::Debug for SiteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SiteKey(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteKeyError {
    #[error("the site key file does not hold base64 on its first line")]
    NotBase64,
    #[error("the site key is {0} bytes; it must be at least {MIN_SITE_KEY_LEN} (make one with `netdisk keygen`)")]
    TooShort(usize),
}

impl SiteKey {
    pub fn from_bytes(bytes: Vec<u8>) -> Result<SiteKey, SiteKeyError> {
        if bytes.len() < MIN_SITE_KEY_LEN {
            return Err(SiteKeyError::TooShort(bytes.len()));
        }
        Ok(SiteKey(bytes))
    }

    /// Reads the contents of a key file.
    pub fn parse(file_text: &str) -> Result<SiteKey, SiteKeyError> {
        let line = file_text.lines().next().unwrap_or("").trim();
        let bytes = B64.decode(line).map_err(|_| SiteKeyError::NotBase64)?;
        SiteKey::from_bytes(bytes)
    }

    /// The text of a key file for these bytes.
    pub fn to_file_text(&self) -> String {
        format!("{}\n", B64.encode(&self.0))
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }

    /// The `site_proof.mac` answering `hello.challenge` (base64 as sent).
    /// `None` when the challenge is not base64.
    pub fn prove(&self, challenge: &str) -> Option<String> {
        let challenge = B64.decode(challenge).ok()?;
        let mut mac = self.mac();
        mac.update(&challenge);
        Some(B64.encode(mac.finalize().into_bytes()))
    }

    /// Checks a client's proof in constant time.
    pub fn verify(&self, challenge: &[u8], proof: &str) -> bool {
        let Ok(proof) = B64.decode(proof) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(challenge);
        mac.verify_slice(&proof).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SiteKey {
        SiteKey::from_bytes(vec![byte; 32]).expect("32 bytes")
    }

    #[test]
    fn the_right_key_proves_and_others_do_not() {
        let challenge = [7u8; 32];
        let encoded = B64.encode(challenge);
        let proof = key(1).prove(&encoded).expect("base64 challenge");
        assert!(key(1).verify(&challenge, &proof));
        assert!(!key(2).verify(&challenge, &proof));
        assert!(!key(1).verify(&[8u8; 32], &proof));
        assert!(!key(1).verify(&challenge, ""));
        assert!(!key(1).verify(&challenge, "not base64!"));
        // A truncated MAC is not accepted either.
        assert!(!key(1).verify(&challenge, &proof[..20]));
    }

    #[test]
    fn key_files_round_trip_and_short_or_garbled_ones_are_refused() {
        let original = key(9);
        let text = original.to_file_text();
        let back = SiteKey::parse(&format!("{text}comment line\n")).expect("parse");
        assert_eq!(back.0, original.0);
        assert_eq!(
            SiteKey::parse(&B64.encode([1u8; 16])).unwrap_err(),
            SiteKeyError::TooShort(16)
        );
        assert_eq!(SiteKey::parse("%%%").unwrap_err(), SiteKeyError::NotBase64);
        assert_eq!(SiteKey::parse("").unwrap_err(), SiteKeyError::TooShort(0));
    }

    #[test]
    fn debug_output_hides_the_key() {
        assert_eq!(format!("{:?}", key(3)), "SiteKey(..)");
    }
}

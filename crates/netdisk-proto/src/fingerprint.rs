//! The identity of a server's TLS certificate: SHA-256 of its DER bytes.
//!
//! Written as `SHA256:` and the unpadded base64 of the digest, like
//! OpenSSH's key fingerprints. Parsing also takes the colon-separated hex
//! that `openssl x509 -noout -fingerprint -sha256` prints, so an operator
//! can check a fingerprint with tools they already have.

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a certificate given as DER bytes.
    pub fn of_certificate(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SHA256:{}", B64.encode(self.0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a certificate fingerprint: {0:?} (expected SHA256:BASE64 or 32 hex bytes)")]
pub struct FingerprintError(String);

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    fn from_str(text: &str) -> Result<Fingerprint, FingerprintError> {
        let bad = || FingerprintError(text.to_owned());
        let trimmed = text.trim();
        let digest = if let Some(b64) = trimmed
            .strip_prefix("SHA256:")
            .or_else(|| trimmed.strip_prefix("sha256:"))
        {
            B64.decode(b64.trim_end_matches('=')).map_err(|_| bad())?
        } else {
            let hex: String = trimmed.chars().filter(|c| *c != ':').collect();
            if hex.len() != 64 || !hex.is_ascii() {
                return Err(bad());
            }
            (0..32)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| bad())?
        };
        let bytes: [u8; 32] = digest.try_into().map_err(|_| bad())?;
        Ok(Fingerprint(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let fp = Fingerprint::of_certificate(b"not really DER");
        let text = fp.to_string();
        assert!(
            text.starts_with("SHA256:") && text.len() == 7 + 43,
            "{text}"
        );
        assert_eq!(text.parse::<Fingerprint>(), Ok(fp));
    }

    #[test]
    fn openssl_hex_form_parses_to_the_same_digest() {
        let fp = Fingerprint::of_certificate(b"cert");
        let hex: Vec<String> = fp.as_bytes().iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(hex.join(":").parse::<Fingerprint>(), Ok(fp));
        assert_eq!(hex.concat().to_lowercase().parse::<Fingerprint>(), Ok(fp));
    }

    #[test]
    fn malformed_fingerprints_are_refused() {
        for text in [
            "",
            "SHA256:",
            "SHA256:abc",
            "MD5:aa",
            "zz:".repeat(32).as_str(),
            &"ab".repeat(31),
            &"é".repeat(32),
        ] {
            assert!(text.parse::<Fingerprint>().is_err(), "{text:?} parsed");
        }
    }
}

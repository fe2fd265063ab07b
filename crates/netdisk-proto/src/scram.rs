//! SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding.
//!
//! Written here rather than taken from a crate: the SCRAM crates on
//! crates.io are unmaintained or pull in a second crypto stack, while the
//! exchange itself is four small string formats over HMAC, SHA-256 and
//! PBKDF2, all from the RustCrypto crates. The RFC 7677 test vector below
//! checks it byte for byte.
//!
//! The password never crosses the wire and the server stores only the salt,
//! the iteration count, StoredKey and ServerKey. Both sides prove themselves:
//! the client checks the server's signature too.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The mechanism name, as listed in `hello.auth` and sent in `login.mechanism`.
pub const MECHANISM: &str = "SCRAM-SHA-256";
/// RFC 7677's minimum; lower counts are refused by the client.
pub const MIN_ITERATIONS: u32 = 4096;
/// The iteration count for new verifiers: the cost of one guess for an
/// attacker holding the user database, paid once per login by the client.
pub const DEFAULT_ITERATIONS: u32 = 100_000;
/// The most a client will compute, so a hostile server cannot make it spin.
pub const MAX_ITERATIONS: u32 = 10_000_000;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    #[error("channel binding is not supported")]
    ChannelBinding,
    #[error("password is not valid (SASLprep refused it)")]
    BadPassword,
    #[error("server nonce does not extend the client nonce")]
    NonceMismatch,
    #[error("iteration count {0} is out of the accepted range")]
    Iterations(u32),
    /// The client's proof is wrong: unknown user or wrong password.
    #[error("authentication failed")]
    InvalidProof,
    /// The server's signature is wrong: it does not know the verifier.
    #[error("the server failed to prove it knows the password verifier")]
    InvalidServerSignature,
    #[error("the server refused the login: {0}")]
    ServerError(String),
    /// Saved keys were made for another salt or iteration count: the
    /// password was changed since they were saved.
    #[error("the saved keys are out of date: the server's password verifier has changed")]
    OutdatedKeys,
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SaltedPassword := Hi(Normalize(password), salt, i)
pub fn salted_password(
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<[u8; 32], ScramError> {
    let normalized = stringprep::saslprep(password).map_err(|_| ScramError::BadPassword)?;
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(normalized.as_bytes(), salt, iterations, &mut out);
    Ok(out)
}

/// What the server stores for a user: enough to check a proof, not enough
/// to log in as the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl Verifier {
    pub fn from_password(
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Verifier, ScramError> {
        let keys = ClientKeys::from_password(password, salt, iterations)?;
        Ok(Verifier {
            stored_key: sha256(&keys.client_key),
            server_key: keys.server_key,
            salt: keys.salt,
            iterations,
        })
    }
}

/// The keys a client derives from its password for one verifier (one salt
/// and iteration count). RFC 5802 section 3 lets a client keep them to log
/// in again without the password or the PBKDF2 work, for as long as the
/// server offers the same salt. They are a password equivalent for this one
/// account on this one server (not for the password elsewhere): whoever
/// holds them can log in as the user.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientKeys {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub client_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl ClientKeys {
    pub fn from_password(
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<ClientKeys, ScramError> {
        let salted = salted_password(password, salt, iterations)?;
        Ok(ClientKeys {
            salt: salt.to_vec(),
            iterations,
            client_key: hmac(&salted, b"Client Key"),
            server_key: hmac(&salted, b"Server Key"),
        })
    }
}

impl std::fmt::Debug for ClientKeys {
    // The keys log a user in: never into a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKeys")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Encodes a user name as a SCRAM saslname ("," and "=" escaped).
fn encode_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

fn decode_saslname(name: &str) -> Result<String, ScramError> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(pos) = rest.find('=') {
        out.push_str(&rest[..pos]);
        let escape = rest
            .get(pos..pos + 3)
            .ok_or(ScramError::Malformed("bad escape in user name"))?;
        match escape {
            "=2C" => out.push(','),
            "=3D" => out.push('='),
            _ => return Err(ScramError::Malformed("bad escape in user name")),
        }
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Splits "a=x,b=y" into attribute values, checking the expected order.
fn attributes<'a>(message: &'a str, names: &[char]) -> Result<Vec<&'a str>, ScramError> {
    let mut parts = message.split(',');
    let mut values = Vec::with_capacity(names.len());
    for &name in names {
        let part = parts
            .next()
            .ok_or(ScramError::Malformed("missing attribute"))?;
        let mut chars = part.chars();
        if chars.next() != Some(name) || chars.next() != Some('=') {
            return Err(ScramError::Malformed("unexpected attribute"));
        }
        values.push(&part[2..]);
    }
    Ok(values)
}

fn valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

// ----- client side -----

/// The client after sending client-first; waiting for server-first.
pub struct ClientFirst {
    credential: Credential,
    client_nonce: String,
    client_first_bare: String,
}

/// What a client proves itself with.
enum Credential {
    Password(String),
    Keys(ClientKeys),
}

/// The client after sending client-final; waiting for server-final.
#[derive(Debug)]
pub struct ClientFinal {
    server_signature: [u8; 32],
    keys: ClientKeys,
}

impl ClientFirst {
    /// Starts a login. `nonce` must be fresh random printable text without ','.
    /// Returns the state and the client-first-message to send.
    pub fn new(
        user: &str,
        password: &str,
        nonce: &str,
    ) -> Result<(ClientFirst, String), ScramError> {
        Self::start(user, Credential::Password(password.to_owned()), nonce)
    }

    /// Starts a login with keys saved from an earlier one instead of the
    /// password; it fails with `OutdatedKeys` if the server's salt or
    /// iteration count is not the one they were made for.
    pub fn with_keys(
        user: &str,
        keys: ClientKeys,
        nonce: &str,
    ) -> Result<(ClientFirst, String), ScramError> {
        Self::start(user, Credential::Keys(keys), nonce)
    }

    fn start(
        user: &str,
        credential: Credential,
        nonce: &str,
    ) -> Result<(ClientFirst, String), ScramError> {
        if !valid_nonce(nonce) {
            return Err(ScramError::Malformed("bad client nonce"));
        }
        let bare = format!("n={},r={}", encode_saslname(user), nonce);
        let message = format!("n,,{bare}");
        Ok((
            ClientFirst {
                credential,
                client_nonce: nonce.to_owned(),
                client_first_bare: bare,
            },
            message,
        ))
    }

    /// Takes server-first, returns the state and the client-final-message.
    pub fn handle_server_first(
        self,
        server_first: &str,
    ) -> Result<(ClientFinal, String), ScramError> {
        if let Some(reason) = server_first.strip_prefix("e=") {
            return Err(ScramError::ServerError(reason.to_owned()));
        }
        let values = attributes(server_first, &['r', 's', 'i'])?;
        let (nonce, salt_b64, iterations) = (values[0], values[1], values[2]);
        if !nonce.starts_with(&self.client_nonce)
            || nonce.len() == self.client_nonce.len()
            || !valid_nonce(nonce)
        {
            return Err(ScramError::NonceMismatch);
        }
        let salt = B64
            .decode(salt_b64)
            .map_err(|_| ScramError::Malformed("salt is not base64"))?;
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| ScramError::Malformed("bad iteration count"))?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(ScramError::Iterations(iterations));
        }
        let keys = match self.credential {
            Credential::Password(password) => {
                ClientKeys::from_password(&password, &salt, iterations)?
            }
            Credential::Keys(keys) if keys.salt == salt && keys.iterations == iterations => keys,
            Credential::Keys(_) => return Err(ScramError::OutdatedKeys),
        };
        let client_key = keys.client_key;
        let stored_key = sha256(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, server_first, without_proof
        );
        let client_signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(client_signature.iter())
            .map(|(k, s)| k ^ s)
            .collect();
        let server_signature = hmac(&keys.server_key, auth_message.as_bytes());
        let message = format!("{without_proof},p={}", B64.encode(proof));
        Ok((
            ClientFinal {
                server_signature,
                keys,
            },
            message,
        ))
    }
}

impl ClientFinal {
    /// Checks server-final: the server knew the verifier. Returns the keys
    /// the login was made with, for a client that saves them.
    pub fn verify_server_final(self, server_final: &str) -> Result<ClientKeys, ScramError> {
        if let Some(reason) = server_final.strip_prefix("e=") {
            return Err(ScramError::ServerError(reason.to_owned()));
        }
        let values = attributes(server_final, &['v'])?;
        let signature = B64
            .decode(values[0])
            .map_err(|_| ScramError::Malformed("server signature is not base64"))?;
        if bool::from(signature.ct_eq(&self.server_signature)) {
            Ok(self.keys)
        } else {
            Err(ScramError::InvalidServerSignature)
        }
    }
}

// ----- server side -----

/// A parsed client-first-message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    pub user: String,
    client_nonce: String,
    client_first_bare: String,
}

impl ClientHello {
    pub fn parse(message: &str) -> Result<ClientHello, ScramError> {
        // gs2-header: cbind-flag "," [authzid] ","
        let mut parts = message.splitn(3, ',');
        let flag = parts
            .next()
            .ok_or(ScramError::Malformed("missing gs2 header"))?;
        match flag {
            "n" | "y" => {}
            f if f.starts_with("p=") => return Err(ScramError::ChannelBinding),
            _ => return Err(ScramError::Malformed("bad channel binding flag")),
        }
        let authzid = parts
            .next()
            .ok_or(ScramError::Malformed("missing gs2 header"))?;
        if !authzid.is_empty() {
            return Err(ScramError::Malformed(
                "authorization identity is not supported",
            ));
        }
        let bare = parts
            .next()
            .ok_or(ScramError::Malformed("missing client-first-bare"))?;
        if bare.starts_with("m=") {
            return Err(ScramError::Malformed(
                "mandatory extensions are not supported",
            ));
        }
        let values = attributes(bare, &['n', 'r'])?;
        if !valid_nonce(values[1]) {
            return Err(ScramError::Malformed("bad client nonce"));
        }
        Ok(ClientHello {
            user: decode_saslname(values[0])?,
            client_nonce: values[1].to_owned(),
            client_first_bare: bare.to_owned(),
        })
    }
}

/// The server after sending server-first; waiting for client-final.
pub struct ServerFirst {
    verifier: Verifier,
    nonce: String,
    client_first_bare: String,
    server_first: String,
}

impl ServerFirst {
    /// Answers a client hello with this verifier. For an unknown user pass a
    /// made-up verifier (see the server): the exchange then fails at the
    /// proof, exactly like a wrong password.
    pub fn new(
        hello: &ClientHello,
        verifier: Verifier,
        server_nonce: &str,
    ) -> Result<(ServerFirst, String), ScramError> {
        if !valid_nonce(server_nonce) {
            return Err(ScramError::Malformed("bad server nonce"));
        }
        let nonce = format!("{}{}", hello.client_nonce, server_nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&verifier.salt),
            verifier.iterations
        );
        Ok((
            ServerFirst {
                verifier,
                nonce,
                client_first_bare: hello.client_first_bare.clone(),
                server_first: server_first.clone(),
            },
            server_first,
        ))
    }

    /// Checks client-final; on success returns server-final to send.
    pub fn handle_client_final(self, client_final: &str) -> Result<String, ScramError> {
        let values = attributes(client_final, &['c', 'r'])?;
        if values[0] != "biws" && values[0] != "eSws" {
            return Err(ScramError::ChannelBinding);
        }
        if values[1] != self.nonce {
            return Err(ScramError::NonceMismatch);
        }
        let proof_at = client_final
            .rfind(",p=")
            .ok_or(ScramError::Malformed("missing proof"))?;
        let without_proof = &client_final[..proof_at];
        let proof = B64
            .decode(&client_final[proof_at + 3..])
            .map_err(|_| ScramError::Malformed("proof is not base64"))?;
        if proof.len() != 32 {
            return Err(ScramError::InvalidProof);
        }
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let client_signature = hmac(&self.verifier.stored_key, auth_message.as_bytes());
        let mut client_key = [0u8; 32];
        for (i, byte) in client_key.iter_mut().enumerate() {
            *byte = proof[i] ^ client_signature[i];
        }
        let server_signature = hmac(&self.verifier.server_key, auth_message.as_bytes());
        if bool::from(sha256(&client_key).ct_eq(&self.verifier.stored_key)) {
            Ok(format!("v={}", B64.encode(server_signature)))
        } else {
            Err(ScramError::InvalidProof)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677, section 3.
    const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc_verifier() -> Verifier {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        Verifier::from_password("pencil", &salt, 4096).unwrap()
    }

    #[test]
    fn rfc7677_client_side() {
        let (first, message) = ClientFirst::new("user", "pencil", CLIENT_NONCE).unwrap();
        assert_eq!(message, CLIENT_FIRST);
        let (last, message) = first.handle_server_first(SERVER_FIRST).unwrap();
        assert_eq!(message, CLIENT_FINAL);
        last.verify_server_final(SERVER_FINAL).unwrap();
    }

    #[test]
    fn saved_keys_log_in_like_the_password_until_the_salt_changes() {
        let (first, _) = ClientFirst::new("user", "pencil", CLIENT_NONCE).unwrap();
        let (last, _) = first.handle_server_first(SERVER_FIRST).unwrap();
        let keys = last.verify_server_final(SERVER_FINAL).unwrap();
        assert_eq!(keys.iterations, 4096);
        let shown = format!("{keys:?}");
        assert!(
            !shown.contains(&format!("{:?}", keys.client_key)),
            "{shown}"
        );

        // The same messages, byte for byte, without the password.
        let (first, message) = ClientFirst::with_keys("user", keys.clone(), CLIENT_NONCE).unwrap();
        assert_eq!(message, CLIENT_FIRST);
        let (last, message) = first.handle_server_first(SERVER_FIRST).unwrap();
        assert_eq!(message, CLIENT_FINAL);
        assert_eq!(last.verify_server_final(SERVER_FINAL).unwrap(), keys);

        // A new salt or iteration count means a new password: the keys are refused.
        for server_first in [
            SERVER_FIRST.replace("s=W22", "s=X22"),
            SERVER_FIRST.replace("i=4096", "i=4097"),
        ] {
            let (first, _) = ClientFirst::with_keys("user", keys.clone(), CLIENT_NONCE).unwrap();
            assert_eq!(
                first.handle_server_first(&server_first).err(),
                Some(ScramError::OutdatedKeys)
            );
        }
    }

    #[test]
    fn rfc7677_server_side() {
        let hello = ClientHello::parse(CLIENT_FIRST).unwrap();
        assert_eq!(hello.user, "user");
        let (state, message) = ServerFirst::new(&hello, rfc_verifier(), SERVER_NONCE).unwrap();
        assert_eq!(message, SERVER_FIRST);
        assert_eq!(
            state.handle_client_final(CLIENT_FINAL).unwrap(),
            SERVER_FINAL
        );
    }

    #[test]
    fn wrong_password_fails_the_proof() {
        let (first, message) = ClientFirst::new("user", "pencils", CLIENT_NONCE).unwrap();
        let hello = ClientHello::parse(&message).unwrap();
        let (server, server_first) =
            ServerFirst::new(&hello, rfc_verifier(), SERVER_NONCE).unwrap();
        let (_, client_final) = first.handle_server_first(&server_first).unwrap();
        assert_eq!(
            server.handle_client_final(&client_final),
            Err(ScramError::InvalidProof)
        );
    }

    #[test]
    fn client_rejects_a_forged_server_signature() {
        let (first, _) = ClientFirst::new("user", "pencil", CLIENT_NONCE).unwrap();
        let (last, _) = first.handle_server_first(SERVER_FIRST).unwrap();
        let forged = format!("v={}", B64.encode([0u8; 32]));
        assert_eq!(
            last.verify_server_final(&forged),
            Err(ScramError::InvalidServerSignature)
        );
    }

    #[test]
    fn client_rejects_weak_or_foreign_parameters() {
        let (first, _) = ClientFirst::new("user", "pencil", CLIENT_NONCE).unwrap();
        let low = "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1";
        assert_eq!(
            first.handle_server_first(low).err(),
            Some(ScramError::Iterations(1))
        );
        let (first, _) = ClientFirst::new("user", "pencil", CLIENT_NONCE).unwrap();
        let foreign = "r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            first.handle_server_first(foreign).err(),
            Some(ScramError::NonceMismatch)
        );
    }

    #[test]
    fn user_names_are_escaped() {
        let (_, message) = ClientFirst::new("a,b=c", "pw", "nonce").unwrap();
        assert_eq!(message, "n,,n=a=2Cb=3Dc,r=nonce");
        assert_eq!(ClientHello::parse(&message).unwrap().user, "a,b=c");
        assert!(ClientHello::parse("n,,n=a=2,r=x").is_err());
        assert_eq!(
            ClientHello::parse("p=tls-unique,,n=a,r=x"),
            Err(ScramError::ChannelBinding)
        );
    }
}

//! Logins, for every front-end: SCRAM-SHA-256 verifiers from the user
//! database, made-up verifiers for unknown users, and the throttle on
//! failures. The exchange itself (which frames or headers carry the
//! SCRAM messages) is the front-end's.
//!
//! An unknown user gets a made-up verifier (a salt derived from the
//! name, so it is the same on every attempt, and random keys), so the
//! exchange runs the same steps and fails at the same place as a wrong
//! password.

use crate::directory::UserDirectory;
use crate::error::StoreError;
use crate::throttle::LoginThrottle;
use hmac::{Hmac, Mac};
use netdisk_proto::scram::{Verifier, DEFAULT_ITERATIONS};
use rand::RngCore;
use sha2::Sha256;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

pub struct Logins {
    users: Arc<dyn UserDirectory>,
    /// Keys the made-up verifiers; kept in the user database so an
    /// unknown user's salt survives restarts too.
    decoy_key: [u8; 32],
    throttle: LoginThrottle,
    recent: RecentPasswords,
}

/// How long a verified password is remembered for
/// [`Logins::verify_repeated_password`].
const REMEMBER_PASSWORD: Duration = Duration::from_secs(300);
/// At most this many are remembered; when full, the oldest half goes.
const MAX_REMEMBERED: usize = 4096;

/// Passwords verified lately, as a keyed digest of (name, password, the
/// stored verifier) with the instant they were verified: never the
/// password itself, and a changed password or verifier matches nothing.
struct RecentPasswords {
    key: [u8; 32],
    verified: Mutex<HashMap<[u8; 32], Instant>>,
}

/// How [`Logins::verify_repeated_password`] accepted a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordAccepted {
    /// Checked against the verifier now: a login, for the audit log.
    Verified,
    /// The same password verified moments ago: no new login.
    Remembered,
}

/// The verifier to run a login against.
pub struct Credentials {
    pub verifier: Verifier,
    /// False for a made-up verifier: the login must fail however it goes.
    pub known: bool,
}

impl Logins {
    pub(crate) fn new(
        users: Arc<dyn UserDirectory>,
        decoy_key: [u8; 32],
        throttle: LoginThrottle,
    ) -> Logins {
        Logins {
            users,
            decoy_key,
            throttle,
            recent: RecentPasswords::new(),
        }
    }

    /// Before an attempt: `Err(wait)` while the source or the name is locked out.
    pub async fn check(&self, ip: IpAddr, user: &str) -> Result<(), Duration> {
        self.throttle.check(ip, user).await
    }

    /// The user's verifier, or a made-up one for an unknown user.
    pub async fn credentials(&self, user: &str) -> Result<Credentials, StoreError> {
        let users = self.users.clone();
        let name = user.to_owned();
        let found = tokio::task::spawn_blocking(move || users.credentials(&name))
            .await
            .map_err(StoreError::worker)?
            .inspect_err(|e| tracing::error!(error = %e, "user database lookup failed"))?;
        Ok(match found {
            Some((verifier, _quota)) => Credentials {
                verifier,
                known: true,
            },
            None => Credentials {
                verifier: decoy_verifier(&self.decoy_key, user),
                known: false,
            },
        })
    }

    /// After a failure: how long to wait before answering (a sleep, not work).
    pub async fn failed(&self, ip: IpAddr, user: &str) -> Duration {
        self.throttle.failed(ip, user).await
    }

    pub async fn succeeded(&self, ip: IpAddr, user: &str) {
        self.throttle.succeeded(ip, user).await;
    }

    /// A login with the password itself (HTTP, over TLS), checked against
    /// the same SCRAM verifier the native login uses: no second secret is
    /// stored. Throttled like the native login; a failure answers only
    /// after the throttle's delay.
    pub async fn verify_password(
        &self,
        ip: IpAddr,
        user: &str,
        password: &str,
    ) -> Result<(), PasswordRefused> {
        self.check(ip, user)
            .await
            .map_err(PasswordRefused::Throttled)?;
        let credentials = self
            .credentials(user)
            .await
            .map_err(PasswordRefused::Internal)?;
        let (password, verifier) = (password.to_owned(), credentials.verifier);
        // PBKDF2 with the stored count: tens of milliseconds of CPU.
        let matches = tokio::task::spawn_blocking(move || {
            Verifier::from_password(&password, &verifier.salt, verifier.iterations)
                .is_ok_and(|derived| bool::from(derived.stored_key.ct_eq(&verifier.stored_key)))
        })
        .await
        .map_err(|e| PasswordRefused::Internal(StoreError::worker(e)))?;
        if matches && credentials.known {
            self.succeeded(ip, user).await;
            return Ok(());
        }
        tokio::time::sleep(self.failed(ip, user).await).await;
        Err(PasswordRefused::Wrong)
    }
}

impl Logins {
    /// [`Logins::verify_password`] for protocols that send the password
    /// with every request (HTTP Basic: WebDAV clients): a password
    /// verified in the last minutes is accepted without PBKDF2 again
    /// (tens of milliseconds of CPU per request otherwise). Throttled
    /// like every login; a wrong password is never remembered.
    pub async fn verify_repeated_password(
        &self,
        ip: IpAddr,
        user: &str,
        password: &str,
    ) -> Result<PasswordAccepted, PasswordRefused> {
        self.check(ip, user)
            .await
            .map_err(PasswordRefused::Throttled)?;
        let credentials = self
            .credentials(user)
            .await
            .map_err(PasswordRefused::Internal)?;
        let digest = self
            .recent
            .digest(user, password, &credentials.verifier.stored_key);
        if credentials.known && self.recent.holds(&digest, Instant::now()) {
            return Ok(PasswordAccepted::Remembered);
        }
        self.verify_password(ip, user, password).await?;
        self.recent.remember(digest, Instant::now());
        Ok(PasswordAccepted::Verified)
    }
}

impl RecentPasswords {
    fn new() -> RecentPasswords {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        RecentPasswords {
            key,
            verified: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, user: &str, password: &str, stored_key: &[u8]) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        for part in [user.as_bytes(), password.as_bytes(), stored_key] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    fn holds(&self, digest: &[u8; 32], now: Instant) -> bool {
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        verified
            .get(digest)
            .is_some_and(|at| now.duration_since(*at) < REMEMBER_PASSWORD)
    }

    fn remember(&self, digest: [u8; 32], now: Instant) {
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        verified.retain(|_, at| now.duration_since(*at) < REMEMBER_PASSWORD);
        if verified.len() >= MAX_REMEMBERED {
            let mut ages: Vec<Instant> = verified.values().copied().collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            verified.retain(|_, at| *at > cutoff);
        }
        verified.insert(digest, now);
    }
}

/// Why [`Logins::verify_password`] refused.
#[derive(Debug)]
pub enum PasswordRefused {
    /// Unknown user or wrong password (the two are not told apart).
    Wrong,
    /// Too many failures from this source or for this name: try after this.
    Throttled(Duration),
    Internal(StoreError),
}

fn decoy_verifier(key: &[u8; 32], user: &str) -> Verifier {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(user.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut stored_key = [0u8; 32];
    let mut server_key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut stored_key);
    rand::thread_rng().fill_bytes(&mut server_key);
    Verifier {
        salt: digest[..16].to_vec(),
        iterations: DEFAULT_ITERATIONS,
        stored_key,
        server_key,
    }
}

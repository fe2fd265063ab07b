//! The login exchange: SCRAM-SHA-256 against the user database.
//!
//! An unknown user gets a made-up verifier (a salt derived from the name, so
//! it is the same on every attempt, and random keys), so the exchange runs
//! the same steps and fails at the same place as a wrong password.

use crate::audit::Event;
use crate::connection::{Connection, Fatal};
use crate::session::Shared;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use netdisk_proto::handshake::{LoginChallenge, LoginOk};
use netdisk_proto::scram::{ClientHello, ServerFirst, Verifier, DEFAULT_ITERATIONS, MECHANISM};
use netdisk_proto::{Message, PROTOCOL_VERSION};
use rand::RngCore;
use sha2::Sha256;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};

pub(crate) struct LoggedIn {
    pub(crate) name: String,
    pub(crate) peer: SocketAddr,
}

/// Each step may take at most this long; the whole login is also bounded
/// by the caller's deadline.
const STEP: Duration = Duration::from_secs(3600);

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

fn nonce() -> String {
    let mut bytes = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

pub(crate) async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Connection<S>,
    shared: &Shared,
    peer: SocketAddr,
) -> Result<LoggedIn, Fatal> {
    let request = match conn.read_message(STEP, "login").await? {
        Message::Login(request) => request,
        other => {
            return Err(Fatal::protocol(
                other.id(),
                format!("expected login, got {}", other.type_name()),
            ))
        }
    };
    let id = request.id;
    if request.protocol != PROTOCOL_VERSION {
        return Err(Fatal::Version {
            id,
            theirs: request.protocol,
        });
    }
    if request.mechanism != MECHANISM {
        return Err(Fatal::protocol(
            Some(id),
            format!(
                "unsupported login mechanism {:?}; use {MECHANISM}",
                request.mechanism
            ),
        ));
    }
    let hello =
        ClientHello::parse(&request.data).map_err(|e| Fatal::protocol(Some(id), e.to_string()))?;
    let audit = |result| {
        shared.audit.record(Event::Login {
            peer,
            user: &hello.user,
            result,
        })
    };
    if let Err(wait) = shared
        .throttle
        .check(peer.ip(), &hello.user, Instant::now())
    {
        tracing::warn!(user = %hello.user, %peer, "login refused: locked out after failed logins");
        audit("throttled");
        return Err(Fatal::Throttled {
            id,
            seconds: wait.as_secs().max(1),
        });
    }
    let lookup = shared.users.clone();
    let name = hello.user.clone();
    let found = tokio::task::spawn_blocking(move || lookup.credentials(&name))
        .await
        .map_err(|e| Fatal::Io(std::io::Error::other(e)))?
        .map_err(|e| {
            tracing::error!(error = %e, "user database lookup failed");
            Fatal::Io(std::io::Error::other(e.to_string()))
        })?;
    let known = found.is_some();
    let verifier = match found {
        Some((verifier, _quota)) => verifier,
        None => decoy_verifier(&shared.decoy_key, &hello.user),
    };
    let (state, server_first) = ServerFirst::new(&hello, verifier, &nonce())
        .map_err(|e| Fatal::protocol(Some(id), e.to_string()))?;
    conn.send(&Message::LoginChallenge(LoginChallenge {
        id,
        data: server_first,
    }))
    .await?;
    let proof = match conn.read_message(STEP, "login").await? {
        Message::LoginProof(proof) if proof.id == id => proof,
        other => {
            return Err(Fatal::protocol(
                other.id(),
                format!(
                    "expected login_proof for id {id}, got {}",
                    other.type_name()
                ),
            ))
        }
    };
    match state.handle_client_final(&proof.data) {
        Ok(server_final) if known => {
            shared
                .data
                .create_home(&hello.user)
                .map_err(|e| Fatal::Io(std::io::Error::other(e.to_string())))?;
            conn.send(&Message::LoginOk(LoginOk {
                id,
                data: server_final,
                user: hello.user.clone(),
                cwd: "~".into(),
            }))
            .await?;
            shared.throttle.succeeded(peer.ip(), &hello.user);
            audit("ok");
            Ok(LoggedIn {
                name: hello.user,
                peer,
            })
        }
        _ => {
            tracing::warn!(user = %hello.user, %peer, "login failed");
            audit("failed");
            let delay = shared
                .throttle
                .failed(peer.ip(), &hello.user, Instant::now());
            // The answer waits; the task sleeps, no CPU is spent.
            tokio::time::sleep(delay).await;
            Err(Fatal::AuthFailed { id })
        }
    }
}

//! The login exchange: SCRAM-SHA-256 in `login`, `login_challenge` and
//! `login_proof` frames, against the store's logins (verifiers, made-up
//! ones for unknown users, the throttle).

use crate::connection::{Connection, Fatal};
use crate::peer_stream::PeerStream;
use crate::session::Shared;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use netdisk_proto::handshake::{LoginChallenge, LoginOk};
use netdisk_proto::scram::{ClientHello, ServerFirst, MECHANISM};
use netdisk_proto::{Message, PROTOCOL_VERSION};
use netdisk_store::Event;
use rand::RngCore;
use std::net::SocketAddr;
use std::time::Duration;

pub(crate) struct LoggedIn {
    pub(crate) name: String,
    pub(crate) peer: SocketAddr,
}

/// Each step may take at most this long; the whole login is also bounded
/// by the caller's deadline.
const STEP: Duration = Duration::from_secs(3600);

fn nonce() -> String {
    let mut bytes = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

pub(crate) async fn login<S: PeerStream>(
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
    let logins = shared.store.logins();
    let audit = |result| {
        shared.store.audit().record(Event::Login {
            peer,
            user: &hello.user,
            result,
        })
    };
    if let Err(wait) = logins.check(peer.ip(), &hello.user).await {
        tracing::warn!(user = %hello.user, %peer, "login refused: locked out after failed logins");
        audit("throttled");
        return Err(Fatal::Throttled {
            id,
            seconds: wait.as_secs().max(1),
        });
    }
    let credentials = logins
        .credentials(&hello.user)
        .await
        .map_err(|e| Fatal::Io(std::io::Error::other(e.message)))?;
    let (known, verifier) = (credentials.known, credentials.verifier);
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
            conn.send(&Message::LoginOk(LoginOk {
                id,
                data: server_final,
                user: hello.user.clone(),
                cwd: "~".into(),
            }))
            .await?;
            logins.succeeded(peer.ip(), &hello.user).await;
            audit("ok");
            Ok(LoggedIn {
                name: hello.user,
                peer,
            })
        }
        _ => {
            tracing::warn!(user = %hello.user, %peer, "login failed");
            audit("failed");
            let delay = logins.failed(peer.ip(), &hello.user).await;
            // The answer waits; the task sleeps, no CPU is spent.
            tokio::time::sleep(delay).await;
            Err(Fatal::AuthFailed { id })
        }
    }
}

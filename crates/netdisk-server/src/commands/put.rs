//! Upload: `put` -> `put_ready`, then `put_data` + body, then `put_end`
//! with the client's BLAKE3 -> `put_done` once the file is verified,
//! synced and renamed into place.

use super::resolve;
use crate::config::ServerConfig;
use crate::connection::{Connection, Fatal};
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Put;
use netdisk_proto::response::{PutDone, PutReady};
use netdisk_proto::{ErrorCode, Frame, Message};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

pub(crate) async fn apply<S: AsyncRead + AsyncWrite + Unpin>(
    req: Put,
    session: &mut Session,
    conn: &mut Connection<S>,
    config: &ServerConfig,
) -> Result<(), Fatal> {
    let id = req.id;
    let prepared = match resolve(session, &req.path) {
        Ok(target) => {
            let check = target.clone();
            session
                .home
                .run(move |home| home.stage_upload(&check))
                .await
                .map(|(staged, file)| (target, staged, file))
        }
        Err(e) => Err(e),
    };
    let (target, staged, file) = match prepared {
        Ok(prepared) => prepared,
        // Refused before put_ready: the client sends no body.
        Err(err) => return conn.send(&err.into_message(id)).await,
    };
    conn.send(&Message::PutReady(PutReady { id, offset: 0 }))
        .await?;

    match conn.read_message(config.stall_timeout, "upload").await? {
        Message::PutData(data) if data.id == id && data.size == req.size => {}
        other => {
            return Err(Fatal::protocol(
                other.id(),
                format!(
                    "expected put_data with id {id} and size {}, got {}",
                    req.size,
                    other.type_name()
                ),
            ))
        }
    }

    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = blake3::Hasher::new();
    let mut received = 0u64;
    // A write failure (disk full) is reported after the body is consumed,
    // so the connection stays in step and usable.
    let mut failure: Option<CommandError> = None;
    while received < req.size {
        let chunk = match conn.read(config.stall_timeout, "upload").await? {
            Frame::Body(chunk) => chunk,
            Frame::Message(m) => {
                return Err(Fatal::protocol(m.id(), "header inside an upload body"))
            }
        };
        received += chunk.len() as u64;
        hasher.update(&chunk);
        if failure.is_none() {
            if let Err(e) = file.write_all(&chunk).await {
                failure = Some(CommandError::from_io(&e, &target.to_string()));
            }
        }
    }

    let end = match conn.read_message(config.stall_timeout, "upload").await? {
        Message::PutEnd(end) if end.id == id => end,
        other => {
            return Err(Fatal::protocol(
                other.id(),
                format!("expected put_end with id {id}, got {}", other.type_name()),
            ))
        }
    };
    let hash = hasher.finalize().to_hex().to_string();
    if failure.is_none() && end.blake3 != hash {
        failure = Some(CommandError::new(
            ErrorCode::Integrity,
            format!(
                "{target}: BLAKE3 mismatch (client {}, server {hash}); nothing was stored",
                end.blake3
            ),
        ));
    }
    if failure.is_none() {
        if let Err(e) = file.sync_all().await {
            failure = Some(CommandError::from_io(&e, &target.to_string()));
        }
    }
    drop(file);
    if let Some(err) = failure {
        drop(staged);
        return conn.send(&err.into_message(id)).await;
    }

    let commit_target = target.clone();
    let committed = session
        .home
        .run(move |home| home.commit_upload(staged, &commit_target))
        .await;
    let response = match committed {
        Ok(()) => {
            tracing::info!(user = %session.user, path = %target, bytes = req.size, blake3 = %hash, "upload committed");
            Message::PutDone(PutDone {
                id,
                path: target.to_string(),
                size: req.size,
                blake3: hash,
            })
        }
        Err(err) => err.into_message(id),
    };
    conn.send(&response).await
}

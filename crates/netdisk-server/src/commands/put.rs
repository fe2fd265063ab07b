//! Upload: `put` -> `put_ready` (with the bytes kept from an interrupted
//! attempt, if any), then `put_data` + body, then `put_end` with the
//! client's BLAKE3 -> `put_done` once the file is verified, synced and
//! renamed into place. The store does all but the frames (`Upload`).

use super::{resolve, shown};
use crate::connection::{Connection, Fatal};
use crate::peer_stream::PeerStream;
use crate::session::{Session, Shared};
use netdisk_proto::request::{Put, PutEnd};
use netdisk_proto::response::PutReady;
use netdisk_proto::{Frame, Message};
use netdisk_store::{SourceAttributes, TransferRecord, Upload, UploadSpec};

pub(crate) async fn apply<S: PeerStream>(
    req: Put,
    session: &mut Session,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<(), Fatal> {
    let id = req.id;
    let target = match resolve(session, &req.path) {
        Ok(target) => target,
        Err(err) => {
            // Refused before the store, which audits the rest.
            let mut record = TransferRecord::start("upload", shown(session, &req.path));
            record.result = err.code.as_str();
            session.space.record_refused(&record);
            return conn.send(&err.into_message(id)).await;
        }
    };
    let spec = UploadSpec {
        size: req.size,
        attributes: SourceAttributes {
            modified: req.modified,
            mode: req.mode,
        },
        resume: req.resume,
        create_new: false,
    };
    let mut upload = match session.space.begin_upload(&target, spec).await {
        Ok(upload) => upload,
        // Refused before put_ready: the client sends no body.
        Err(err) => return conn.send(&super::refusal(err, id)).await,
    };
    let offset = upload.offset();
    conn.send(&Message::PutReady(PutReady {
        id,
        offset,
        prefix_blake3: upload.prefix_blake3(),
        restarted: upload.take_restarted(),
    }))
    .await?;
    match receive(id, req.size, &mut upload, conn, shared).await {
        Ok(end) => {
            let response = match upload.finish(&end.blake3).await {
                Ok(done) => super::put_done(id, done),
                Err(err) => super::refusal(err, id),
            };
            conn.send(&response).await
        }
        Err(fatal) => {
            upload.abandon().await;
            Err(fatal)
        }
    }
}

/// `put_data`, the body into the upload, then `put_end`.
async fn receive<S: PeerStream>(
    id: u64,
    size: u64,
    upload: &mut Upload,
    conn: &mut Connection<S>,
    shared: &Shared,
) -> Result<PutEnd, Fatal> {
    let offset = upload.offset();
    let start = match conn
        .read_message(shared.config.stall_timeout, "upload")
        .await?
    {
        Message::PutData(data)
            if data.id == id
                && (data.offset == offset || data.offset == 0)
                && data.offset.checked_add(data.size) == Some(size) =>
        {
            data.offset
        }
        other => {
            return Err(Fatal::protocol(
                other.id(),
                format!(
                "expected put_data with id {id}, offset {offset} or 0, and size {size} from there"
            ),
            ))
        }
    };
    upload.start_body(start).await?;
    let mut remaining = upload.body_len();
    while remaining > 0 {
        let chunk = match conn.read(shared.config.stall_timeout, "upload").await? {
            Frame::Body(chunk) => chunk,
            Frame::Message(m) => {
                return Err(Fatal::protocol(m.id(), "header inside an upload body"))
            }
        };
        remaining = remaining
            .checked_sub(chunk.len() as u64)
            .ok_or_else(|| Fatal::protocol(Some(id), "upload body longer than announced"))?;
        upload.write(chunk).await?;
    }
    match conn
        .read_message(shared.config.stall_timeout, "upload")
        .await?
    {
        Message::PutEnd(end) if end.id == id => Ok(end),
        other => Err(Fatal::protocol(
            other.id(),
            format!("expected put_end with id {id}, got {}", other.type_name()),
        )),
    }
}

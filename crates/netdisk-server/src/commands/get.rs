//! Download: `get` -> `get_data` + body -> `get_end` with the BLAKE3 of
//! the whole file (in `get_data` too, when the store recorded it). A
//! client that kept the first bytes of an interrupted download offers
//! them; the store checks them (`Download`) and the body is only the
//! rest, or everything with the reason.

use super::{resolve, shown};
use crate::connection::{Connection, Fatal};
use crate::peer_stream::PeerStream;
use crate::session::Session;
use netdisk_proto::request::Get;
use netdisk_proto::response::{GetData, GetEnd};
use netdisk_proto::Message;
use netdisk_store::{KeptPrefix, TransferRecord};

pub(crate) async fn apply<S: PeerStream>(
    req: Get,
    session: &mut Session,
    conn: &mut Connection<S>,
) -> Result<(), Fatal> {
    let id = req.id;
    let path = match resolve(session, &req.path) {
        Ok(path) => path,
        Err(err) => {
            // Refused before the store, which audits the rest.
            let mut record = TransferRecord::start("download", shown(session, &req.path));
            record.result = err.code.as_str();
            session.space.record_refused(&record);
            return conn.send(&err.into_message(id)).await;
        }
    };
    let kept = (req.offset > 0).then(|| KeptPrefix {
        offset: req.offset,
        blake3: req.prefix_blake3.clone(),
        size: req.size,
        modified: req.modified,
    });
    let mut download = match session.space.open_download(&path, kept).await {
        Ok(download) => download,
        Err(err) => return conn.send(&super::refusal(err, id)).await,
    };
    let entry = download.entry();
    // The header and the end are only queued: the session flushes once
    // no further request is waiting, so pipelined gets share writes.
    conn.feed(&Message::GetData(GetData {
        id,
        offset: download.offset(),
        size: download.body_len(),
        modified: entry.modified,
        mode: entry.mode,
        restarted: download.take_restarted(),
        blake3: download.recorded_hash().map(str::to_owned),
    }))
    .await?;
    // A file whose hash is recorded goes out untouched: zero-copy in
    // plaintext mode, else read (not hashed) and written.
    let zero_copy = conn.sends_files_zero_copy();
    if let Some(body) = zero_copy.then(|| download.take_file()).flatten() {
        let mut sent = 0;
        let outcome = conn.send_file(&body, &mut sent).await;
        download.sent(sent);
        outcome?;
    } else {
        while let Some(chunk) = download.next_chunk().await {
            // The file shrank (or could not be read) after get_data announced
            // its size: the promised bytes cannot be delivered, so the stream
            // cannot stay in step.
            conn.feed_body(chunk?).await?;
        }
    }
    let blake3 = download.finish().await?;
    conn.feed(&Message::GetEnd(GetEnd { id, blake3 })).await
}

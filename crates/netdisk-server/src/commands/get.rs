//! Download: `get` -> `get_data` + body -> `get_end` with the BLAKE3 of
//! the whole file. A client that kept the first bytes of an interrupted
//! download offers them; the store checks them (`Download`) and the body
//! is only the rest, or everything with the reason.

use super::{resolve, shown};
use crate::connection::{Connection, Fatal};
use crate::session::Session;
use netdisk_proto::request::Get;
use netdisk_proto::response::{GetData, GetEnd};
use netdisk_proto::Message;
use netdisk_store::{KeptPrefix, TransferRecord};
use tokio::io::{AsyncRead, AsyncWrite};

pub(crate) async fn apply<S: AsyncRead + AsyncWrite + Unpin>(
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
    conn.send(&Message::GetData(GetData {
        id,
        offset: download.offset(),
        size: download.body_len(),
        modified: entry.modified,
        mode: entry.mode,
        restarted: download.take_restarted(),
    }))
    .await?;
    while let Some(chunk) = download.next_chunk().await {
        // The file shrank (or could not be read) after get_data announced
        // its size: the promised bytes cannot be delivered, so the stream
        // cannot stay in step.
        conn.write_body(&chunk?).await?;
    }
    conn.flush().await?;
    let blake3 = download.finish().await?;
    conn.send(&Message::GetEnd(GetEnd { id, blake3 })).await
}

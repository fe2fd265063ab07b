//! `stat`: one path's entry; with `blake3`, a regular file's hash too.

use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Stat;
use netdisk_proto::response::Info;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Stat, session: &mut Session) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    let shown = path.to_string();
    if req.blake3 {
        // Reads the whole file: on the blocking pool.
        let (entry, blake3) = session
            .home
            .run(move |home| home.entry_with_hash(&path))
            .await?;
        return Ok(Message::Info(Info {
            id: req.id,
            path: shown,
            entry,
            blake3,
        }));
    }
    // A bounded lookup, on this thread (see home.rs).
    let entry = session.home.entry(&path)?;
    Ok(Message::Info(Info {
        id: req.id,
        path: shown,
        entry,
        blake3: None,
    }))
}

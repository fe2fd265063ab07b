//! `stat`: one path's entry; with `blake3`, a regular file's hash too
//! (the one the store recorded at its commit, while it is still true).

use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Stat;
use netdisk_proto::response::Info;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Stat, session: &mut Session) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    let (entry, blake3) = if req.blake3 {
        session.space.stat_with_hash(&path).await?
    } else {
        // A bounded lookup, on this thread.
        (session.space.entry(&path).await?, None)
    };
    Ok(Message::Info(Info {
        id: req.id,
        path: path.to_string(),
        entry,
        blake3,
    }))
}

//! `trash_purge`: deletes trash items for good, freeing their quota.

use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::TrashPurge;
use netdisk_proto::response::Purged;
use netdisk_proto::{ErrorCode, Message};
use std::time::Duration;

pub(crate) async fn apply(req: TrashPurge, session: &mut Session) -> Result<Message, CommandError> {
    let which = match (req.items.is_empty(), req.older_than, req.all) {
        (false, None, false) => netdisk_store::TrashPurge::Ids(req.items),
        (true, Some(secs), false) => {
            netdisk_store::TrashPurge::OlderThan(Duration::from_secs(secs))
        }
        (true, None, true) => netdisk_store::TrashPurge::All,
        _ => {
            return Err(CommandError::new(
                ErrorCode::BadRequest,
                "trash_purge takes items, older_than or all: one of the three",
            ))
        }
    };
    let (items, bytes) = session.space.purge_trash(which).await?;
    Ok(Message::Purged(Purged {
        id: req.id,
        items: items as u64,
        bytes,
    }))
}

//! `trash_restore`: puts a trash item back, where it was or at `to`,
//! never over anything.

use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::TrashRestore;
use netdisk_proto::response::Restored;
use netdisk_proto::{ErrorCode, Message};
use netdisk_store::TrashRef;

pub(crate) async fn apply(
    req: TrashRestore,
    session: &mut Session,
) -> Result<Message, CommandError> {
    let which = match (req.item, req.path) {
        (Some(item), None) => TrashRef::Id(item),
        (None, Some(path)) => TrashRef::Path(resolve(session, &path)?),
        _ => {
            return Err(CommandError::new(
                ErrorCode::BadRequest,
                "trash_restore names an item or a path, one of the two",
            ))
        }
    };
    let to = req.to.map(|to| resolve(session, &to)).transpose()?;
    let restored = session.space.restore_trash(&which, to.as_ref()).await?;
    Ok(Message::Restored(Restored {
        id: req.id,
        path: restored.to_string(),
    }))
}

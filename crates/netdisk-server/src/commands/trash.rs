//! `trash`: what the user removed, kept for a while, oldest first.

use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Trash;
use netdisk_proto::response::TrashList;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Trash, session: &mut Session) -> Result<Message, CommandError> {
    let items = session.space.trash().await?;
    Ok(Message::TrashList(TrashList { id: req.id, items }))
}

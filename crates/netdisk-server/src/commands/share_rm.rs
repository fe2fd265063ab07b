//! `share_rm`: revokes one of the user's share links.

use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::ShareRm;
use netdisk_proto::response::Done;
use netdisk_proto::Message;

pub(crate) async fn apply(req: ShareRm, session: &mut Session) -> Result<Message, CommandError> {
    session.space.remove_share(req.share).await?;
    Ok(Message::Done(Done { id: req.id }))
}

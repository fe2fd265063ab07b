//! `partials`: the user's kept partial uploads, for them to see what holds
//! their quota and discard it (`partial_rm`).

use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Partials;
use netdisk_proto::response::PartialList;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Partials, session: &mut Session) -> Result<Message, CommandError> {
    Ok(Message::PartialList(PartialList {
        id: req.id,
        partials: session.space.partials().await?,
    }))
}

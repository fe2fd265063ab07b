use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Mkdir;
use netdisk_proto::response::Done;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Mkdir, session: &mut Session) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    session.space.mkdir(&path, req.parents).await?;
    Ok(Message::Done(Done { id: req.id }))
}

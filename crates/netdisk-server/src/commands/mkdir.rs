use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Mkdir;
use netdisk_proto::response::Done;
use netdisk_proto::{ErrorCode, Message};

pub(crate) async fn apply(req: Mkdir, session: &mut Session) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    if path.is_home() {
        return if req.parents {
            Ok(Message::Done(Done { id: req.id }))
        } else {
            Err(CommandError::new(ErrorCode::Exists, "~: already exists"))
        };
    }
    let parents = req.parents;
    session
        .home
        .run(move |home| home.mkdir(&path, parents))
        .await?;
    Ok(Message::Done(Done { id: req.id }))
}

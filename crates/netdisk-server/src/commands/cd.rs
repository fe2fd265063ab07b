use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Cd;
use netdisk_proto::response::Cwd;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Cd, session: &mut Session) -> Result<Message, CommandError> {
    let target = resolve(session, &req.path)?;
    // A bounded lookup (on this thread for the local file system).
    session.space.require_dir(&target).await?;
    session.cwd = target;
    Ok(Message::Cwd(Cwd {
        id: req.id,
        path: session.cwd.to_string(),
    }))
}

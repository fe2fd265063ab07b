use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Pwd;
use netdisk_proto::response::Cwd;
use netdisk_proto::Message;

pub(crate) fn apply(req: Pwd, session: &Session) -> Result<Message, CommandError> {
    Ok(Message::Cwd(Cwd {
        id: req.id,
        path: session.cwd.to_string(),
    }))
}

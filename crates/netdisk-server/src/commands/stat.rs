use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Stat;
use netdisk_proto::response::Info;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Stat, session: &mut Session) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    let shown = path.to_string();
    // A bounded lookup, on this thread (see home.rs).
    let entry = session.home.entry(&path)?;
    Ok(Message::Info(Info {
        id: req.id,
        path: shown,
        entry,
    }))
}

use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Stat;
use netdisk_proto::response::Info;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Stat, session: &mut Session) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    let shown = path.to_string();
    let entry = session.home.run(move |home| home.entry(&path)).await?;
    Ok(Message::Info(Info {
        id: req.id,
        path: shown,
        entry,
    }))
}

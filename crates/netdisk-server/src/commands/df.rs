use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Df;
use netdisk_proto::response::Usage;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Df, session: &mut Session) -> Result<Message, CommandError> {
    let usage = session.space.usage().await?;
    Ok(Message::Usage(Usage {
        id: req.id,
        used: usage.used,
        reserved: usage.reserved,
        partials: usage.partials,
        quota: usage.quota,
        trash: usage.trash,
        versions: usage.versions,
    }))
}

use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Df;
use netdisk_proto::response::Usage;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Df, session: &mut Session) -> Result<Message, CommandError> {
    let used = session.home.run(|home| home.usage()).await?;
    // Quotas arrive with issue #3; until then every home is unlimited.
    Ok(Message::Usage(Usage {
        id: req.id,
        used,
        quota: None,
    }))
}

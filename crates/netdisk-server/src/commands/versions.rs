//! `versions`: a file's old versions, newest first.

use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Versions;
use netdisk_proto::response::VersionList;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Versions, session: &mut Session) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    let versions = session.space.versions(&path).await?;
    Ok(Message::VersionList(VersionList {
        id: req.id,
        path: path.to_string(),
        versions,
    }))
}

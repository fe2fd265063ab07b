//! `versions_purge`: deletes old versions of a file for good, freeing
//! their quota.

use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::VersionsPurge;
use netdisk_proto::response::Purged;
use netdisk_proto::Message;

pub(crate) async fn apply(
    req: VersionsPurge,
    session: &mut Session,
) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    let (items, bytes) = session
        .space
        .purge_versions(&path, req.version.as_deref())
        .await?;
    Ok(Message::Purged(Purged {
        id: req.id,
        items: items as u64,
        bytes,
    }))
}

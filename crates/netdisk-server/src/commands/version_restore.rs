//! `version_restore`: makes an old version the file again (what it
//! replaces becomes the newest old version).

use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::VersionRestore;
use netdisk_proto::response::Restored;
use netdisk_proto::Message;

pub(crate) async fn apply(
    req: VersionRestore,
    session: &mut Session,
) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    let restored = session.space.restore_version(&path, &req.version).await?;
    Ok(Message::Restored(Restored {
        id: req.id,
        path: restored.path.to_string(),
    }))
}

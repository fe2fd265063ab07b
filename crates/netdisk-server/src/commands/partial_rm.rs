//! `partial_rm`: discards the kept partial upload to a target and frees
//! the quota its bytes held.

use super::{resolve, shown};
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::PartialRm;
use netdisk_proto::response::Done;
use netdisk_proto::Message;
use netdisk_store::Event;

pub(crate) async fn apply(req: PartialRm, session: &mut Session) -> Result<Message, CommandError> {
    let target = match resolve(session, &req.path) {
        Ok(target) => target,
        Err(err) => {
            // Refused before the store, which audits the rest.
            let space = &session.space;
            space.audit_log().record(Event::PartialRemove {
                peer: space.peer(),
                user: space.user(),
                path: &shown(session, &req.path),
                result: err.code.as_str(),
            });
            return Err(err);
        }
    };
    session.space.discard_partial(&target).await?;
    Ok(Message::Done(Done { id: req.id }))
}

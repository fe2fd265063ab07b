use super::{resolve, shown};
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Mv;
use netdisk_proto::response::Done;
use netdisk_proto::Message;
use netdisk_store::Event;

pub(crate) async fn apply(req: Mv, session: &mut Session) -> Result<Message, CommandError> {
    let resolved =
        resolve(session, &req.from).and_then(|from| Ok((from, resolve(session, &req.to)?)));
    let (from, to) = match resolved {
        Ok(paths) => paths,
        Err(err) => {
            // Refused before the store, which audits the rest.
            let space = &session.space;
            space.audit_log().record(Event::Rename {
                peer: space.peer(),
                user: space.user(),
                from: &shown(session, &req.from),
                to: &shown(session, &req.to),
                result: err.code.as_str(),
            });
            return Err(err);
        }
    };
    session.space.rename(&from, &to).await?;
    Ok(Message::Done(Done { id: req.id }))
}

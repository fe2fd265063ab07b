use super::{resolve, shown};
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Rm;
use netdisk_proto::response::Done;
use netdisk_proto::{ErrorCode, HomePath, Message};
use netdisk_store::Event;

pub(crate) async fn apply(req: Rm, session: &mut Session) -> Result<Message, CommandError> {
    let path = match check(&req, session) {
        Ok(path) => path,
        Err(err) => {
            // Refused before the store, which audits the rest.
            let space = &session.space;
            space.audit_log().record(Event::Remove {
                peer: space.peer(),
                user: space.user(),
                path: &shown(session, &req.path),
                recursive: req.recursive,
                trash: None,
                result: err.code.as_str(),
            });
            return Err(err);
        }
    };
    session.space.remove(&path, req.recursive).await?;
    Ok(Message::Done(Done { id: req.id }))
}

fn check(req: &Rm, session: &Session) -> Result<HomePath, CommandError> {
    let path = resolve(session, &req.path)?;
    // As for rmdir: the session must not be left inside a removed directory.
    if req.recursive && !path.is_home() && session.cwd.names().starts_with(path.names()) {
        return Err(CommandError::new(
            ErrorCode::PermissionDenied,
            format!("{path}: is the current directory or contains it"),
        ));
    }
    Ok(path)
}

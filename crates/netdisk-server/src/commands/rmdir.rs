use super::{resolve, shown};
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Rmdir;
use netdisk_proto::response::Done;
use netdisk_proto::{ErrorCode, HomePath, Message};
use netdisk_store::Event;

pub(crate) async fn apply(req: Rmdir, session: &mut Session) -> Result<Message, CommandError> {
    let path = match check(&req, session) {
        Ok(path) => path,
        Err(err) => {
            // Refused before the store, which audits the rest.
            let space = &session.space;
            space.audit_log().record(Event::Rmdir {
                peer: space.peer(),
                user: space.user(),
                path: &shown(session, &req.path),
                result: err.code.as_str(),
            });
            return Err(err);
        }
    };
    session.space.rmdir(&path).await?;
    Ok(Message::Done(Done { id: req.id }))
}

fn check(req: &Rmdir, session: &Session) -> Result<HomePath, CommandError> {
    let path = resolve(session, &req.path)?;
    // Removing the session's own current directory (or a parent of it) would
    // leave the session nowhere; refuse it like a busy directory. (The home
    // itself the store refuses.)
    if !path.is_home() && session.cwd.names().starts_with(path.names()) {
        return Err(CommandError::new(
            ErrorCode::PermissionDenied,
            format!("{path}: is the current directory or contains it"),
        ));
    }
    Ok(path)
}

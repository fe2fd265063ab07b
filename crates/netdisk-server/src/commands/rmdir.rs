use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Rmdir;
use netdisk_proto::response::Done;
use netdisk_proto::{ErrorCode, Message};

pub(crate) async fn apply(req: Rmdir, session: &mut Session) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    if path.is_home() {
        return Err(CommandError::new(
            ErrorCode::PermissionDenied,
            "cannot remove the home directory",
        ));
    }
    // Removing the session's own current directory (or a parent of it) would
    // leave the session nowhere; refuse it like a busy directory.
    if session.cwd.names().starts_with(path.names()) {
        return Err(CommandError::new(
            ErrorCode::PermissionDenied,
            format!("{path}: is the current directory or contains it"),
        ));
    }
    session.home.run(move |home| home.remove_dir(&path)).await?;
    Ok(Message::Done(Done { id: req.id }))
}

use super::resolve;
use crate::error::CommandError;
use crate::session::{Session, Shared};
use netdisk_proto::request::Rm;
use netdisk_proto::response::Done;
use netdisk_proto::{ErrorCode, Message};

pub(crate) async fn apply(
    req: Rm,
    session: &mut Session,
    shared: &Shared,
) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    if path.is_home() {
        return Err(CommandError::new(
            ErrorCode::PermissionDenied,
            "cannot remove the home directory",
        ));
    }
    // As for rmdir: the session must not be left inside a removed directory.
    if req.recursive && session.cwd.names().starts_with(path.names()) {
        return Err(CommandError::new(
            ErrorCode::PermissionDenied,
            format!("{path}: is the current directory or contains it"),
        ));
    }
    let recursive = req.recursive;
    let freed = session
        .home
        .run(move |home| {
            if recursive {
                home.remove_tree(&path)
            } else {
                home.remove_file(&path)
            }
        })
        .await?;
    shared.quotas.freed(&session.user, freed);
    Ok(Message::Done(Done { id: req.id }))
}

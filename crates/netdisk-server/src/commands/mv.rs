use super::resolve;
use crate::error::CommandError;
use crate::session::{Session, Shared};
use netdisk_proto::request::Mv;
use netdisk_proto::response::Done;
use netdisk_proto::{ErrorCode, Message};

pub(crate) async fn apply(
    req: Mv,
    session: &mut Session,
    shared: &Shared,
) -> Result<Message, CommandError> {
    let from = resolve(session, &req.from)?;
    let to = resolve(session, &req.to)?;
    let Some(name) = from.file_name().map(str::to_owned) else {
        return Err(CommandError::new(
            ErrorCode::PermissionDenied,
            "cannot move the home directory",
        ));
    };
    let replaced = session
        .home
        .run(move |home| {
            // Like mv(1): an existing directory as the target receives the source inside it.
            let target = if home.is_dir(&to) {
                to.join(&name)?
            } else {
                to
            };
            if target == from {
                return Ok(0);
            }
            if target.names().starts_with(from.names()) {
                return Err(CommandError::new(
                    ErrorCode::BadRequest,
                    format!("cannot move {from} into itself ({target})"),
                ));
            }
            // A file replaced by the move leaves the disk.
            let replaced = home.file_size(&target);
            home.rename(&from, &target)?;
            Ok(replaced)
        })
        .await?;
    shared.quotas.freed(&session.user, replaced);
    Ok(Message::Done(Done { id: req.id }))
}

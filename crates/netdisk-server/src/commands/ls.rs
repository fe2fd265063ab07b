use super::resolve;
use crate::error::CommandError;
use crate::session::Session;
use netdisk_proto::request::Ls;
use netdisk_proto::response::Listing;
use netdisk_proto::Message;

pub(crate) async fn apply(req: Ls, session: &mut Session) -> Result<Message, CommandError> {
    let path = match &req.path {
        Some(path) => resolve(session, path)?,
        None => session.cwd.clone(),
    };
    let shown = path.to_string();
    let entries = session.home.run(move |home| home.list(&path)).await?;
    Ok(Message::Listing(Listing {
        id: req.id,
        path: shown,
        entries,
    }))
}

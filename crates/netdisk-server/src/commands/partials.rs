//! `partials`: the user's kept partial uploads, for them to see what holds
//! their quota and discard it (`partial_rm`).

use crate::error::CommandError;
use crate::session::{Session, Shared};
use netdisk_proto::request::Partials;
use netdisk_proto::response::PartialList;
use netdisk_proto::Message;

pub(crate) async fn apply(
    req: Partials,
    session: &mut Session,
    shared: &Shared,
) -> Result<Message, CommandError> {
    let partials = session.partials.clone();
    let ttl = shared.config.partial_ttl;
    let found = session
        .home
        .run(move |home| home.kept_partials(&partials, ttl))
        .await?;
    Ok(Message::PartialList(PartialList {
        id: req.id,
        partials: found,
    }))
}

//! `partial_rm`: discards the kept partial upload to a target and frees
//! the quota its bytes held.

use super::resolve;
use crate::error::CommandError;
use crate::session::{Session, Shared};
use netdisk_proto::request::PartialRm;
use netdisk_proto::response::Done;
use netdisk_proto::Message;

pub(crate) async fn apply(
    req: PartialRm,
    session: &mut Session,
    shared: &Shared,
) -> Result<Message, CommandError> {
    let target = resolve(session, &req.path)?;
    let partials = session.partials.clone();
    let freed = session
        .home
        .run(move |home| home.discard_partial(&target, &partials))
        .await?;
    shared.quotas.freed(&session.user, freed);
    Ok(Message::Done(Done { id: req.id }))
}

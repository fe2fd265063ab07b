//! `shares`: the user's share links, newest first.

use super::share_add::link;
use crate::error::CommandError;
use crate::session::{Session, Shared};
use netdisk_proto::request::Shares;
use netdisk_proto::response::ShareList;
use netdisk_proto::Message;

pub(crate) async fn apply(
    req: Shares,
    session: &mut Session,
    shared: &Shared,
) -> Result<Message, CommandError> {
    let shares = session.space.shares().await?;
    Ok(Message::ShareList(ShareList {
        id: req.id,
        shares: shares.iter().map(link).collect(),
        http_port: shared.store.http_port(),
    }))
}

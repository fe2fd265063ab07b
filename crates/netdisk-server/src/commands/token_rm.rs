//! `token_rm`: revokes one of the user's API tokens (a login's token ends
//! its whole login).

use super::blocking;
use crate::error::CommandError;
use crate::session::{Session, Shared};
use netdisk_proto::request::TokenRm;
use netdisk_proto::response::Done;
use netdisk_proto::{ErrorCode, Message};

pub(crate) async fn apply(
    req: TokenRm,
    session: &mut Session,
    shared: &Shared,
) -> Result<Message, CommandError> {
    let tokens = shared.store.tokens();
    let user = session.space.user().to_owned();
    let id = req.token;
    let revoked = blocking(move || tokens.revoke(&user, id)).await?;
    if !revoked {
        return Err(CommandError::new(
            ErrorCode::NotFound,
            format!("you have no API token {id}"),
        ));
    }
    Ok(Message::Done(Done { id: req.id }))
}

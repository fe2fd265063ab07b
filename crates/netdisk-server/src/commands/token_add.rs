//! `token_add`: a personal API token for scripts using the HTTP API.

use super::blocking;
use crate::error::CommandError;
use crate::session::{Session, Shared};
use netdisk_proto::request::TokenAdd;
use netdisk_proto::response::TokenMade;
use netdisk_proto::Message;
use std::time::Duration;

pub(crate) async fn apply(
    req: TokenAdd,
    session: &mut Session,
    shared: &Shared,
) -> Result<Message, CommandError> {
    let tokens = shared.store.tokens();
    let user = session.space.user().to_owned();
    let lifetime = req.expires_in.map(Duration::from_secs);
    let (token, secret) = blocking(move || tokens.add_personal(&user, &req.name, lifetime)).await?;
    Ok(Message::TokenMade(TokenMade {
        id: req.id,
        token,
        secret,
    }))
}

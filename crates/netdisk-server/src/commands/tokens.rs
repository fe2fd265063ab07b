//! `tokens`: the user's API tokens (never their secrets).

use super::blocking;
use crate::error::CommandError;
use crate::session::{Session, Shared};
use netdisk_proto::request::Tokens;
use netdisk_proto::response::{TokenInfo, TokenList};
use netdisk_proto::Message;

pub(crate) async fn apply(
    req: Tokens,
    session: &mut Session,
    shared: &Shared,
) -> Result<Message, CommandError> {
    let tokens = shared.store.tokens();
    let user = session.space.user().to_owned();
    let listed = blocking(move || tokens.list(&user)).await?;
    Ok(Message::TokenList(TokenList {
        id: req.id,
        tokens: listed
            .into_iter()
            .map(|token| TokenInfo {
                token: token.id,
                name: token.name,
                kind: token.kind.to_owned(),
                created: token.created,
                expires: token.expires,
            })
            .collect(),
    }))
}

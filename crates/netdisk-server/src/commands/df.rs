use crate::error::CommandError;
use crate::session::{Session, Shared};
use netdisk_proto::request::Df;
use netdisk_proto::response::Usage;
use netdisk_proto::Message;

pub(crate) async fn apply(
    req: Df,
    session: &mut Session,
    shared: &Shared,
) -> Result<Message, CommandError> {
    let account = shared.quotas.account(&session.user);
    let partials = session
        .home
        .run(|home| Ok(home.kept_partial_bytes()))
        .await?;
    Ok(Message::Usage(Usage {
        id: req.id,
        used: account.used,
        reserved: account.reserved,
        partials,
        quota: shared.quota_of(&session.user).await?,
    }))
}

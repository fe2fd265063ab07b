//! `share_add`: a new share link to a file or folder of the user's (the
//! store's rules: what can be shared, how the link ends).

use super::resolve;
use crate::error::CommandError;
use crate::session::{Session, Shared};
use netdisk_proto::request::ShareAdd;
use netdisk_proto::response::{ShareLink, ShareMade};
use netdisk_proto::Message;
use netdisk_store::{Share, ShareSpec};
use std::time::Duration;

/// A store link as the protocol shows it.
pub(crate) fn link(share: &Share) -> ShareLink {
    ShareLink {
        share: share.id,
        token: share.token.clone(),
        path: share.path.clone(),
        kind: share.kind.to_owned(),
        has_password: share.has_password,
        upload_only: share.upload_only,
        max_downloads: share.max_downloads,
        downloads: share.downloads,
        created: share.created,
        expires: share.expires,
    }
}

pub(crate) async fn apply(
    req: ShareAdd,
    session: &mut Session,
    shared: &Shared,
) -> Result<Message, CommandError> {
    let path = resolve(session, &req.path)?;
    let spec = ShareSpec {
        password: req.password,
        expires_in: req.expires_in.map(Duration::from_secs),
        max_downloads: req.max_downloads,
        upload_only: req.upload_only,
    };
    let share = session.space.add_share(&path, spec).await?;
    Ok(Message::ShareMade(ShareMade {
        id: req.id,
        link: link(&share),
        http_port: shared.store.http_port(),
    }))
}

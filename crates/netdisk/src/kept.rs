//! `trash` and `versions`: what the server keeps of removed and replaced
//! files, listed, restored and purged over the native protocol (the rules
//! are the server's store).

use crate::cli::{TrashCommand, VersionsArgs, VersionsCommand};
use crate::output::Output;
use crate::remote::{rfc3339, Session};
use crate::size::human;
use crate::{report, AlreadyReported};
use anyhow::Context;
use netdisk_proto::request::{TrashPurge, TrashRestore};
use netdisk_proto::response::Purged;

/// A trash id as the server makes them (nanoseconds, a dash, 4 hex
/// digits); anything else names a path.
fn is_item_id(text: &str) -> bool {
    let (time, suffix) = text.split_once('-').unwrap_or((text, ""));
    time.len() == 20
        && time.bytes().all(|b| b.is_ascii_digit())
        && suffix.len() == 4
        && suffix.bytes().all(|b| b.is_ascii_hexdigit())
}

fn purged(output: Output, what: &str, purged: &Purged) {
    let text = format!(
        "{} {what} deleted for good, {} freed",
        purged.items,
        human(purged.bytes)
    );
    output.data(
        text,
        serde_json::json!({ "items": purged.items, "bytes": purged.bytes }),
    );
}

pub async fn trash(
    client: &mut Session,
    output: Output,
    command: TrashCommand,
) -> anyhow::Result<()> {
    match command {
        TrashCommand::Ls => {
            for item in client.trash().await.context("trash ls")? {
                let kind = match item.kind {
                    netdisk_proto::EntryKind::Dir => "/",
                    _ => "",
                };
                let text = format!(
                    "{}  {}  {:>9}  {}{kind}",
                    item.id,
                    rfc3339(item.deleted),
                    human(item.size),
                    item.path
                );
                output.data(text, serde_json::to_value(&item)?);
            }
        }
        TrashCommand::Restore(args) => {
            if args.to.is_some() && args.items.len() > 1 {
                anyhow::bail!("trash restore: --to takes one item");
            }
            let mut failed = false;
            for which in args.items {
                let (item, path) = match is_item_id(&which) {
                    true => (Some(which.clone()), None),
                    false => (None, Some(which.clone())),
                };
                let request = TrashRestore {
                    id: 0,
                    item,
                    path,
                    to: args.to.clone(),
                };
                match client.trash_restore(request).await {
                    Ok(path) => output.data(
                        format!("{which} restored to {path}"),
                        serde_json::json!({ "item": which, "path": path }),
                    ),
                    Err(e) => {
                        report(&anyhow::Error::new(e).context(format!("trash restore {which}")));
                        failed = true;
                    }
                }
            }
            if failed {
                return Err(AlreadyReported.into());
            }
        }
        TrashCommand::Purge(args) => {
            let request = TrashPurge {
                id: 0,
                items: args.ids,
                older_than: args.older_than.map(|d| d.as_secs()),
                all: args.all,
            };
            let done = client.trash_purge(request).await.context("trash purge")?;
            purged(output, "items", &done);
        }
    }
    Ok(())
}

pub async fn versions(
    client: &mut Session,
    output: Output,
    args: VersionsArgs,
) -> anyhow::Result<()> {
    let command = match (args.command, args.path) {
        (Some(command), _) => command,
        (None, Some(path)) => VersionsCommand::Ls { path },
        (None, None) => anyhow::bail!("versions: which file?"),
    };
    match command {
        VersionsCommand::Ls { path } => {
            let list = client.versions(&path).await.context("versions")?;
            if list.versions.is_empty() {
                output.note(format!("{}: no old versions", list.path));
            }
            for version in &list.versions {
                let text = format!(
                    "{}  replaced {}  {:>9}  {}",
                    version.id,
                    rfc3339(version.replaced),
                    human(version.size),
                    version.blake3.as_deref().unwrap_or("-")
                );
                output.data(text, serde_json::to_value(version)?);
            }
        }
        VersionsCommand::Restore { path, version } => {
            let restored = client
                .version_restore(&path, &version)
                .await
                .context("versions restore")?;
            output.data(
                format!("{restored}: version {version} restored"),
                serde_json::json!({ "path": restored, "version": version }),
            );
        }
        VersionsCommand::Purge { path, version } => {
            let done = client
                .versions_purge(&path, version.as_deref())
                .await
                .context("versions purge")?;
            purged(output, "versions", &done);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_paths_are_told_apart() {
        assert!(is_item_id("01796606257123456789-9f3a"));
        for path in [
            "photos/a.jpg",
            "01796606257123456789",
            "0179660625712345678x-9f3a",
            "-9f3a",
        ] {
            assert!(!is_item_id(path), "{path}");
        }
    }
}

//! `netdisk user ...`: accounts, straight on the data directory or on
//! the shared catalog (`--store`; see accounts.rs).

use crate::accounts::{first_user_hint, Accounts, FilesOf};
use crate::cli::UserCommand;
use crate::output::print_line;
use crate::password::new_password;
use crate::size::{human, Quota};
use anyhow::Context;

pub async fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            quota,
            password_stdin,
            root,
        } => {
            netdisk_store::validate_user_name(&name)
                .with_context(|| format!("user add {name:?}"))?;
            let password = new_password(password_stdin)?;
            let accounts = Accounts::open(&root.root, root.store.as_deref(), true).await?;
            let home = accounts
                .add(&name, &password, quota)
                .await
                .with_context(|| format!("user add {name}"))?;
            print_line(format_args!("added user {name} ({home})"));
        }
        UserCommand::Passwd {
            name,
            password_stdin,
            root,
        } => {
            let accounts = Accounts::open(&root.root, root.store.as_deref(), false).await?;
            // Check first, so nobody types a password for a user that does not exist.
            if !accounts.exists(&name).await? {
                anyhow::bail!("user passwd {name}: no such user");
            }
            let password = new_password(password_stdin)?;
            accounts
                .set_password(&name, &password)
                .await
                .with_context(|| format!("user passwd {name}"))?;
            print_line(format_args!("password changed for {name}"));
        }
        UserCommand::Quota { name, size, root } => {
            let accounts = Accounts::open(&root.root, root.store.as_deref(), false).await?;
            let quota = match size {
                Quota::Limit(bytes) => Some(bytes),
                Quota::Unlimited => None,
            };
            accounts
                .set_quota(&name, quota)
                .await
                .with_context(|| format!("user quota {name}"))?;
            match quota {
                Some(bytes) => print_line(format_args!(
                    "quota of {name} set to {} ({bytes} bytes)",
                    human(bytes)
                )),
                None => print_line(format_args!(
                    "quota of {name} removed (unlimited, or the server's --default-quota)"
                )),
            }
        }
        UserCommand::Del { name, purge, root } => {
            let accounts = Accounts::open(&root.root, root.store.as_deref(), false).await?;
            let files = accounts
                .delete(&name, purge)
                .await
                .with_context(|| format!("user del {name}"))?;
            match files {
                FilesOf::Removed => print_line(format_args!("deleted user {name} and their files")),
                FilesOf::KeptIn(home) => print_line(format_args!(
                    "deleted user {name}; their files are kept in {} (use --purge to delete them)",
                    home.display()
                )),
            }
        }
        UserCommand::Retention {
            name,
            keep_trash,
            keep_versions,
            free_space_from_trash,
            reset,
            root,
        } => {
            let accounts = Accounts::open(&root.root, root.store.as_deref(), false).await?;
            let changes = (!reset).then_some(netdisk_store::RetentionOverrides {
                keep_trash,
                keep_versions,
                free_space_from_trash,
            });
            let own = accounts
                .set_retention(&name, changes)
                .await
                .with_context(|| format!("user retention {name}"))?;
            let show = |value: Option<String>| value.unwrap_or_else(|| "the server's".into());
            print_line(format_args!(
                "{name}: keep_trash {}, keep_versions {}, free_space_from_trash {}",
                show(
                    own.keep_trash
                        .map(|d| humantime::format_duration(d).to_string())
                ),
                show(own.keep_versions.map(|n| n.to_string())),
                show(own.free_space_from_trash.map(|b| b.to_string())),
            ));
        }
        UserCommand::List { root } => {
            let accounts = Accounts::open(&root.root, root.store.as_deref(), false).await?;
            let list = accounts.list().await?;
            if list.is_empty() {
                crate::output::print_error_line(format_args!(
                    "{}",
                    first_user_hint(&root.root, root.store.is_some())
                ));
            }
            for user in list {
                let quota = user.quota.map_or_else(|| "unlimited".to_owned(), human);
                let created = std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(user.created.max(0) as u64);
                print_line(format_args!(
                    "{:<24} quota {:<12} created {}",
                    user.name,
                    quota,
                    humantime::format_rfc3339_seconds(created)
                ));
            }
        }
    }
    Ok(())
}

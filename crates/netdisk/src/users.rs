//! `netdisk user ...`: accounts, straight on the data directory (SQLite
//! allows this while a server runs; a new user can log in at once).

use crate::cli::UserCommand;
use crate::output::print_line;
use crate::password::new_password;
use crate::size::{human, Quota};
use anyhow::Context;
use netdisk_store::DataDir;
use std::path::Path;

fn open(root: &Path) -> anyhow::Result<(DataDir, netdisk_store::UserDb)> {
    let data = DataDir::open(root)?;
    let users = data.users()?;
    Ok((data, users))
}

/// Opens a data directory that must exist already: only `user add` (and
/// `serve`) may create one, so a mistyped --root is an error, not a new
/// empty data directory at the typo.
fn open_existing(root: &Path) -> anyhow::Result<(DataDir, netdisk_store::UserDb)> {
    let database = root.join("users.db");
    let exists = database
        .try_exists()
        .with_context(|| format!("data directory {}", root.display()))?;
    if !exists {
        anyhow::bail!(
            "{} is not a netdisk data directory (it has no users.db): check --root, or create one with 'netdisk user add NAME --root {}'",
            root.display(),
            root.display()
        );
    }
    open(root)
}

pub fn run(command: UserCommand) -> anyhow::Result<()> {
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
            let (data, users) = open(&root.root)?;
            users
                .add(&name, &password, quota)
                .with_context(|| format!("user add {name}"))?;
            data.create_home(&name)?;
            print_line(format_args!(
                "added user {name} (home {})",
                data.home(&name).display()
            ));
        }
        UserCommand::Passwd {
            name,
            password_stdin,
            root,
        } => {
            let (_, users) = open_existing(&root.root)?;
            // Check first, so nobody types a password for a user that does not exist.
            if users.credentials(&name)?.is_none() {
                anyhow::bail!("user passwd {name}: no such user");
            }
            let password = new_password(password_stdin)?;
            users
                .set_password(&name, &password)
                .with_context(|| format!("user passwd {name}"))?;
            print_line(format_args!("password changed for {name}"));
        }
        UserCommand::Quota { name, size, root } => {
            let (_, users) = open_existing(&root.root)?;
            let quota = match size {
                Quota::Limit(bytes) => Some(bytes),
                Quota::Unlimited => None,
            };
            users
                .set_quota(&name, quota)
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
            let (data, users) = open_existing(&root.root)?;
            users
                .delete(&name)
                .with_context(|| format!("user del {name}"))?;
            if purge {
                data.remove_home(&name)?;
                print_line(format_args!("deleted user {name} and their files"));
            } else {
                print_line(format_args!(
                    "deleted user {name}; their files are kept in {} (use --purge to delete them)",
                    data.home(&name).display()
                ));
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
            let (_, users) = open_existing(&root.root)?;
            let context = || format!("user retention {name}");
            let own = if reset {
                users.reset_retention(&name).with_context(context)?;
                netdisk_store::RetentionOverrides::default()
            } else {
                let changes = netdisk_store::RetentionOverrides {
                    keep_trash,
                    keep_versions,
                    free_space_from_trash,
                };
                users.set_retention(&name, changes).with_context(context)?
            };
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
            let (_, users) = open_existing(&root.root)?;
            let list = users.list()?;
            if list.is_empty() {
                crate::output::print_error_line(format_args!(
                    "no users yet: add one with 'netdisk user add NAME --root {}'",
                    root.root.display()
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

//! `netdisk user ...`: accounts, straight on the data directory (SQLite
//! allows this while a server runs; a new user can log in at once).

use crate::cli::UserCommand;
use crate::password::new_password;
use crate::size::{human, Quota};
use anyhow::Context;
use netdisk_server::DataDir;
use std::path::Path;

fn open(root: &Path) -> anyhow::Result<(DataDir, netdisk_server::UserDb)> {
    let data = DataDir::open(root)?;
    let users = data.users()?;
    Ok((data, users))
}

pub fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            quota,
            password_stdin,
            root,
        } => {
            netdisk_server::validate_user_name(&name)
                .with_context(|| format!("user add {name:?}"))?;
            let password = new_password(password_stdin)?;
            let (data, users) = open(&root.root)?;
            users
                .add(&name, &password, quota)
                .with_context(|| format!("user add {name}"))?;
            data.create_home(&name)?;
            println!("added user {name} (home {})", data.home(&name).display());
        }
        UserCommand::Passwd {
            name,
            password_stdin,
            root,
        } => {
            let (_, users) = open(&root.root)?;
            // Check first, so nobody types a password for a user that does not exist.
            if users.credentials(&name)?.is_none() {
                anyhow::bail!("user passwd {name}: no such user");
            }
            let password = new_password(password_stdin)?;
            users
                .set_password(&name, &password)
                .with_context(|| format!("user passwd {name}"))?;
            println!("password changed for {name}");
        }
        UserCommand::Quota { name, size, root } => {
            let (_, users) = open(&root.root)?;
            let quota = match size {
                Quota::Limit(bytes) => Some(bytes),
                Quota::Unlimited => None,
            };
            users
                .set_quota(&name, quota)
                .with_context(|| format!("user quota {name}"))?;
            match quota {
                Some(bytes) => println!("quota of {name} set to {} ({bytes} bytes)", human(bytes)),
                None => {
                    println!("quota of {name} removed (unlimited, or the server's --default-quota)")
                }
            }
        }
        UserCommand::Del { name, purge, root } => {
            let (data, users) = open(&root.root)?;
            users
                .delete(&name)
                .with_context(|| format!("user del {name}"))?;
            if purge {
                data.remove_home(&name)?;
                println!("deleted user {name} and their files");
            } else {
                println!(
                    "deleted user {name}; their files are kept in {} (use --purge to delete them)",
                    data.home(&name).display()
                );
            }
        }
        UserCommand::List { root } => {
            let (_, users) = open(&root.root)?;
            let list = users.list()?;
            if list.is_empty() {
                eprintln!(
                    "no users yet: add one with 'netdisk user add NAME --root {}'",
                    root.root.display()
                );
            }
            for user in list {
                let quota = user.quota.map_or_else(|| "unlimited".to_owned(), human);
                let created = std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(user.created.max(0) as u64);
                println!(
                    "{:<24} quota {:<12} created {}",
                    user.name,
                    quota,
                    humantime::format_rfc3339_seconds(created)
                );
            }
        }
    }
    Ok(())
}

//! The client commands: connect, log in, run, print.

use crate::cli::{Remote, RemoteCommand as Command};
use crate::output::Output;
use crate::password::login_password;
use crate::size::human;
use crate::{report, AlreadyReported};
use anyhow::{anyhow, Context};
use netdisk_client::Client;
use netdisk_proto::{Entry, EntryKind};
use tokio::net::TcpStream;

pub type Session = Client<TcpStream>;

/// Who logs in where; kept so a command can open more sessions (parallel
/// transfers) without asking for the password again.
#[derive(Clone)]
pub struct Login {
    pub server: String,
    pub user: String,
    password: String,
}

/// Connects and logs in: the one place that decides how a client reaches
/// the server (TLS will slot in here).
pub async fn connect(remote: &Remote) -> anyhow::Result<(Session, Login)> {
    let user = match &remote.user {
        Some(user) => user.clone(),
        None => std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .map_err(|_| anyhow!("no user name: use --user NAME or set NETDISK_USER"))?,
    };
    // Connect first, so an unreachable server is reported before any prompt.
    let mut client = Client::connect(&remote.server).await?;
    let login = Login {
        password: login_password(&user, &remote.server)?,
        server: remote.server.clone(),
        user,
    };
    client
        .login(&login.user, &login.password)
        .await
        .with_context(|| format!("login to {}", login.server))?;
    Ok((client, login))
}

/// Another session with the same credentials.
pub async fn connect_as(login: &Login) -> anyhow::Result<Session> {
    let mut client = Client::connect(&login.server).await?;
    client
        .login(&login.user, &login.password)
        .await
        .with_context(|| format!("login to {}", login.server))?;
    Ok(client)
}

pub async fn run(remote: &Remote, output: Output, command: Command) -> anyhow::Result<()> {
    let (mut client, login) = connect(remote).await?;
    execute(&mut client, &login, output, command).await
}

/// Runs one client command on a logged-in session.
pub async fn execute(
    client: &mut Session,
    login: &Login,
    output: Output,
    command: Command,
) -> anyhow::Result<()> {
    match command {
        Command::Pwd => println!("{}", client.pwd().await.context("pwd")?),
        Command::Cd(args) => println!("{}", client.cd(&args.path).await.context("cd")?),
        Command::Ls(args) => {
            let listing = client.ls(args.path.as_deref()).await.context("ls")?;
            for entry in &listing.entries {
                let text = if args.long {
                    long_line(entry)
                } else if entry.kind == EntryKind::Dir {
                    format!("{}/", entry.name)
                } else {
                    entry.name.clone()
                };
                output.data(text, entry_json(&listing.path, entry));
            }
        }
        Command::Stat(args) => {
            let info = client.stat(&args.path).await.context("stat")?;
            let entry = &info.entry;
            let text = format!(
                "path:     {}\nkind:     {}\nsize:     {} ({})\nmodified: {}",
                info.path,
                kind_name(entry.kind),
                entry.size,
                human(entry.size),
                modified(entry)
            );
            let mut json = entry_json(&info.path, entry);
            json["path"] = info.path.clone().into();
            output.data(text, json);
        }
        Command::Mkdir(args) => {
            let parents = args.parents;
            each(client, "mkdir", args.paths, |c, p| {
                Box::pin(async move { c.mkdir(&p, parents).await })
            })
            .await?;
        }
        Command::Rm(args) => {
            if args.recursive {
                each(client, "rm", args.paths, |c, p| {
                    Box::pin(async move { c.rm_tree(&p).await })
                })
                .await?;
            } else {
                each(client, "rm", args.paths, |c, p| {
                    Box::pin(async move { c.rm(&p).await })
                })
                .await?;
            }
        }
        Command::Rmdir(args) => {
            each(client, "rmdir", args.paths, |c, p| {
                Box::pin(async move { c.rmdir(&p).await })
            })
            .await?;
        }
        Command::Mv(args) => client.mv(&args.from, &args.to).await.context("mv")?,
        Command::Df => {
            let usage = client.df().await.context("df")?;
            let free = usage
                .quota
                .map(|q| q.saturating_sub(usage.used.saturating_add(usage.reserved)));
            let show = |bytes: Option<u64>| match bytes {
                Some(b) => format!("{} ({b} bytes)", human(b)),
                None => "unlimited".to_owned(),
            };
            let text = format!(
                "used:     {}\nreserved: {} (uploads in progress)\nquota:    {}\nfree:     {}",
                show(Some(usage.used)),
                show(Some(usage.reserved)),
                show(usage.quota),
                show(free)
            );
            let json = serde_json::json!({
                "used": usage.used,
                "reserved": usage.reserved,
                "quota": usage.quota,
                "free": free,
            });
            output.data(text, json);
        }
        Command::Put(args) => {
            crate::transfer::put(client, output, transfer_request(args, login)).await?
        }
        Command::Get(args) => {
            crate::transfer::get(client, output, transfer_request(args, login)).await?
        }
    }
    Ok(())
}

fn transfer_request(
    args: crate::cli::TransferArgs,
    login: &Login,
) -> crate::transfer::TransferRequest {
    crate::transfer::TransferRequest {
        login: login.clone(),
        paths: args.paths,
        resume: !args.no_resume,
        recursive: args.recursive,
        follow_links: args.follow_links,
    }
}

/// An entry as a JSON object, with its full remote path.
fn entry_json(dir: &str, entry: &Entry) -> serde_json::Value {
    let path = if entry.kind == EntryKind::File && dir.ends_with(&format!("/{}", entry.name)) {
        dir.to_owned()
    } else {
        format!("{dir}/{}", entry.name)
    };
    serde_json::json!({
        "path": path,
        "name": entry.name,
        "kind": kind_name(entry.kind),
        "size": entry.size,
        "modified": entry.modified,
    })
}

type Step<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(), netdisk_client::ClientError>> + Send + 'a>,
>;

/// Runs `step` for every path, reporting each failure and going on.
async fn each(
    client: &mut Session,
    what: &str,
    paths: Vec<String>,
    step: impl for<'a> Fn(&'a mut Session, String) -> Step<'a>,
) -> anyhow::Result<()> {
    let mut failed = false;
    for path in paths {
        if let Err(e) = step(client, path).await {
            report(&anyhow::Error::new(e).context(what.to_owned()));
            failed = true;
        }
    }
    if failed {
        Err(AlreadyReported.into())
    } else {
        Ok(())
    }
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "file",
        EntryKind::Dir => "directory",
        EntryKind::Symlink => "symlink",
        EntryKind::Other => "other",
    }
}

fn modified(entry: &Entry) -> String {
    entry
        .modified
        .and_then(|secs| u64::try_from(secs).ok())
        .map(|secs| {
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
            )
            .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

fn long_line(entry: &Entry) -> String {
    let kind = match entry.kind {
        EntryKind::File => '-',
        EntryKind::Dir => 'd',
        EntryKind::Symlink => 'l',
        EntryKind::Other => '?',
    };
    let suffix = if entry.kind == EntryKind::Dir {
        "/"
    } else {
        ""
    };
    format!(
        "{kind} {:>14} {:<20} {}{suffix}",
        entry.size,
        modified(entry),
        entry.name
    )
}

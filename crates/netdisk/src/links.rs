//! `share` and `token`: share links and personal API tokens, made and
//! revoked over the native protocol (the rules are the server's store);
//! a link is printed as the URL of its page on the server's HTTP gateway.

use crate::cli::{ShareCommand, TokenCommand};
use crate::output::Output;
use crate::remote::{rfc3339, Login, Session};
use crate::{report, AlreadyReported};
use anyhow::Context;
use netdisk_proto::request::ShareAdd;
use netdisk_proto::response::ShareLink;

/// Where link `token` opens: this server's host, its HTTP gateway's port
/// (https unless the sessions are plaintext); just the path when the
/// server runs no gateway.
fn url(login: &Login, http_port: Option<u16>, token: &str) -> String {
    let Some(port) = http_port else {
        return format!("/s/{token}");
    };
    let host = login
        .server
        .rsplit_once(':')
        .map_or(login.server.as_str(), |(host, _)| host);
    let scheme = if login.is_plaintext() {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{host}:{port}/s/{token}")
}

fn describe(link: &ShareLink) -> String {
    let mut terms = vec![if link.upload_only {
        "upload-only".to_owned()
    } else {
        link.kind.clone()
    }];
    if link.has_password {
        terms.push("password".into());
    }
    if !link.upload_only {
        terms.push(match link.max_downloads {
            Some(max) => format!("{} of {max} downloads", link.downloads),
            None => format!("{} downloads", link.downloads),
        });
    }
    if let Some(expires) = link.expires {
        terms.push(format!("until {}", rfc3339(expires)));
    }
    terms.join(", ")
}

fn link_json(link: &ShareLink, url: &str) -> serde_json::Value {
    serde_json::json!({
        "id": link.share,
        "url": url,
        "token": link.token,
        "path": link.path,
        "kind": link.kind,
        "has_password": link.has_password,
        "upload_only": link.upload_only,
        "max_downloads": link.max_downloads,
        "downloads": link.downloads,
        "created": link.created,
        "expires": link.expires,
    })
}

pub async fn share(
    client: &mut Session,
    login: &Login,
    output: Output,
    command: ShareCommand,
) -> anyhow::Result<()> {
    match command {
        ShareCommand::Add(args) => {
            let password = (args.password || args.password_stdin)
                .then(|| crate::password::new_password(args.password_stdin))
                .transpose()?;
            let request = ShareAdd {
                id: 0,
                path: args.path,
                password,
                expires_in: args.expires.map(|d| d.as_secs()),
                max_downloads: args.max_downloads,
                upload_only: args.upload_only,
            };
            let made = client.share_add(request).await.context("share add")?;
            let url = url(login, made.http_port, &made.link.token);
            if made.http_port.is_none() {
                output.note(
                    "the server runs no HTTP gateway (serve --http): the link opens once it does",
                );
            }
            let text = format!("{url}\n  {} ({})", made.link.path, describe(&made.link));
            output.data(text, link_json(&made.link, &url));
        }
        ShareCommand::Ls => {
            let list = client.shares().await.context("share ls")?;
            for link in &list.shares {
                let url = url(login, list.http_port, &link.token);
                let text = format!(
                    "{:>4}  {}  {}\n      {url}",
                    link.share,
                    link.path,
                    describe(link)
                );
                output.data(text, link_json(link, &url));
            }
        }
        ShareCommand::Rm(args) => {
            let mut failed = false;
            for id in args.ids {
                if let Err(e) = client.share_rm(id).await {
                    report(&anyhow::Error::new(e).context("share rm"));
                    failed = true;
                }
            }
            if failed {
                return Err(AlreadyReported.into());
            }
        }
    }
    Ok(())
}

pub async fn token(
    client: &mut Session,
    output: Output,
    command: TokenCommand,
) -> anyhow::Result<()> {
    match command {
        TokenCommand::Add(args) => {
            let made = client
                .token_add(&args.name, args.expires.map(|d| d.as_secs()))
                .await
                .context("token add")?;
            output.note("keep it now: it is shown this once ('netdisk token rm ID' revokes it)");
            output.data(
                made.secret.clone(),
                serde_json::json!({ "id": made.token, "token": made.secret }),
            );
        }
        TokenCommand::Ls => {
            for token in client.tokens().await.context("token ls")? {
                let expires = token.expires.map_or_else(
                    || "until revoked".to_owned(),
                    |at| format!("until {}", rfc3339(at)),
                );
                let text = format!(
                    "{:>4}  {}  {}, made {}, {expires}",
                    token.token,
                    token.name,
                    token.kind,
                    rfc3339(token.created)
                );
                output.data(
                    text,
                    serde_json::json!({
                        "id": token.token,
                        "name": token.name,
                        "kind": token.kind,
                        "created": token.created,
                        "expires": token.expires,
                    }),
                );
            }
        }
        TokenCommand::Rm(args) => {
            let mut failed = false;
            for id in args.ids {
                if let Err(e) = client.token_rm(id).await {
                    report(&anyhow::Error::new(e).context("token rm"));
                    failed = true;
                }
            }
            if failed {
                return Err(AlreadyReported.into());
            }
        }
    }
    Ok(())
}

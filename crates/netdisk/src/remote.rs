//! The client commands: connect, log in, run, print.

use crate::cli::{PartialsCommand, Remote, RemoteCommand as Command, Security, Trust};
use crate::known_hosts::{Known, KnownHosts};
use crate::output::{print_error_line, print_line, Output};
use crate::password::{login_password, password_from_environment};
use crate::saved_logins::SavedLogins;
use crate::size::human;
use crate::{report, AlreadyReported};
use anyhow::{anyhow, bail, Context};
use netdisk_client::{
    Client, ClientError, ClientKeys, Credential, NetStream, ServerTrust, Transport,
};
use netdisk_proto::{Entry, EntryKind, Fingerprint, SiteKey};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

pub type Session = Client<NetStream>;

/// Where and how a client connects: the global options.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub remote: &'a Remote,
    pub security: &'a Security,
    pub trust: &'a Trust,
}

/// Who logs in where, and how the server was trusted; kept so a command
/// can open more sessions (parallel transfers) without asking again.
#[derive(Clone)]
pub struct Login {
    /// "host:port", as `parse_server_address` completes it.
    pub server: String,
    pub user: String,
    connect_timeout: Duration,
    secret: Secret,
    /// After the first connection: pinned to the fingerprint accepted then.
    transport: Transport,
    site_key: Option<SiteKey>,
}

impl Login {
    /// The sessions of this login are not encrypted (`--plaintext`); the
    /// server's HTTP gateway is then plain HTTP too.
    pub fn is_plaintext(&self) -> bool {
        matches!(self.transport, Transport::Plaintext)
    }
}

/// What a session logs in with.
#[derive(Clone)]
enum Secret {
    Password(String),
    /// Saved by `netdisk login`, or derived by this process's first login
    /// (so its other sessions skip the password hashing).
    Keys {
        keys: ClientKeys,
        saved: bool,
    },
}

/// Whether to use a login saved by `netdisk login`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SavedLogin {
    Use,
    /// `netdisk login` itself: always the password.
    Ignore,
}

/// Connects and logs in: the one place that decides how a client reaches
/// the server and whether to trust it.
pub async fn connect(target: Target<'_>) -> anyhow::Result<(Session, Login)> {
    connect_with(target, SavedLogin::Use).await
}

pub async fn connect_with(
    target: Target<'_>,
    saved_login: SavedLogin,
) -> anyhow::Result<(Session, Login)> {
    let server = target.remote.server.clone();
    let user = user_name(target.remote)?;
    let site_key = target
        .security
        .site_key_file
        .as_deref()
        .map(crate::serve::read_site_key)
        .transpose()?;
    let transport = transport_for(target)?;
    let connect_timeout = Duration::from_secs(target.remote.connect_timeout);
    // Connect first, so an unreachable server is reported before any prompt.
    let mut client = open_connection(&server, &transport, connect_timeout).await?;
    let logged_in = async {
        let transport = match (&transport, client.server_fingerprint()) {
            (Transport::Tls(ServerTrust::FirstUse), Some(fingerprint)) => {
                trust_on_first_use(&server, fingerprint, target.trust.accept_new_host)?;
                Transport::Tls(ServerTrust::Fingerprint(fingerprint))
            }
            _ => transport,
        };
        let secret = match (password_from_environment(), saved_login) {
            (Some(password), _) => Secret::Password(password),
            (None, SavedLogin::Use) => match SavedLogins::default_location()
                .ok()
                .map(|logins| logins.find(&server, &user))
                .transpose()?
                .flatten()
            {
                Some(keys) => Secret::Keys { keys, saved: true },
                None => Secret::Password(login_password(&user, &server)?),
            },
            (None, SavedLogin::Ignore) => Secret::Password(login_password(&user, &server)?),
        };
        let mut login = Login {
            secret,
            server,
            user,
            connect_timeout,
            transport,
            site_key,
        };
        let keys = log_in(&mut client, &login).await?;
        login.secret = Secret::Keys { keys, saved: false };
        anyhow::Ok(login)
    }
    .await;
    match logged_in {
        Ok(login) => Ok((client, login)),
        Err(e) => {
            close(client).await;
            Err(e)
        }
    }
}

/// `Client::connect_within`, with a hint at the flag when it times out.
async fn open_connection(
    server: &str,
    transport: &Transport,
    limit: Duration,
) -> anyhow::Result<Session> {
    match Client::connect_within(server, transport, limit).await {
        Err(e @ ClientError::ConnectTimeout { .. }) => match transport {
            Transport::Plaintext => Err(anyhow!(
                "{e} (--connect-timeout; a server that requires TLS sends no hello: leave out --plaintext if it does)"
            )),
            Transport::Tls(_) => Err(anyhow!("{e} (--connect-timeout)")),
        },
        result => Ok(result?),
    }
}

/// Ends a session cleanly (see `Client::close`). Whatever the command did
/// is done by now, so a failure to close changes nothing worth reporting.
pub async fn close(client: Session) {
    let _ = client.close().await;
}

/// --user, else the local login name.
pub fn user_name(remote: &Remote) -> anyhow::Result<String> {
    match &remote.user {
        Some(user) => Ok(user.clone()),
        None => std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .map_err(|_| anyhow!("no user name: use --user NAME or set NETDISK_USER")),
    }
}

/// The keys a session logged in with (what `netdisk login` saves).
pub fn login_keys(login: &Login) -> Option<&ClientKeys> {
    match &login.secret {
        Secret::Keys { keys, .. } => Some(keys),
        Secret::Password(_) => None,
    }
}

/// Another session with the same credentials and the same trusted server.
pub async fn connect_as(login: &Login) -> anyhow::Result<Session> {
    let mut client =
        open_connection(&login.server, &login.transport, login.connect_timeout).await?;
    match log_in(&mut client, login).await {
        Ok(_) => Ok(client),
        Err(e) => {
            close(client).await;
            Err(e)
        }
    }
}

async fn log_in(client: &mut Session, login: &Login) -> anyhow::Result<ClientKeys> {
    if client.requires_site_key() {
        let Some(key) = &login.site_key else {
            bail!(
                "{} admits only clients holding its site key: pass --site-key-file FILE (or set NETDISK_SITE_KEY_FILE)",
                login.server
            );
        };
        client.prove_site_key(key).await?;
    }
    match &login.secret {
        Secret::Password(password) => client
            .login_with(&login.user, Credential::Password(password))
            .await
            .with_context(|| format!("login to {}", login.server)),
        Secret::Keys { keys, saved } => {
            let result = client.login_with(&login.user, Credential::Keys(keys)).await;
            if *saved {
                result.with_context(|| {
                    format!(
                        "login to {} as {} with the login saved by 'netdisk login' (run it again if the password was changed, or 'netdisk logout' to forget it)",
                        login.server, login.user
                    )
                })
            } else {
                result.with_context(|| format!("login to {}", login.server))
            }
        }
    }
}

fn transport_for(target: Target<'_>) -> anyhow::Result<Transport> {
    if target.security.plaintext {
        if !crate::serve::is_loopback(&target.remote.server) {
            print_error_line(format_args!(
                "netdisk: warning: --plaintext to {}: files travel unencrypted",
                target.remote.server
            ));
        }
        return Ok(Transport::Plaintext);
    }
    if let Some(text) = &target.trust.fingerprint {
        let fingerprint: Fingerprint = text.parse()?;
        return Ok(Transport::Tls(ServerTrust::Fingerprint(fingerprint)));
    }
    if let Some(ca) = &target.trust.ca {
        return Ok(Transport::Tls(ServerTrust::ca_from_pem_file(ca)?));
    }
    Ok(Transport::Tls(ServerTrust::FirstUse))
}

/// Checks a server's fingerprint against known_hosts; a new server is
/// remembered if the user says so (a prompt, or --accept-new-host).
fn trust_on_first_use(
    server: &str,
    fingerprint: Fingerprint,
    accept_new: bool,
) -> anyhow::Result<()> {
    let hosts = KnownHosts::default_location()?;
    match hosts.check(server, fingerprint)? {
        Known::Match => Ok(()),
        Known::Mismatch { line, pinned } => bail!(
            "WARNING: THE CERTIFICATE OF {server} HAS CHANGED!\n\
             It presents {fingerprint}, but {} line {line} pins {pinned}.\n\
             Someone may be intercepting the connection, or the server's certificate was replaced.\n\
             If you know it was replaced on purpose, remove line {line} of {} and connect again.",
            hosts.path().display(),
            hosts.path().display()
        ),
        Known::Unknown => {
            if !accept_new {
                if !std::io::stdin().is_terminal() {
                    bail!(
                        "{server} is not a known server (certificate fingerprint {fingerprint}). \
                         Check the fingerprint with its operator ('netdisk serve' prints it), then \
                         run again with --accept-new-host, or with --fingerprint {fingerprint}"
                    );
                }
                // A question nobody can see cannot be answered: fail then.
                write!(
                    std::io::stderr(),
                    "The authenticity of netdisk server {server} can't be established.\n\
                     Its certificate fingerprint is {fingerprint}.\n\
                     Trust it and remember it in {}? (yes/no) ",
                    hosts.path().display()
                )?;
                std::io::stderr().flush()?;
                if !ask_yes_no(&mut std::io::stdin().lock(), &mut std::io::stderr()) {
                    bail!("{server} not trusted: nothing was sent to it");
                }
            }
            hosts.add(server, fingerprint)?;
            print_error_line(format_args!(
                "netdisk: added {server} ({fingerprint}) to {}",
                hosts.path().display()
            ));
            Ok(())
        }
    }
}

/// Answers to a yes/no question that are neither before it counts as no.
const ANSWER_ATTEMPTS: usize = 3;

/// What an answer means, like ssh (any case): `None` if neither yes nor no.
fn yes_or_no(answer: &str) -> Option<bool> {
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Some(true),
        "n" | "no" | "" => Some(false),
        _ => None,
    }
}

/// Reads answers until one is yes or no, asking again after anything
/// else; the end of the input, or too many unclear or unreadable
/// answers, mean no.
fn ask_yes_no(input: &mut impl BufRead, prompt: &mut impl Write) -> bool {
    for _ in 0..ANSWER_ATTEMPTS {
        let mut answer = String::new();
        match input.read_line(&mut answer) {
            Ok(0) => return false,
            // Not text (say, invalid UTF-8): one more unclear answer.
            Err(_) => {}
            Ok(_) => {
                if let Some(yes) = yes_or_no(&answer) {
                    return yes;
                }
            }
        }
        let _ = write!(prompt, "Please type 'yes' or 'no': ");
        let _ = prompt.flush();
    }
    false
}

pub async fn run(target: Target<'_>, output: Output, command: Command) -> anyhow::Result<()> {
    let (mut client, login) = connect(target).await?;
    let result = execute(&mut client, &login, output, command).await;
    close(client).await;
    result
}

/// Runs one client command on a logged-in session.
pub async fn execute(
    client: &mut Session,
    login: &Login,
    output: Output,
    command: Command,
) -> anyhow::Result<()> {
    match command {
        Command::Pwd => print_line(client.pwd().await.context("pwd")?),
        Command::Cd(args) => print_line(client.cd(&args.path).await.context("cd")?),
        Command::Ls(args) => {
            let listing = match args.path.as_deref() {
                Some(path) => match crate::remote_glob::list(client, path).await.context("ls")? {
                    Some((dir, entries)) => netdisk_proto::response::Listing {
                        path: dir,
                        entries,
                        ..Default::default()
                    },
                    None => client.ls(Some(path)).await.context("ls")?,
                },
                None => client.ls(None).await.context("ls")?,
            };
            for entry in &listing.entries {
                let text = if args.long {
                    long_line(entry, args.human)
                } else if entry.kind == EntryKind::Dir {
                    format!("{}/", entry.name)
                } else {
                    entry.name.clone()
                };
                output.data(text, entry_json(&listing.path, entry));
            }
        }
        Command::Stat(args) => {
            for path in crate::remote_glob::expand(client, args.paths)
                .await
                .context("stat")?
            {
                let info = client.stat_with_hash(&path).await.context("stat")?;
                let entry = &info.entry;
                let mut text = format!(
                    "path:     {}\nkind:     {}\nsize:     {} ({})\nmodified: {}",
                    info.path,
                    kind_name(entry.kind),
                    entry.size,
                    human(entry.size),
                    modified(entry)
                );
                if let Some(mode) = entry.mode {
                    text.push_str(&format!("\nmode:     {mode:04o} ({})", permissions(mode)));
                }
                if let Some(blake3) = &info.blake3 {
                    text.push_str(&format!("\nblake3:   {blake3}"));
                }
                let mut json = entry_json(&info.path, entry);
                json["path"] = info.path.clone().into();
                json["blake3"] = info.blake3.clone().into();
                output.data(text, json);
            }
        }
        Command::Mkdir(args) => {
            let parents = args.parents;
            each(client, "mkdir", args.paths, |c, p| {
                Box::pin(async move { c.mkdir(&p, parents).await })
            })
            .await?;
        }
        Command::Rm(args) => {
            let paths = crate::remote_glob::expand(client, args.paths)
                .await
                .context("rm")?;
            if args.recursive {
                each(client, "rm", paths, |c, p| {
                    Box::pin(async move { c.rm_tree(&p).await })
                })
                .await?;
            } else {
                each(client, "rm", paths, |c, p| {
                    Box::pin(async move { c.rm(&p).await })
                })
                .await?;
            }
        }
        Command::Rmdir(args) => {
            let paths = crate::remote_glob::expand(client, args.paths)
                .await
                .context("rmdir")?;
            each(client, "rmdir", paths, |c, p| {
                Box::pin(async move { c.rmdir(&p).await })
            })
            .await?;
        }
        Command::Mv(args) => client.mv(&args.from, &args.to).await.context("mv")?,
        Command::Df(args) => {
            let usage = client.df().await.context("df")?;
            let free = usage
                .quota
                .map(|q| q.saturating_sub(usage.used.saturating_add(usage.reserved)));
            let show = |bytes: Option<u64>| match bytes {
                Some(b) if args.human => human(b),
                Some(b) => format!("{} ({b} bytes)", human(b)),
                None => "unlimited".to_owned(),
            };
            let text = format!(
                "used:     {}\n  of it:  {} in the trash (netdisk trash ls)\n          {} in old versions of files (netdisk versions PATH)\n          {} in interrupted uploads, kept to resume (put again to continue)\nreserved: {} (uploads in progress)\nquota:    {}\nfree:     {}",
                show(Some(usage.used)),
                show(Some(usage.trash)),
                show(Some(usage.versions)),
                show(Some(usage.partials)),
                show(Some(usage.reserved)),
                show(usage.quota),
                show(free)
            );
            let json = serde_json::json!({
                "used": usage.used,
                "trash": usage.trash,
                "versions": usage.versions,
                "partials": usage.partials,
                "reserved": usage.reserved,
                "quota": usage.quota,
                "free": free,
            });
            output.data(text, json);
        }
        Command::Put(args) => {
            crate::transfer::put(client, output, transfer_request(args, login)?).await?
        }
        Command::Get(mut args) => {
            // Sources may be patterns; the last argument is local.
            let dest = (args.paths.len() > 1).then(|| args.paths.pop()).flatten();
            args.paths = crate::remote_glob::expand(client, std::mem::take(&mut args.paths))
                .await
                .context("get")?;
            args.paths.extend(dest);
            crate::transfer::get(client, output, transfer_request(args, login)?).await?
        }
        Command::Cat(args) => {
            let paths = crate::remote_glob::expand(client, args.paths)
                .await
                .context("cat")?;
            let mut failed = false;
            for path in paths {
                if let Err(e) = crate::transfer::get_to_stdout(client, &path).await {
                    report(&e);
                    failed = true;
                }
            }
            if failed {
                return Err(AlreadyReported.into());
            }
        }
        Command::Partials(PartialsCommand::Ls) => {
            for partial in client.partials().await.context("partials")? {
                let expires = partial
                    .expires
                    .map(|secs| format!(", kept until {}", rfc3339(secs)))
                    .unwrap_or_default();
                let active = if partial.active {
                    ", uploading now"
                } else {
                    ""
                };
                let text = format!(
                    "{}  {} of {} kept{expires}{active}",
                    partial.path,
                    human(partial.kept),
                    human(partial.size)
                );
                let json = serde_json::json!({
                    "path": partial.path,
                    "size": partial.size,
                    "kept": partial.kept,
                    "modified": partial.modified,
                    "expires": partial.expires,
                    "active": partial.active,
                });
                output.data(text, json);
            }
        }
        Command::Partials(PartialsCommand::Rm(args)) => {
            let paths = if args.all {
                let all = client.partials().await.context("partials rm")?;
                all.into_iter().map(|p| p.path).collect()
            } else {
                args.paths
            };
            each(client, "partials rm", paths, |c, p| {
                Box::pin(async move { c.partial_rm(&p).await })
            })
            .await?;
        }
        Command::Share(command) => crate::links::share(client, login, output, command).await?,
        Command::Token(command) => crate::links::token(client, output, command).await?,
        Command::Trash(command) => crate::kept::trash(client, output, command).await?,
        Command::Versions(args) => crate::kept::versions(client, output, args).await?,
    }
    Ok(())
}

pub(crate) fn rfc3339(secs: i64) -> String {
    netdisk_proto::time::from_epoch_secs(secs)
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_else(|| "-".into())
}

/// "rwxr-xr-x" for 0o755.
fn permissions(mode: u32) -> String {
    (0..9)
        .map(|bit| {
            let set = mode & (0o400 >> bit) != 0;
            match (set, bit % 3) {
                (false, _) => '-',
                (true, 0) => 'r',
                (true, 1) => 'w',
                (true, _) => 'x',
            }
        })
        .collect()
}

fn transfer_request(
    args: crate::cli::TransferArgs,
    login: &Login,
) -> anyhow::Result<crate::transfer::TransferRequest> {
    use crate::incremental::Rule;
    let skip = if args.ignore_existing {
        Some(Rule::Existing)
    } else if args.checksum {
        Some(Rule::Checksum)
    } else if args.recursive {
        Some(Rule::SizeAndTime)
    } else {
        None
    };
    Ok(crate::transfer::TransferRequest {
        login: login.clone(),
        paths: args.paths,
        resume: !args.no_resume,
        recursive: args.recursive,
        follow_links: args.follow_links,
        preserve: args.preserve,
        skip,
        dry_run: args.dry_run,
        filter: crate::filter::Filter::new(&args.exclude, &args.include)?,
    })
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
    entry.modified.map(rfc3339).unwrap_or_else(|| "-".into())
}

pub(crate) fn long_line(entry: &Entry, human_sizes: bool) -> String {
    let kind = match entry.kind {
        EntryKind::File => '-',
        EntryKind::Dir => 'd',
        EntryKind::Symlink => 'l',
        EntryKind::Other => '?',
    };
    let mode = entry.mode.map(permissions).unwrap_or_else(|| "?".repeat(9));
    let suffix = if entry.kind == EntryKind::Dir {
        "/"
    } else {
        ""
    };
    let size = if human_sizes {
        human(entry.size)
    } else {
        entry.size.to_string()
    };
    format!(
        "{kind}{mode} {size:>14} {:<20} {}{suffix}",
        modified(entry),
        entry.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_bits_read_like_ls() {
        assert_eq!(permissions(0o755), "rwxr-xr-x");
        assert_eq!(permissions(0o640), "rw-r-----");
        assert_eq!(permissions(0), "---------");
    }

    #[test]
    fn yes_and_no_are_understood_in_any_case_and_empty_is_no() {
        for yes in ["y", "Y", "yes", "YES", "Yes\n", "  y \r\n"] {
            assert_eq!(yes_or_no(yes), Some(true), "{yes:?}");
        }
        for no in ["n", "N", "no", "No\n", "", "\n", "  "] {
            assert_eq!(yes_or_no(no), Some(false), "{no:?}");
        }
        for unclear in ["maybe", "yess", "ye", "nope", "y y", "oui"] {
            assert_eq!(yes_or_no(unclear), None, "{unclear:?}");
        }
    }

    fn ask(input: &[u8]) -> (bool, String) {
        let mut prompt = Vec::new();
        let yes = ask_yes_no(&mut std::io::Cursor::new(input), &mut prompt);
        (yes, String::from_utf8(prompt).expect("prompt text"))
    }

    #[test]
    fn unclear_answers_are_asked_again_a_bounded_number_of_times() {
        assert_eq!(ask(b"y\n"), (true, String::new()));
        assert_eq!(ask(b"\n"), (false, String::new()));
        let (yes, prompt) = ask(b"maybe\nYes\n");
        assert!(yes);
        assert_eq!(prompt.matches("Please type 'yes' or 'no'").count(), 1);
        // Not UTF-8 counts as one more unclear answer.
        assert!(ask(b"\xff\xfe\nyes\n").0);
        // End of input is no.
        assert_eq!(ask(b""), (false, String::new()));
        assert!(!ask(b"what\n").0);
        assert!(ask(b"yes").0, "a last line without its newline counts");
        let (yes, prompt) = ask(b"a\nb\nc\nyes\n");
        assert!(!yes, "gave up after {ANSWER_ATTEMPTS} unclear answers");
        assert_eq!(prompt.matches("Please type").count(), ANSWER_ATTEMPTS);
    }
}

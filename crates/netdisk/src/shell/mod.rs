//! `netdisk shell`: one login, then commands like sftp's.
//!
//! On a terminal: a `user@server:cwd>` prompt with line editing, history
//! and tab completion of remote paths (rustyline, on its own thread; it
//! asks the session for directory listings over a channel). From a pipe:
//! one command per line, no prompt, stopping at the first failure with a
//! non-zero exit status, like `sftp -b`.

use crate::cli::RemoteCommand;
use crate::output::{print_line, Output};
use crate::remote::{close, connect, execute, Login, Session, Target};
use crate::{report, AlreadyReported};
use clap::{Parser, Subcommand};
use netdisk_proto::EntryKind;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// One line typed in the shell.
#[derive(Debug, Parser)]
#[command(
    no_binary_name = true,
    disable_version_flag = true,
    disable_help_subcommand = true,
    name = ""
)]
struct Line {
    #[command(subcommand)]
    command: ShellCommand,
}

#[derive(Debug, Subcommand)]
enum ShellCommand {
    #[command(flatten)]
    Remote(RemoteCommand),
    /// Change the local directory.
    Lcd { path: Option<PathBuf> },
    /// Print the local directory.
    Lpwd,
    /// List a local directory.
    Lls { path: Option<PathBuf> },
    /// List the commands.
    Help,
    /// Leave the shell.
    #[command(alias = "quit")]
    Exit,
}

/// What running a line means for the shell loop.
enum Next {
    Continue,
    Exit,
}

async fn run_line(
    client: &mut Session,
    login: &Login,
    output: Output,
    text: &str,
) -> anyhow::Result<Next> {
    let words = shell_words::split(text).map_err(|e| anyhow::anyhow!("{e}"))?;
    if words.is_empty() {
        return Ok(Next::Continue);
    }
    let line = match Line::try_parse_from(&words) {
        Ok(line) => line,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            print_line(e.to_string().trim_end());
            return Ok(Next::Continue);
        }
        Err(e) => {
            return Err(anyhow::anyhow!(
                "{}",
                e.to_string()
                    .lines()
                    .next()
                    .unwrap_or("bad command")
                    .trim_start_matches("error: ")
            ))
        }
    };
    let remote = match line.command {
        ShellCommand::Exit => return Ok(Next::Exit),
        ShellCommand::Help => {
            let mut help = <Line as clap::CommandFactory>::command();
            print_line(help.render_help());
            return Ok(Next::Continue);
        }
        ShellCommand::Lcd { path } => {
            let target = match path.or_else(|| std::env::var_os("HOME").map(PathBuf::from)) {
                Some(target) => target,
                None => anyhow::bail!("lcd: no directory given and HOME is not set"),
            };
            std::env::set_current_dir(&target)
                .map_err(|e| anyhow::anyhow!("lcd {}: {e}", target.display()))?;
            return Ok(Next::Continue);
        }
        ShellCommand::Lpwd => {
            print_line(std::env::current_dir()?.display());
            return Ok(Next::Continue);
        }
        ShellCommand::Lls { path } => {
            let dir = path.unwrap_or_else(|| PathBuf::from("."));
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .map_err(|e| anyhow::anyhow!("lls {}: {e}", dir.display()))?
                .flatten()
                .map(|e| {
                    let dir_mark = if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        "/"
                    } else {
                        ""
                    };
                    format!("{}{dir_mark}", e.file_name().to_string_lossy())
                })
                .collect();
            names.sort();
            for name in names {
                print_line(name);
            }
            return Ok(Next::Continue);
        }
        ShellCommand::Remote(command) => command,
    };
    // `cd` prints its new directory in one-shot use; the prompt shows it here.
    if let RemoteCommand::Cd(args) = &remote {
        client
            .cd(&args.path)
            .await
            .map_err(|e| anyhow::anyhow!("cd: {e}"))?;
        return Ok(Next::Continue);
    }
    execute(client, login, output, remote).await?;
    Ok(Next::Continue)
}

pub async fn run(target: Target<'_>, output: Output) -> anyhow::Result<()> {
    let (mut client, login) = connect(target).await?;
    let result = if std::io::stdin().is_terminal() {
        interactive(&mut client, &login, output).await
    } else {
        batch(&mut client, &login, output).await
    };
    close(client).await;
    result
}

/// Commands from a pipe: no prompt; the first failure ends the run.
async fn batch(client: &mut Session, login: &Login, output: Output) -> anyhow::Result<()> {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match run_line(client, login, output, line).await {
            Ok(Next::Continue) => {}
            Ok(Next::Exit) => return Ok(()),
            Err(e) => {
                if e.downcast_ref::<AlreadyReported>().is_none() {
                    report(&e);
                }
                return Err(AlreadyReported.into());
            }
        }
    }
    Ok(())
}

/// What the line-editor thread asks of the session.
enum Event {
    Line(String),
    End,
    /// List this remote directory for tab completion.
    Complete(String, std::sync::mpsc::Sender<Vec<(String, bool)>>),
}

async fn interactive(client: &mut Session, login: &Login, output: Output) -> anyhow::Result<()> {
    let (events_tx, mut events) = mpsc::channel::<Event>(4);
    let (prompts_tx, prompts) = std::sync::mpsc::channel::<String>();
    let editor_thread = std::thread::spawn(move || line_editor(prompts, events_tx));
    let who = format!("{}@{}", login.user, login.server);
    let mut cwd = client.pwd().await?;
    let _ = prompts_tx.send(format!("{who}:{cwd}> "));
    while let Some(event) = events.recv().await {
        match event {
            Event::Complete(dir, reply) => {
                let listing = client
                    .ls(Some(&dir))
                    .await
                    .map(|l| l.entries)
                    .unwrap_or_default();
                let _ = reply.send(
                    listing
                        .into_iter()
                        .map(|e| (e.name, e.kind == EntryKind::Dir))
                        .collect(),
                );
            }
            Event::End => break,
            Event::Line(line) => {
                match run_line(client, login, output, &line).await {
                    Ok(Next::Exit) => break,
                    Ok(Next::Continue) => {}
                    Err(e) => {
                        if e.downcast_ref::<AlreadyReported>().is_none() {
                            report(&e);
                        }
                    }
                }
                // The session may be gone (server stopped): say so and leave.
                cwd = match client.pwd().await {
                    Ok(cwd) => cwd,
                    Err(e) => {
                        report(&anyhow::Error::new(e).context("connection"));
                        break;
                    }
                };
                let _ = prompts_tx.send(format!("{who}:{cwd}> "));
            }
        }
    }
    drop(prompts_tx);
    let _ = tokio::task::spawn_blocking(move || editor_thread.join()).await;
    Ok(())
}

fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state"))
        })?;
    Some(state.join("netdisk").join("history"))
}

/// The blocking line editor: waits for a prompt, reads a line, sends it.
fn line_editor(prompts: std::sync::mpsc::Receiver<String>, events: mpsc::Sender<Event>) {
    let Ok(mut editor) = Editor::<ShellHelper, DefaultHistory>::new() else {
        let _ = events.blocking_send(Event::End);
        return;
    };
    editor.set_helper(Some(ShellHelper {
        events: events.clone(),
    }));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    while let Ok(prompt) = prompts.recv() {
        let event = match editor.readline(&prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                Event::Line(line)
            }
            // Ctrl-C abandons the line, like a shell.
            Err(ReadlineError::Interrupted) => Event::Line(String::new()),
            Err(_) => Event::End,
        };
        let end = matches!(event, Event::End);
        if events.blocking_send(event).is_err() || end {
            break;
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(path);
    }
}

/// Tab completion of command names and remote paths.
struct ShellHelper {
    events: mpsc::Sender<Event>,
}

const COMMANDS: &[&str] = &[
    "cd", "df", "exit", "get", "help", "lcd", "lls", "lpwd", "ls", "mkdir", "mv", "put", "pwd",
    "quit", "rm", "rmdir", "stat",
];

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(' ').map_or(0, |i| i + 1);
        let word = &before[start..];
        if start == 0 {
            let names = COMMANDS
                .iter()
                .filter(|c| c.starts_with(word))
                .map(|c| Pair {
                    display: (*c).to_owned(),
                    replacement: format!("{c} "),
                })
                .collect();
            return Ok((0, names));
        }
        let (dir, prefix) = match word.rfind('/') {
            Some(i) => (&word[..=i], &word[i + 1..]),
            None => ("", word),
        };
        let (reply_tx, reply) = std::sync::mpsc::channel();
        let listed = if dir.is_empty() { "." } else { dir };
        if self
            .events
            .blocking_send(Event::Complete(listed.to_owned(), reply_tx))
            .is_err()
        {
            return Ok((start, Vec::new()));
        }
        let entries = reply
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        let candidates = entries
            .into_iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, is_dir)| Pair {
                display: if is_dir {
                    format!("{name}/")
                } else {
                    name.clone()
                },
                replacement: format!("{dir}{name}{}", if is_dir { "/" } else { " " }),
            })
            .collect();
        Ok((start, candidates))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn shell_commands_are_well_formed() {
        Line::command().debug_assert();
        let parsed = Line::try_parse_from(["put", "-r", "dir", "remote/"]).expect("parse");
        assert!(
            matches!(parsed.command, ShellCommand::Remote(RemoteCommand::Put(args)) if args.recursive && args.paths == ["dir", "remote/"])
        );
        assert!(matches!(
            Line::try_parse_from(["quit"]).expect("alias").command,
            ShellCommand::Exit
        ));
        assert!(Line::try_parse_from(["frobnicate"]).is_err());
    }
}

//! `netdisk shell`: one login, then commands like sftp's.
//!
//! On a terminal: a `user@server:cwd>` prompt with line editing, history
//! and completion of local and remote paths (`editor`, `complete`); the
//! session is kept alive at the prompt and reconnected when it was lost
//! (`connection`); Ctrl-C stops the running command and comes back to the
//! prompt. From a pipe: one command per line, no prompt, stopping at the
//! first failure with a non-zero exit status (unless the line starts with
//! `-`), like `sftp -b`. Local arguments get `~` and wildcards expanded
//! here (`local`); remote ones go to the server as they are.

mod complete;
mod connection;
mod editor;
mod local;

use crate::cli::RemoteCommand;
use crate::output::{print_line, Output};
use crate::remote::{connect, Target};
use crate::{report, set_report_prefix, AlreadyReported};
use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand};
use connection::Connection;
use editor::Event;
use local::CommandInput;
use std::io::IsTerminal;
use tokio::io::AsyncBufReadExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// One line typed in the shell.
#[derive(Debug, Parser)]
#[command(
    no_binary_name = true,
    disable_version_flag = true,
    disable_help_subcommand = true,
    name = "",
    after_help = MORE_HELP
)]
struct Line {
    #[command(subcommand)]
    command: ShellCommand,
}

/// What `help` says after the commands.
const MORE_HELP: &str = "\
Also:
  !COMMAND  Run COMMAND in the local shell (sh -c); a lone ! starts $SHELL
  cd        With no directory: back to the home (~)
Local paths (lcd, lls, lmkdir, put's sources, get's destination) may start
with ~ (the local home); put's sources and lls's paths may use wildcards
(*.jpg). Remote paths go to the server as typed. Ctrl-C stops a running
command and returns to the prompt.
In a script (commands from a pipe), a line starting with - may fail without
ending the script.";

#[derive(Debug, Subcommand)]
enum ShellCommand {
    #[command(flatten)]
    Remote(RemoteCommand),
    /// Change the local directory (the local home without an argument).
    Lcd { path: Option<String> },
    /// Print the local directory.
    Lpwd,
    /// List local files and directories.
    Lls(LlsArgs),
    /// Create local directories.
    Lmkdir(LmkdirArgs),
    /// List the commands.
    Help,
    /// Leave the shell.
    #[command(alias = "quit")]
    Exit,
}

#[derive(Debug, Args)]
struct LlsArgs {
    /// Long form: kind, size, modification time, name.
    #[arg(short = 'l')]
    long: bool,
    paths: Vec<String>,
}

#[derive(Debug, Args)]
struct LmkdirArgs {
    /// Create missing parents; no error if the directory exists.
    #[arg(short = 'p', long = "parents")]
    parents: bool,
    #[arg(required = true)]
    paths: Vec<String>,
}

/// The names a line may start with, for completion.
fn command_names() -> Vec<String> {
    let line = Line::command();
    let mut names: Vec<String> = line
        .get_subcommands()
        .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

/// What a line asks for.
enum Action {
    Nothing,
    /// A `!COMMAND` (empty: an interactive shell).
    ShellEscape(String),
    Command(ShellCommand),
}

/// Reads a line: `!COMMAND`, or words (split like a shell's) parsed by
/// clap, with `~` and wildcards expanded in the local arguments.
fn parse(text: &str) -> anyhow::Result<Action> {
    if let Some(command) = text.strip_prefix('!') {
        return Ok(Action::ShellEscape(command.to_owned()));
    }
    let mut words = shell_words::split(text).map_err(|e| anyhow::anyhow!("{e}"))?;
    if words.is_empty() {
        return Ok(Action::Nothing);
    }
    if words == ["cd"] {
        words.push("~".into());
    }
    let line = match Line::try_parse_from(&words) {
        Ok(line) => line,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            print_line(e.to_string().trim_end());
            return Ok(Action::Nothing);
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
    Ok(Action::Command(match line.command {
        ShellCommand::Remote(command) => ShellCommand::Remote(expand_local_arguments(command)?),
        command => command,
    }))
}

/// `put`'s sources and `get`'s destination are local paths: `~` and
/// wildcards there mean what they mean in a shell. Remote paths stay as
/// typed (the server side decides what they mean).
fn expand_local_arguments(command: RemoteCommand) -> anyhow::Result<RemoteCommand> {
    Ok(match command {
        RemoteCommand::Put(mut args) => {
            let destination = if args.paths.len() > 1 {
                args.paths.pop()
            } else {
                None
            };
            let mut sources = Vec::new();
            for pattern in &args.paths {
                sources.extend(local::expand_to_text(pattern).context("put")?);
            }
            // One pattern, several files: they go to the current directory,
            // not the last of them.
            let destination = match destination {
                None if sources.len() > 1 => Some(".".to_owned()),
                other => other,
            };
            sources.extend(destination);
            args.paths = sources;
            RemoteCommand::Put(args)
        }
        RemoteCommand::Get(mut args) if args.paths.len() > 1 => {
            if let Some(destination) = args.paths.last_mut() {
                let local = local::expand_tilde(destination).context("get")?;
                *destination = local
                    .into_os_string()
                    .into_string()
                    .map_err(|_| anyhow::anyhow!("get: the local home is not UTF-8"))?;
            }
            RemoteCommand::Get(args)
        }
        other => other,
    })
}

/// What running a line means for the shell loop.
enum Next {
    Continue,
    Exit,
}

/// Where the lines come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A person at a terminal: Ctrl-C and reconnects are handled.
    Prompt,
    /// A script from a pipe.
    Batch,
}

async fn run_line(
    connection: &mut Connection,
    output: Output,
    text: &str,
    mode: Mode,
) -> anyhow::Result<Next> {
    match parse(text)? {
        Action::Nothing => {}
        Action::ShellEscape(command) => {
            let input = match mode {
                Mode::Prompt => CommandInput::Terminal,
                Mode::Batch => CommandInput::None,
            };
            local::shell_escape(&command, input).await?
        }
        Action::Command(command) => match command {
            ShellCommand::Exit => return Ok(Next::Exit),
            ShellCommand::Help => print_line(Line::command().render_help()),
            ShellCommand::Lcd { path } => local::lcd(path.as_deref())?,
            ShellCommand::Lpwd => local::lpwd()?,
            ShellCommand::Lls(args) => local::lls(args.long, &args.paths)?,
            ShellCommand::Lmkdir(args) => local::lmkdir(args.parents, &args.paths)?,
            ShellCommand::Remote(command) => match mode {
                Mode::Prompt => connection.run_at_prompt(output, command).await?,
                Mode::Batch => connection.run(output, command).await?,
            },
        },
    }
    Ok(Next::Continue)
}

pub async fn run(target: Target<'_>, output: Output) -> anyhow::Result<()> {
    let (session, login) = connect(target).await?;
    let mut connection = Connection::new(session, login);
    let result = if std::io::stdin().is_terminal() {
        interactive(&mut connection, output).await
    } else {
        batch(&mut connection, output).await
    };
    connection.close().await;
    result
}

/// Commands from a pipe: no prompt; the first failure ends the run, unless
/// its line starts with `-`. Every error names its line.
async fn batch(connection: &mut Connection, output: Output) -> anyhow::Result<()> {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut number = 0u64;
    while let Some(line) = lines.next_line().await? {
        number += 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (line, may_fail) = match line.strip_prefix('-') {
            Some(rest) => (rest.trim_start(), true),
            None => (line, false),
        };
        set_report_prefix(format!("line {number}: "));
        let result = run_line(connection, output, line, Mode::Batch).await;
        if let Err(e) = &result {
            if e.downcast_ref::<AlreadyReported>().is_none() {
                report(e);
            }
        }
        set_report_prefix(String::new());
        match result {
            Ok(Next::Continue) => {}
            Ok(Next::Exit) => return Ok(()),
            Err(_) if may_fail => {}
            Err(_) => return Err(AlreadyReported.into()),
        }
    }
    Ok(())
}

async fn interactive(connection: &mut Connection, output: Output) -> anyhow::Result<()> {
    // Before the editor thread starts: rustyline swaps in its own SIGINT
    // handler while it reads a line and then puts back the one it found,
    // which must be tokio's by then (Ctrl-C during a command is tokio's).
    let _registered = signal(SignalKind::interrupt()).context("watching for Ctrl-C")?;
    let (events_tx, mut events) = mpsc::channel::<Event>(4);
    let (prompts_tx, prompts) = std::sync::mpsc::channel::<String>();
    let editor_thread = std::thread::spawn(move || editor::run(prompts, events_tx));
    let _ = prompts_tx.send(connection.prompt());
    'session: loop {
        // Only while the prompt waits: never during a command.
        let event = match connection.keepalive_interval() {
            Some(every) => tokio::select! {
                event = events.recv() => event,
                () = tokio::time::sleep(every) => {
                    connection.keep_alive().await;
                    continue;
                }
            },
            None => events.recv().await,
        };
        match event {
            None | Some(Event::End) => break,
            Some(Event::Complete(dir, reply)) => {
                let _ = reply.send(connection.listing(&dir).await);
            }
            Some(Event::Lines(lines)) => {
                for line in lines {
                    match run_line(connection, output, &line, Mode::Prompt).await {
                        Ok(Next::Exit) => break 'session,
                        Ok(Next::Continue) => {}
                        Err(e) => {
                            if e.downcast_ref::<AlreadyReported>().is_none() {
                                report(&e);
                            }
                        }
                    }
                }
                let _ = prompts_tx.send(connection.prompt());
            }
        }
    }
    drop(prompts_tx);
    let _ = tokio::task::spawn_blocking(move || editor_thread.join()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let names = command_names();
        for name in ["lmkdir", "lls", "put", "quit", "help"] {
            assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
        }
    }

    #[test]
    fn cd_alone_goes_home_and_remote_wildcards_stay_as_typed() {
        assert!(matches!(
            parse("cd").expect("cd"),
            Action::Command(ShellCommand::Remote(RemoteCommand::Cd(args))) if args.path == "~"
        ));
        assert!(matches!(
            parse("rm *.tmp 'a b'").expect("rm"),
            Action::Command(ShellCommand::Remote(RemoteCommand::Rm(args))) if args.paths == ["*.tmp", "a b"]
        ));
        assert!(matches!(
            parse("get *.jpg").expect("get"),
            Action::Command(ShellCommand::Remote(RemoteCommand::Get(args))) if args.paths == ["*.jpg"]
        ));
        assert!(matches!(
            parse("!echo 'hi there'").expect("!"),
            Action::ShellEscape(command) if command == "echo 'hi there'"
        ));
    }

    #[test]
    fn local_arguments_are_expanded() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["a.jpg", "b.jpg", "c.txt"] {
            std::fs::write(dir.path().join(name), b"x").expect("file");
        }
        let root = dir.path().display();
        let Action::Command(ShellCommand::Remote(RemoteCommand::Put(args))) =
            parse(&format!("put {root}/*.jpg")).expect("put")
        else {
            panic!("not a put");
        };
        assert_eq!(
            args.paths,
            [format!("{root}/a.jpg"), format!("{root}/b.jpg"), ".".into()],
            "several matches of one pattern go to the current directory"
        );
        let Action::Command(ShellCommand::Remote(RemoteCommand::Put(args))) =
            parse(&format!("put {root}/*.txt *.remote")).expect("put")
        else {
            panic!("not a put");
        };
        assert_eq!(args.paths, [format!("{root}/c.txt"), "*.remote".into()]);
        let error = parse(&format!("put {root}/*.png")).err().expect("no match");
        assert_eq!(
            format!("{error:#}"),
            format!("put: no local match for {root}/*.png")
        );
        let home = std::env::var("HOME").expect("HOME");
        let Action::Command(ShellCommand::Remote(RemoteCommand::Get(args))) =
            parse("get a.txt ~/x").expect("get")
        else {
            panic!("not a get");
        };
        assert_eq!(args.paths, ["a.txt".to_owned(), format!("{home}/x")]);
    }
}

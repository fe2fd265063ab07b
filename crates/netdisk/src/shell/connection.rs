//! The shell's session, kept across the life of the shell: alive while
//! the prompt waits (a cheap request before the server's idle timeout),
//! reconnected before a line when it was lost, and renewed after Ctrl-C
//! stopped a command halfway (its state is then unknown).

use crate::cli::RemoteCommand;
use crate::output::{print_error_line, Output};
use crate::remote::{close, connect_as, execute, Login, Session};
use crate::report;
use anyhow::{anyhow, Context};
use netdisk_proto::EntryKind;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// Keepalives when the server does not say its idle timeout.
const KEEPALIVE_DEFAULT: Duration = Duration::from_secs(60);
/// Keepalives never come closer together than this.
const KEEPALIVE_MIN: Duration = Duration::from_secs(1);
/// A probe or keepalive that takes longer than this means a dead
/// connection (a healthy server answers `pwd` at once).
const PROBE_LIMIT: Duration = Duration::from_secs(10);

pub(super) struct Connection {
    login: Login,
    /// `None` once the session is known to be gone.
    session: Option<Session>,
    /// The remote directory, to come back to after a reconnect.
    cwd: String,
}

impl Connection {
    pub(super) fn new(session: Session, login: Login) -> Connection {
        Connection {
            login,
            session: Some(session),
            // Where every login starts.
            cwd: "~".into(),
        }
    }

    pub(super) fn prompt(&self) -> String {
        format!("{}@{}:{}> ", self.login.user, self.login.server, self.cwd)
    }

    /// Ends the session in good order, if there still is one.
    pub(super) async fn close(self) {
        if let Some(session) = self.session {
            close(session).await;
        }
    }

    /// How long the prompt may wait before [`Connection::keep_alive`]:
    /// half the server's idle timeout; `None` when there is no session.
    pub(super) fn keepalive_interval(&self) -> Option<Duration> {
        let session = self.session.as_ref()?;
        Some(
            session
                .server_idle_timeout()
                .map_or(KEEPALIVE_DEFAULT, |idle| (idle / 2).max(KEEPALIVE_MIN)),
        )
    }

    /// A cheap request so the server does not close the idle session; a
    /// failure only marks it gone (the next line reconnects and says so,
    /// without disturbing the prompt now).
    pub(super) async fn keep_alive(&mut self) {
        if let Some(session) = &mut self.session {
            match tokio::time::timeout(PROBE_LIMIT, session.pwd()).await {
                Ok(Ok(cwd)) => self.cwd = cwd,
                _ => self.session = None,
            }
        }
    }

    /// The entries (name, is a directory) of a remote directory, for
    /// completion: none when it cannot be listed.
    pub(super) async fn listing(&mut self, dir: &str) -> Vec<(String, bool)> {
        let Some(session) = &mut self.session else {
            return Vec::new();
        };
        match tokio::time::timeout(PROBE_LIMIT, session.ls(Some(dir))).await {
            Ok(Ok(listing)) => listing
                .entries
                .into_iter()
                .map(|e| (e.name, e.kind == EntryKind::Dir))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Runs a command on the session as it is (batch mode: a lost
    /// connection fails the command, and with it the script).
    pub(super) async fn run(
        &mut self,
        output: Output,
        command: RemoteCommand,
    ) -> anyhow::Result<()> {
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| anyhow!("no connection to {}", self.login.server))?;
        // `cd` prints its new directory in one-shot use; the prompt shows it here.
        if let RemoteCommand::Cd(args) = &command {
            self.cwd = session.cd(&args.path).await.context("cd")?;
            return Ok(());
        }
        execute(session, &self.login, output, command).await
    }

    /// Runs a command typed at the prompt: first makes sure the session
    /// is there (reconnecting once if it was lost); Ctrl-C stops it and
    /// comes back with a fresh session. A command that failed is never
    /// run again: it may have done part of its work.
    pub(super) async fn run_at_prompt(
        &mut self,
        output: Output,
        command: RemoteCommand,
    ) -> anyhow::Result<()> {
        // A listener made now hears only the Ctrl-C of this command.
        let mut interrupt = signal(SignalKind::interrupt()).context("watching for Ctrl-C")?;
        let finished = tokio::select! {
            result = async {
                self.ready().await?;
                self.run(output, command).await
            } => Some(result),
            _ = interrupt.recv() => None,
        };
        match finished {
            Some(result) => result,
            None => {
                print_error_line("netdisk: interrupted");
                self.renew(&mut interrupt).await;
                Ok(())
            }
        }
    }

    /// Makes sure there is a live session: probes the one there is, and
    /// reconnects once when it is gone (idle cut, server restarted,
    /// network), saying so.
    async fn ready(&mut self) -> anyhow::Result<()> {
        if let Some(session) = &mut self.session {
            match tokio::time::timeout(PROBE_LIMIT, session.pwd()).await {
                Ok(Ok(cwd)) => {
                    self.cwd = cwd;
                    return Ok(());
                }
                _ => self.session = None,
            }
        }
        self.reconnect().await.with_context(|| {
            format!(
                "connection to {} lost; cannot reconnect (the next command tries again)",
                self.login.server
            )
        })?;
        print_error_line(format_args!(
            "netdisk: connection lost; reconnected to {}",
            self.login.server
        ));
        Ok(())
    }

    /// After Ctrl-C: the stopped command may have left requests or body
    /// bytes in flight, so the session is dropped (an orderly close could
    /// wait on a download still arriving) and a fresh one opened. The
    /// server keeps the bytes of an interrupted resumable upload, so a
    /// repeated `put` resumes. Another Ctrl-C gives up on reconnecting.
    async fn renew(&mut self, interrupt: &mut Signal) {
        self.session = None;
        let renewed = tokio::select! {
            result = self.reconnect() => result,
            _ = interrupt.recv() => Err(anyhow!("interrupted")),
        };
        if let Err(e) = renewed {
            report(&e.context(format!(
                "reconnecting to {} (the next command tries again)",
                self.login.server
            )));
        }
    }

    /// A new session, in the directory the last one was in (or the home,
    /// if that directory is gone).
    async fn reconnect(&mut self) -> anyhow::Result<()> {
        let mut session = connect_as(&self.login).await?;
        if self.cwd != "~" {
            match session.cd(&self.cwd).await {
                Ok(cwd) => self.cwd = cwd,
                Err(e) => {
                    report(
                        &anyhow::Error::new(e)
                            .context(format!("cd {} after reconnecting (now in ~)", self.cwd)),
                    );
                    self.cwd = "~".into();
                }
            }
        }
        self.session = Some(session);
        Ok(())
    }
}

use crate::{Missing, TestbedError};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Finds `program` on PATH or in `also` (directories searched after PATH).
pub(crate) fn find_program(
    program: &'static str,
    also: &[PathBuf],
    hint: &'static str,
) -> Result<PathBuf, Missing> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(also.iter().cloned())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or(Missing { program, hint })
}

/// Runs `command` to its end; its standard output, or an error that
/// carries everything it printed.
pub(crate) fn run(command: &mut Command) -> Result<String, TestbedError> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(TestbedError::io(format!("start {shown}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    Err(TestbedError::Command {
        command: shown,
        status: output.status.to_string(),
        output: format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)),
    })
}

/// A server process, killed (SIGKILL) and reaped when dropped.
pub(crate) struct Server {
    child: Option<Child>,
}

impl Server {
    /// Starts `command` with its output appended to `log`.
    pub(crate) fn spawn(command: &mut Command, log: &Path) -> Result<Server, TestbedError> {
        let open_log = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(TestbedError::io(format!("open {}", log.display())))
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(open_log()?)
            .stderr(open_log()?)
            .spawn()
            .map_err(TestbedError::io(format!("start {command:?}")))?;
        Ok(Server { child: Some(child) })
    }

    /// Whether it is still running.
    pub(crate) fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends it `signal` (a name `kill` knows: "TERM", "QUIT") and waits
    /// for it to end, at most `limit`; then kills it.
    pub(crate) fn stop(&mut self, signal: &str, limit: Duration) {
        if let Some(child) = self.child.as_mut() {
            let sent = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string())
                .status();
            if sent.is_ok_and(|status| status.success()) {
                let deadline = Instant::now() + limit;
                while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        self.kill();
    }

    /// Kills it at once (SIGKILL), as a crash would.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last lines of a log, for an error message.
pub(crate) fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

//! Where passwords come from: the environment, standard input, or a prompt
//! on the terminal (never echoed, never a command-line argument).

use anyhow::{bail, Context};
use std::io::{BufRead, IsTerminal};

/// NETDISK_PASSWORD, if set: it wins over a saved login.
pub fn password_from_environment() -> Option<String> {
    std::env::var("NETDISK_PASSWORD").ok()
}

/// The password to log in with: NETDISK_PASSWORD, else asked on the terminal.
pub fn login_password(user: &str, server: &str) -> anyhow::Result<String> {
    if let Some(password) = password_from_environment() {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no password: set NETDISK_PASSWORD, run on a terminal to be asked, or save a login once with 'netdisk login'"
        );
    }
    rpassword::prompt_password(format!("Password for {user}@{server}: "))
        .context("reading the password")
}

/// A new password: from standard input (`--password-stdin`) or typed twice.
pub fn new_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        if !std::io::stdin().is_terminal() {
            bail!("standard input is not a terminal: pass the password with --password-stdin");
        }
        let first = rpassword::prompt_password("New password: ").context("reading the password")?;
        let second = rpassword::prompt_password("Repeat it: ").context("reading the password")?;
        if first != second {
            bail!("the passwords do not match");
        }
        first
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(password)
}

//! Where passwords come from: the environment, standard input, or a prompt
//! on the terminal (never echoed, never a command-line argument).

use anyhow::{bail, Context};
use std::io::{BufRead, IsTerminal};

/// The password to log in with: NETDISK_PASSWORD, else asked on the terminal.
pub fn login_password(user: &str, server: &str) -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("NETDISK_PASSWORD") {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no password: set NETDISK_PASSWORD or run on a terminal to be asked");
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

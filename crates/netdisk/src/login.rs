//! `netdisk login` and `netdisk logout`: save or forget a login, so that
//! one-shot commands (and scripts) run without a password and without the
//! client's deliberate password-hashing cost.

use crate::output::Output;
use crate::remote::{self, SavedLogin, Target};
use crate::saved_logins::SavedLogins;
use anyhow::Context;

/// Logs in with the password (never with a saved login) and saves the keys.
pub async fn save(target: Target<'_>, output: Output) -> anyhow::Result<()> {
    let (session, login) = remote::connect_with(target, SavedLogin::Ignore).await?;
    remote::close(session).await;
    let keys = remote::login_keys(&login).context("the login gave no keys to save")?;
    let logins = SavedLogins::default_location()?;
    logins.save(&login.server, &login.user, keys)?;
    if !output.quiet {
        crate::output::print_error_line(format_args!(
            "netdisk: saved the login of {} on {} in {} (keys derived from the password, not the password)",
            login.user,
            login.server,
            logins.path().display()
        ));
    }
    Ok(())
}

/// Forgets the saved login of --user on --server; no connection needed.
pub fn forget(target: Target<'_>, output: Output) -> anyhow::Result<()> {
    let user = remote::user_name(target.remote)?;
    let server = &target.remote.server;
    let logins = SavedLogins::default_location()?;
    if logins.remove(server, &user)? {
        if !output.quiet {
            crate::output::print_error_line(format_args!(
                "netdisk: forgot the saved login of {user} on {server}"
            ));
        }
        Ok(())
    } else {
        anyhow::bail!(
            "no saved login of {user} on {server} in {}",
            logins.path().display()
        )
    }
}

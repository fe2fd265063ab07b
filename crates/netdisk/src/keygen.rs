//! `netdisk keygen FILE`: a new random site key, readable by its owner only.

use anyhow::{bail, Context};
use netdisk_proto::SiteKey;
use rand::RngCore;
use std::io::Write;
use std::path::Path;

pub fn run(path: &Path, force: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() && !force {
        bail!(
            "{} exists: a new key locks out every client holding the old one (use --force to replace it)",
            path.display()
        );
    }
    let mut bytes = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = SiteKey::from_bytes(bytes)?;
    let context = || format!("writing {}", path.display());
    // Written beside the target, then renamed: a crash never leaves half a key.
    let temporary = path.with_extension("netdisk-tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(context)?;
    file.write_all(key.to_file_text().as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(context)?;
    std::fs::rename(&temporary, path).with_context(context)?;
    crate::output::print_error_line(format_args!(
        "netdisk: wrote a new site key to {}; give it to the server and to each client (--site-key-file)",
        path.display()
    ));
    Ok(())
}

//! The client's own files: `$XDG_CONFIG_HOME/netdisk/` (default
//! `~/.config/netdisk/`), holding known_hosts and saved logins.

use anyhow::{anyhow, Context};
use std::path::{Path, PathBuf};

/// The directory (it need not exist yet).
pub fn dir() -> anyhow::Result<PathBuf> {
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".config"))
            .ok_or_else(|| {
                anyhow!("neither XDG_CONFIG_HOME nor HOME is set: cannot find netdisk's settings")
            })?,
    };
    Ok(config.join("netdisk"))
}

/// Creates the directory of `path` (mode 700) if it is missing.
pub fn create_parent(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// Replaces `path` with `text` as a file only its owner can read: written
/// beside it, flushed to disk, then renamed over it, so a crash leaves the
/// old file or the new one, never half of either.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    create_parent(path)?;
    let context = || format!("writing {}", path.display());
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.with_context(context)
}

//! Running the outside tools some scenarios measure (curl, rclone).

use std::process::Command;

/// Runs a tool to the end and returns what it printed; its failure, or
/// its absence (`needs` says what the scenario wants installed), is an
/// error.
pub fn run(command: &mut Command, what: &str, needs: &str) -> anyhow::Result<String> {
    let output = command
        .output()
        .map_err(|e| anyhow::anyhow!("{what}: {e} ({needs})"))?;
    if !output.status.success() {
        anyhow::bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

//! `netdisk serve`: run the server until SIGINT or SIGTERM.

use crate::cli::ServeArgs;
use netdisk_server::{Server, ServerConfig};
use std::io::Write;
use std::time::Duration;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = ServerConfig {
        root: args.root.root.clone(),
        listen: args.listen,
        max_connections: args.max_connections,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        login_timeout: Duration::from_secs(args.login_timeout),
        grace_period: Duration::from_secs(args.grace),
        partial_ttl: Duration::from_secs(args.partial_ttl_hours.saturating_mul(3600)),
        default_quota: args.default_quota,
        ..ServerConfig::default()
    };
    let server = Server::bind(config).await?;
    let addr = server.local_addr()?;
    // Scripts and tests read this line to learn the real port.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {addr}")?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(%addr, root = %args.root.root.display(), "netdisk server started");
    if server.has_no_users() {
        eprintln!(
            "no users yet: add one with 'netdisk user add NAME --root {}'",
            args.root.root.display()
        );
    }
    server.run(shutdown_signal()).await?;
    tracing::info!("netdisk server stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; stop the server with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("shutdown signal received");
}

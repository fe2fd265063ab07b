//! `netdisk serve`: run the server until SIGINT or SIGTERM.

use crate::cli::{Security, ServeArgs};
use crate::config_file::ConfigFile;
use anyhow::{bail, Context};
use netdisk_cluster::ClusterBackend;
use netdisk_http::{HttpConfig, HttpGateway};
use netdisk_proto::SiteKey;
use netdisk_server::{AuditDestination, Retention, Server, ServerConfig, Transport};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub async fn run(args: ServeArgs, security: &Security) -> anyhow::Result<()> {
    let file = ConfigFile::load(args.config.as_deref(), &args.root.root)?;
    crate::init_logging(
        file.log.level.as_deref().unwrap_or("info"),
        file.log.server.as_deref(),
    )?;
    let http_listen = args.http.clone().or(file.http_listen.clone());
    let store = args.root.store.clone().or(file.store.clone());
    let objects = args.objects.clone().or(file.objects.clone());
    let shared = store.is_some();
    let backing = match (store, objects) {
        (None, None) => None,
        (Some(store), Some(objects)) => {
            let backing = ClusterBackend::connect(&store, &objects, CATALOG_CONNECTIONS)
                .await
                .context("--store/--objects")?;
            Some(backing)
        }
        _ => bail!(
            "--store and --objects go together: the catalog names the files the object store holds"
        ),
    };
    let config = server_config(&args, security, file)?;
    if config.transport == Transport::Plaintext && !is_loopback(&config.listen) {
        tracing::warn!(listen = %config.listen, "PLAINTEXT on a non-loopback address: passwords are safe (SCRAM), but files and names cross the network unencrypted");
        crate::output::print_error_line(format_args!(
            "netdisk: warning: --plaintext on {}: files travel unencrypted",
            config.listen
        ));
    }
    raise_descriptor_limit(config.max_connections);
    let http_config = http_listen.map(|listen| HttpConfig {
        listen,
        max_connections: config.max_connections,
        max_connections_per_ip: config.max_connections_per_ip,
        header_timeout: config.header_timeout,
        stall_timeout: config.stall_timeout,
        grace_period: config.grace_period,
        ..HttpConfig::default()
    });
    let server = Server::bind_on(config, backing).await?;
    let addr = server.local_addr()?;
    let gateway = match http_config {
        Some(http) => Some(HttpGateway::bind(server.store(), server.tls(), http).await?),
        None => None,
    };
    // Scripts and tests read these lines to learn the real port and the
    // certificate. One write: a reader that stops after the lines it
    // wants never closes the pipe between two of them. A reader gone
    // (EPIPE) is no reason to stop serving.
    let mut announce = format!("listening on {addr}\n");
    if let Some(gateway) = &gateway {
        let scheme = if server.is_plaintext() {
            "http"
        } else {
            "https"
        };
        let http = gateway.local_addr()?;
        announce.push_str(&format!("HTTP API on {scheme}://{http}/api/v1/\n"));
    }
    match server.fingerprint() {
        Some(fingerprint) => {
            announce.push_str(&format!("TLS certificate fingerprint {fingerprint}\n"))
        }
        None => announce.push_str("plaintext: connections are not encrypted\n"),
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(announce.as_bytes())
        .and_then(|()| stdout.flush())
    {
        tracing::warn!(error = %e, "could not print the addresses on standard output");
    }
    drop(stdout);
    tracing::info!(%addr, root = %args.root.root.display(), "netdisk server started");
    if server.has_no_users().await {
        crate::output::print_error_line(format_args!(
            "{}",
            crate::accounts::first_user_hint(&args.root.root, shared)
        ));
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let signal = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.cancel();
    });
    match gateway {
        Some(gateway) => {
            let (served, ()) = tokio::join!(
                server.run(stop.clone().cancelled_owned()),
                gateway.run(stop.cancelled_owned())
            );
            served?;
        }
        None => server.run(stop.cancelled_owned()).await?,
    }
    tracing::info!("netdisk server stopped");
    Ok(())
}

/// Connections each server keeps to the catalog.
const CATALOG_CONNECTIONS: usize = 16;

/// Flags, then the config file, then the defaults.
fn server_config(
    args: &ServeArgs,
    security: &Security,
    file: ConfigFile,
) -> anyhow::Result<ServerConfig> {
    let defaults = ServerConfig::default();
    let seconds = |flag: Option<u64>| flag.map(Duration::from_secs);
    let duration = |flag: Option<Duration>,
                    file: Option<crate::config_file::DurationText>,
                    default| { flag.or(file.map(|d| d.0)).unwrap_or(default) };
    let plaintext = security.plaintext || file.tls.plaintext.unwrap_or(false);
    let cert = args.tls_cert.clone().or(file.tls.cert);
    let key = args.tls_key.clone().or(file.tls.key);
    let transport = match (plaintext, cert, key) {
        (true, None, None) => Transport::Plaintext,
        (true, _, _) => bail!("--plaintext and a TLS certificate contradict each other"),
        (false, Some(cert), Some(key)) => Transport::TlsWith { cert, key },
        (false, None, None) => Transport::Tls,
        (false, _, _) => bail!("a TLS certificate needs both its cert and its key"),
    };
    let site_key_file = security
        .site_key_file
        .clone()
        .or(file.tls.site_key_file.map(|path| args.root.root.join(path)));
    let site_key = site_key_file.as_deref().map(read_site_key).transpose()?;
    let audit = match args.audit_log.as_deref().or(file.log.audit.as_deref()) {
        None => defaults.audit.clone(),
        Some("off") => AuditDestination::Off,
        Some("stderr") => AuditDestination::Stderr,
        Some(path) => AuditDestination::File(PathBuf::from(path)),
    };
    Ok(ServerConfig {
        root: args.root.root.clone(),
        listen: args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or(defaults.listen),
        transport,
        site_key,
        max_connections: args
            .max_connections
            .or(file.max_connections)
            .unwrap_or(defaults.max_connections),
        max_connections_per_ip: args
            .max_connections_per_ip
            .or(file.max_connections_per_ip)
            .unwrap_or(defaults.max_connections_per_ip),
        login_timeout: duration(
            seconds(args.login_timeout),
            file.login_timeout,
            defaults.login_timeout,
        ),
        idle_timeout: duration(
            seconds(args.idle_timeout),
            file.idle_timeout,
            defaults.idle_timeout,
        ),
        header_timeout: duration(
            seconds(args.header_timeout),
            file.header_timeout,
            defaults.header_timeout,
        ),
        stall_timeout: duration(
            seconds(args.stall_timeout),
            file.stall_timeout,
            defaults.stall_timeout,
        ),
        grace_period: duration(
            seconds(args.grace),
            file.grace_period,
            defaults.grace_period,
        ),
        partial_ttl: duration(
            args.partial_ttl_hours
                .map(|h| Duration::from_secs(h.saturating_mul(3600))),
            file.partial_ttl,
            defaults.partial_ttl,
        ),
        default_quota: args
            .default_quota
            .or(file.default_quota.map(|q| q.0))
            .or(defaults.default_quota),
        small_upload_memory: args
            .small_upload_memory
            .or(file.small_upload_memory.map(|m| m.0))
            .unwrap_or(defaults.small_upload_memory),
        max_login_failures: args
            .max_login_failures
            .or(file.max_login_failures)
            .unwrap_or(defaults.max_login_failures),
        lockout: duration(seconds(args.lockout), file.lockout, defaults.lockout),
        retention: Retention {
            keep_trash: duration(None, file.keep_trash, defaults.retention.keep_trash),
            keep_versions: file
                .keep_versions
                .unwrap_or(defaults.retention.keep_versions),
            free_space_from_trash: file
                .free_space_from_trash
                .unwrap_or(defaults.retention.free_space_from_trash),
        },
        audit,
    })
}

/// Each connection holds a socket (and each logged-in user two directory
/// handles): raise the soft limit on open files to the hard one, as servers
/// do, and say so if even that is short of the connection limit.
fn raise_descriptor_limit(max_connections: usize) {
    let wanted = u64::try_from(max_connections)
        .unwrap_or(u64::MAX)
        .saturating_add(64);
    match rlimit::Resource::NOFILE.get() {
        Ok((soft, hard)) => {
            if soft < hard && rlimit::Resource::NOFILE.set(hard, hard).is_err() {
                tracing::warn!(soft, hard, "cannot raise the open-file limit");
            }
            if hard < wanted {
                tracing::warn!(hard, max_connections, "the open-file limit is below the connection limit; raise it (ulimit -n) or lower --max-connections");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the open-file limit"),
    }
}

/// Reads a site key file; it must not be readable by others.
pub fn read_site_key(path: &Path) -> anyhow::Result<SiteKey> {
    use std::os::unix::fs::PermissionsExt;
    let what = || format!("site key file {}", path.display());
    let metadata = std::fs::metadata(path).with_context(what)?;
    if metadata.permissions().mode() & 0o077 != 0 {
        bail!(
            "{}: readable by others; run 'chmod 600 {}'",
            what(),
            path.display()
        );
    }
    let text = std::fs::read_to_string(path).with_context(what)?;
    SiteKey::parse(&text).with_context(what)
}

/// True for "HOST:PORT" addresses that stay on this machine (loopback IPs
/// and "localhost"): the ones where plaintext needs no warning.
pub fn is_loopback(addr: &str) -> bool {
    let host = match addr.rsplit_once(':') {
        Some((host, _)) => host.trim_start_matches('[').trim_end_matches(']'),
        None => addr,
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_addresses_are_recognised() {
        for addr in [
            "127.0.0.1:7420",
            "127.1.2.3:0",
            "[::1]:7420",
            "localhost:7420",
        ] {
            assert!(is_loopback(addr), "{addr}");
        }
        for addr in [
            "0.0.0.0:7420",
            "[::]:7420",
            "192.0.2.1:7420",
            "example.org:1",
        ] {
            assert!(!is_loopback(addr), "{addr}");
        }
    }
}

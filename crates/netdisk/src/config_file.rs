//! The server's configuration file (TOML): every setting of `netdisk
//! serve`, read from `ROOT/netdisk.toml` when present or from `--config`.
//! Flags given on the command line win over the file. An unknown key is an
//! error, so a misspelt setting is never silently ignored.

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file's name inside the data directory.
pub const FILE_NAME: &str = "netdisk.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<String>,
    /// The HTTP API's address (`--http`); absent: no HTTP.
    pub http_listen: Option<String>,
    /// The shared catalog (`--store`) and object store (`--objects`).
    pub store: Option<String>,
    pub objects: Option<String>,
    pub max_connections: Option<usize>,
    pub max_connections_per_ip: Option<usize>,
    pub login_timeout: Option<DurationText>,
    pub idle_timeout: Option<DurationText>,
    pub header_timeout: Option<DurationText>,
    pub stall_timeout: Option<DurationText>,
    pub grace_period: Option<DurationText>,
    pub partial_ttl: Option<DurationText>,
    pub default_quota: Option<SizeText>,
    pub small_upload_memory: Option<SizeText>,
    pub max_login_failures: Option<u32>,
    pub lockout: Option<DurationText>,
    /// How long deleted things stay in the trash ("0s": no trash).
    pub keep_trash: Option<DurationText>,
    /// Old versions kept per file (0: none).
    pub keep_versions: Option<u32>,
    /// An upload over the quota first deletes the oldest trash and versions.
    pub free_space_from_trash: Option<bool>,
    #[serde(default)]
    pub tls: TlsSection,
    #[serde(default)]
    pub log: LogSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub plaintext: Option<bool>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub site_key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// "off", "stderr", or a file (relative: in the data directory).
    pub audit: Option<String>,
    /// The diagnostic log: "stderr" or a file.
    pub server: Option<String>,
    /// A tracing filter such as "info" or "netdisk_server=debug".
    pub level: Option<String>,
}

/// "30s", "10m", "24h", "1h 30m".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationText(pub Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text)
            .map(DurationText)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "{text:?}: {e} (examples: \"30s\", \"10m\", \"24h\")"
                ))
            })
    }
}

/// A byte count: a number, or text with a unit ("10GiB", "500M").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeText(pub u64);

impl<'de> Deserialize<'de> for SizeText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(bytes) => Ok(SizeText(bytes)),
            Raw::Text(text) => crate::size::parse_size_arg(&text)
                .map(SizeText)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl ConfigFile {
    pub fn parse(text: &str) -> Result<ConfigFile, toml::de::Error> {
        toml::from_str(text)
    }

    /// The file named by `--config` (which must exist), else the data
    /// directory's own (which may not).
    pub fn load(explicit: Option<&Path>, root: &Path) -> anyhow::Result<ConfigFile> {
        let (path, required) = match explicit {
            Some(path) => (path.to_owned(), true),
            None => (root.join(FILE_NAME), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(ConfigFile::default())
            }
            Err(e) => return Err(e).with_context(|| format!("config file {}", path.display())),
        };
        // toml's message names the line and the key.
        ConfigFile::parse(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_parses() {
        let file = ConfigFile::parse(
            r#"
            listen = "127.0.0.1:7000"
            max_connections = 10
            max_connections_per_ip = 2
            login_timeout = "5s"
            idle_timeout = "10m"
            header_timeout = "3s"
            stall_timeout = "1m"
            grace_period = "2s"
            partial_ttl = "24h"
            default_quota = "1GiB"
            small_upload_memory = "64MiB"
            max_login_failures = 4
            lockout = "1h"
            keep_trash = "30days"
            keep_versions = 5
            free_space_from_trash = false
            [tls]
            plaintext = false
            cert = "/etc/netdisk/cert.pem"
            key = "/etc/netdisk/key.pem"
            site_key_file = "site.key"
            [log]
            audit = "stderr"
            server = "server.log"
            level = "debug"
            "#,
        )
        .expect("parse");
        assert_eq!(file.listen.as_deref(), Some("127.0.0.1:7000"));
        assert_eq!(
            file.idle_timeout,
            Some(DurationText(Duration::from_secs(600)))
        );
        assert_eq!(file.default_quota, Some(SizeText(1 << 30)));
        assert_eq!(file.small_upload_memory, Some(SizeText(64 << 20)));
        assert_eq!(file.tls.site_key_file, Some(PathBuf::from("site.key")));
        assert_eq!(file.log.audit.as_deref(), Some("stderr"));
        assert_eq!(
            file.keep_trash,
            Some(DurationText(Duration::from_secs(30 * 24 * 3600)))
        );
        assert_eq!(
            (file.keep_versions, file.free_space_from_trash),
            (Some(5), Some(false))
        );
        assert_eq!(
            ConfigFile::parse("default_quota = 1000")
                .expect("number")
                .default_quota,
            Some(SizeText(1000))
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_naming_them() {
        let unknown = ConfigFile::parse("listen = \"a:1\"\nmax_conections = 5\n").unwrap_err();
        assert!(unknown.to_string().contains("max_conections"), "{unknown}");
        let nested = ConfigFile::parse("[tls]\ncertificate = \"x\"\n").unwrap_err();
        assert!(nested.to_string().contains("certificate"), "{nested}");
        let section = ConfigFile::parse("[logging]\n").unwrap_err();
        assert!(section.to_string().contains("logging"), "{section}");
        let duration = ConfigFile::parse("idle_timeout = \"soon\"").unwrap_err();
        assert!(duration.to_string().contains("soon"), "{duration}");
        let size = ConfigFile::parse("default_quota = \"lots\"").unwrap_err();
        assert!(size.to_string().contains("default_quota"), "{size}");
    }
}

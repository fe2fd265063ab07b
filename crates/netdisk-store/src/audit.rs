//! The audit log: one JSON line per security-relevant event (logins,
//! site-key checks, transfers, deletions, renames), for operators and
//! their log tools. Separate from the diagnostic log (`tracing`), which
//! may be filtered or reformatted; this one is a stable record.

use serde::Serialize;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A second home for the audit lines: a database several servers share,
/// so one place holds every server's events. It must not block: it is
/// called wherever an event happens (async code included).
pub trait AuditSink: Send + Sync + 'static {
    /// One event: its name ("login"), its user ("" when none), and its
    /// whole line as JSON.
    fn append(&self, event: &str, user: &str, line: &str);
}

/// Where the audit log (one JSON line per event) goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditDestination {
    Off,
    Stderr,
    /// A file, appended to; a relative path is inside the data directory.
    File(PathBuf),
}

impl Default for AuditDestination {
    fn default() -> Self {
        AuditDestination::File(PathBuf::from("audit.log"))
    }
}

/// What happened. Field names are part of the documented log format.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// A client's answer to the site-key challenge was missing or wrong.
    SiteKeyRefused { peer: SocketAddr, reason: &'a str },
    Login {
        peer: SocketAddr,
        user: &'a str,
        /// "ok", "failed" or "throttled".
        result: &'a str,
    },
    Transfer {
        peer: SocketAddr,
        user: &'a str,
        path: &'a str,
        /// "upload" or "download".
        direction: &'a str,
        /// Bytes moved over this connection (a resume moves only the rest).
        bytes: u64,
        /// BLAKE3 of the whole file, when the transfer got that far.
        blake3: Option<&'a str>,
        duration_ms: u64,
        /// "ok", an error code such as "integrity", or "interrupted".
        result: &'a str,
    },
    Remove {
        peer: SocketAddr,
        user: &'a str,
        path: &'a str,
        recursive: bool,
        /// The trash item it became, unless it was deleted for good.
        #[serde(skip_serializing_if = "Option::is_none")]
        trash: Option<&'a str>,
        result: &'a str,
    },
    /// A trash item put back (`path`: where).
    TrashRestore {
        peer: SocketAddr,
        user: &'a str,
        id: &'a str,
        path: &'a str,
        result: &'a str,
    },
    /// Trash items deleted for good by their user.
    TrashPurge {
        peer: SocketAddr,
        user: &'a str,
        items: usize,
        bytes: u64,
        result: &'a str,
    },
    /// An old version made the file again.
    VersionRestore {
        peer: SocketAddr,
        user: &'a str,
        path: &'a str,
        version: &'a str,
        result: &'a str,
    },
    /// Old versions deleted for good by their user.
    VersionPurge {
        peer: SocketAddr,
        user: &'a str,
        path: &'a str,
        items: usize,
        bytes: u64,
        result: &'a str,
    },
    Rmdir {
        peer: SocketAddr,
        user: &'a str,
        path: &'a str,
        result: &'a str,
    },
    /// A kept partial upload discarded by its user (`partial_rm`).
    PartialRemove {
        peer: SocketAddr,
        user: &'a str,
        /// The interrupted upload's target.
        path: &'a str,
        result: &'a str,
    },
    Rename {
        peer: SocketAddr,
        user: &'a str,
        from: &'a str,
        to: &'a str,
        result: &'a str,
    },
    /// A file's or directory's modification time set by its owner
    /// (WebDAV: Windows' Win32LastModifiedTime).
    Touch {
        peer: SocketAddr,
        user: &'a str,
        path: &'a str,
        result: &'a str,
    },
    /// A file's dead properties changed (WebDAV PROPPATCH).
    Properties {
        peer: SocketAddr,
        user: &'a str,
        path: &'a str,
        result: &'a str,
    },
    /// A file copied within the home (WebDAV COPY); its bytes are also
    /// audited as a download and an upload.
    Copy {
        peer: SocketAddr,
        user: &'a str,
        from: &'a str,
        to: &'a str,
        result: &'a str,
    },
    /// A share link made by its owner (`share` is its id).
    ShareAdd {
        peer: SocketAddr,
        user: &'a str,
        path: &'a str,
        share: i64,
        result: &'a str,
    },
    /// A share link revoked by its owner.
    ShareRemove {
        peer: SocketAddr,
        user: &'a str,
        share: i64,
        result: &'a str,
    },
    /// A visitor's use of a share link: `action` is "open" (only logged
    /// when refused), "unlock", "list", "download" or "upload"; `user`
    /// is the link's owner ("" and share 0 for an unknown link).
    ShareUse {
        peer: SocketAddr,
        share: i64,
        user: &'a str,
        action: &'a str,
        path: &'a str,
        result: &'a str,
    },
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    #[serde(flatten)]
    event: &'a Event<'a>,
}

pub struct AuditLog {
    sink: Option<Mutex<Box<dyn Write + Send>>>,
    shared: Option<Arc<dyn AuditSink>>,
}

impl AuditLog {
    pub fn open(destination: &AuditDestination, root: &Path) -> std::io::Result<AuditLog> {
        let sink: Option<Box<dyn Write + Send>> = match destination {
            AuditDestination::Off => None,
            AuditDestination::Stderr => Some(Box::new(std::io::stderr())),
            AuditDestination::File(path) => {
                use std::os::unix::fs::OpenOptionsExt;
                let path = root.join(path);
                let file = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| {
                        std::io::Error::new(e.kind(), format!("audit log {}: {e}", path.display()))
                    })?;
                Some(Box::new(file))
            }
        };
        Ok(AuditLog {
            sink: sink.map(Mutex::new),
            shared: None,
        })
    }

    /// Every line goes to `shared` too.
    pub fn with_shared(self, shared: Option<Arc<dyn AuditSink>>) -> AuditLog {
        AuditLog { shared, ..self }
    }

    /// Appends one line. Each line is one `write` on an append-only file,
    /// so lines from concurrent connections never interleave.
    pub fn record(&self, event: Event<'_>) {
        if self.sink.is_none() && self.shared.is_none() {
            return;
        }
        let line = Line {
            time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            event: &event,
        };
        let value = match serde_json::to_value(&line) {
            Ok(value) => value,
            Err(e) => {
                tracing::error!(error = %e, "cannot format an audit line");
                return;
            }
        };
        let text = value.to_string();
        if let Some(shared) = &self.shared {
            let name = value["event"].as_str().unwrap_or_default();
            let user = value["user"].as_str().unwrap_or_default();
            shared.append(name, user, &text);
        }
        if let Some(sink) = &self.sink {
            let mut sink = sink.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Err(e) = sink.write_all(format!("{text}\n").as_bytes()) {
                tracing::error!(error = %e, "cannot write the audit log");
            }
        }
    }
}

/// A transfer's audit line, filled in as the transfer goes and written
/// when it ends, however it ends.
pub struct TransferRecord {
    direction: &'static str,
    started: std::time::Instant,
    pub path: String,
    pub bytes: u64,
    pub blake3: Option<String>,
    pub result: &'static str,
}

impl TransferRecord {
    /// A transfer that has not got anywhere yet ("interrupted" until told otherwise).
    pub fn start(direction: &'static str, path: String) -> TransferRecord {
        TransferRecord {
            direction,
            started: std::time::Instant::now(),
            path,
            bytes: 0,
            blake3: None,
            result: "interrupted",
        }
    }

    pub fn write(&self, audit: &AuditLog, peer: SocketAddr, user: &str) {
        let elapsed = self.started.elapsed().as_millis();
        audit.record(Event::Transfer {
            peer,
            user,
            path: &self.path,
            direction: self.direction,
            bytes: self.bytes,
            blake3: self.blake3.as_deref(),
            duration_ms: u64::try_from(elapsed).unwrap_or(u64::MAX),
            result: self.result,
        });
    }
}

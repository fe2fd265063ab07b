//! The engine's `AuditSink` over the catalog: each server's audit lines
//! also go to one table. Lines are queued (never waiting on the database
//! where the event happens) and a task of their own inserts them in
//! batches; a full queue (the database down or slow) drops lines with a
//! warning, and the server's own audit log still has them.

use crate::catalog::{AuditRow, Catalog};
use netdisk_store::AuditSink;
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

/// Lines waiting for the database at most.
const QUEUE: usize = 10_000;
/// Lines in one insert at most.
const BATCH: usize = 500;

pub struct CatalogAudit {
    lines: mpsc::Sender<AuditRow>,
}

impl CatalogAudit {
    /// Starts the task that inserts `server`'s lines on `runtime`.
    pub fn start(catalog: Catalog, server: &str, runtime: &Handle) -> CatalogAudit {
        let (lines, mut queued) = mpsc::channel::<AuditRow>(QUEUE);
        let server: Arc<str> = server.into();
        runtime.spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while queued.recv_many(&mut batch, BATCH).await > 0 {
                if let Err(error) = catalog.append_audit(&server, &batch).await {
                    tracing::warn!(%error, lines = batch.len(), "audit lines not stored in the catalog");
                }
                batch.clear();
            }
        });
        CatalogAudit { lines }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

impl AuditSink for CatalogAudit {
    fn append(&self, event: &str, user: &str, line: &str) {
        let row = AuditRow {
            time: now_ms(),
            event: event.to_owned(),
            owner: user.to_owned(),
            line: line.to_owned(),
        };
        if self.lines.try_send(row).is_err() {
            tracing::warn!(
                event,
                "the catalog's audit queue is full: a line was dropped there"
            );
        }
    }
}

//! `ls`: a directory's entries, in as many `listing` frames as it takes
//! to keep each under the header limit.

use super::resolve;
use crate::connection::{Connection, Fatal};
use crate::error::CommandError;
use crate::peer_stream::PeerStream;
use crate::session::Session;
use netdisk_proto::request::Ls;
use netdisk_proto::response::Listing;
use netdisk_proto::{Entry, Message, MAX_HEADER_LEN};

/// Entries per frame are packed up to this many bytes of JSON, leaving
/// room for the frame's other fields under the header limit.
const PAGE_BYTES: usize = MAX_HEADER_LEN * 3 / 4;

pub(crate) async fn apply<S: PeerStream>(
    req: Ls,
    session: &mut Session,
    conn: &mut Connection<S>,
) -> Result<(), Fatal> {
    let listed = match &req.path {
        Some(path) => resolve(session, path),
        None => Ok(session.cwd.clone()),
    };
    let result = match listed {
        Ok(path) => session
            .space
            .list(&path)
            .await
            .map(|entries| (path.to_string(), entries))
            .map_err(CommandError::from),
        Err(e) => Err(e),
    };
    let (path, entries) = match result {
        Ok(listed) => listed,
        Err(err) => return conn.send(&err.into_message(req.id)).await,
    };
    let pages = pages(entries);
    let last = pages.len() - 1;
    for (n, entries) in pages.into_iter().enumerate() {
        conn.send(&Message::Listing(Listing {
            id: req.id,
            path: path.clone(),
            entries,
            more: n < last,
        }))
        .await?;
    }
    Ok(())
}

/// Splits entries into pages of at most PAGE_BYTES of JSON (at least one page).
fn pages(entries: Vec<Entry>) -> Vec<Vec<Entry>> {
    let mut pages = vec![Vec::new()];
    let mut bytes = 0;
    for entry in entries {
        // A name is at most 255 bytes, so one entry is far below a page.
        let size = serde_json::to_vec(&entry)
            .map(|json| json.len() + 1)
            .unwrap_or(PAGE_BYTES);
        if bytes + size > PAGE_BYTES && bytes > 0 {
            pages.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(page) = pages.last_mut() {
            page.push(entry);
        }
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdisk_proto::EntryKind;

    #[test]
    fn large_listings_are_split_under_the_header_limit() {
        let entries: Vec<Entry> = (0..5000)
            .map(|n| Entry {
                name: format!("{n:05}-{}", "x".repeat(200)),
                kind: EntryKind::File,
                size: n,
                modified: Some(1),
                mode: Some(0o644),
            })
            .collect();
        let pages = pages(entries.clone());
        assert!(pages.len() > 10);
        let rejoined: Vec<Entry> = pages.iter().flatten().cloned().collect();
        assert_eq!(rejoined, entries, "order and content kept");
        for page in pages {
            let frame = Message::Listing(Listing {
                id: u64::MAX,
                path: "~/".repeat(1000),
                entries: page,
                more: true,
            });
            assert!(serde_json::to_vec(&frame).expect("json").len() <= MAX_HEADER_LEN);
        }
        assert_eq!(
            super::pages(Vec::new()),
            vec![Vec::<Entry>::new()],
            "an empty directory is one empty page"
        );
    }
}

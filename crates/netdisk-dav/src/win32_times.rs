//! Windows' WebDAV client keeps a file's time by a PROPPATCH of
//! `Z:Win32LastModifiedTime` after the upload. dav-server answers that
//! 200 without doing anything; the service reads the time from the
//! request here and, once dav-server accepted the PROPPATCH (locks and
//! conditions checked), sets it in the store.

use xmltree::{Element, XMLNode};

const DAV: &str = "DAV:";
const MICROSOFT: &str = "urn:schemas-microsoft-com:";

/// The modification time (seconds since the epoch) a PROPPATCH body
/// sets, if it sets one that parses.
pub(crate) fn modified_time_set(body: &[u8]) -> Option<i64> {
    let update = Element::parse(body).ok()?;
    let set_props = children(&update, DAV, "set").flat_map(|set| children(set, DAV, "prop"));
    let text = set_props
        .flat_map(|prop| children(prop, MICROSOFT, "Win32LastModifiedTime"))
        .find_map(|time| time.get_text())?;
    let time = httpdate::parse_http_date(text.trim()).ok()?;
    let seconds = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(seconds).ok()
}

fn children<'a>(
    parent: &'a Element,
    namespace: &'a str,
    name: &'a str,
) -> impl Iterator<Item = &'a Element> + 'a {
    parent.children.iter().filter_map(move |node| match node {
        XMLNode::Element(child)
            if child.name == name && child.namespace.as_deref() == Some(namespace) =>
        {
            Some(child)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::modified_time_set;

    #[test]
    fn the_time_windows_sets_is_found() {
        let body = br#"<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32CreationTime>Wed, 02 Dec 2026 09:00:00 GMT</Z:Win32CreationTime><Z:Win32LastModifiedTime>Wed, 02 Dec 2026 10:00:00 GMT</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>"#;
        assert_eq!(modified_time_set(body), Some(1_796_205_600));
    }

    #[test]
    fn anything_else_sets_nothing() {
        let removal = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:remove><D:prop><Z:Win32LastModifiedTime/></D:prop></D:remove></D:propertyupdate>"#;
        assert_eq!(modified_time_set(removal), None);
        let other = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:other"><D:set><D:prop><Z:Win32LastModifiedTime>Wed, 02 Dec 2026 10:00:00 GMT</Z:Win32LastModifiedTime></D:prop></D:set></D:propertyupdate>"#;
        assert_eq!(modified_time_set(other), None);
        let garbage = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32LastModifiedTime>yesterday</Z:Win32LastModifiedTime></D:prop></D:set></D:propertyupdate>"#;
        assert_eq!(modified_time_set(garbage), None);
        assert_eq!(modified_time_set(b"<unclosed"), None);
    }
}

//! Dead properties (WebDAV's PROPPATCH): what a client records on a file
//! or directory, kept by the back-end with it (so a rename takes them
//! along and a removal ends them) and given back as recorded. Windows
//! keeps its Win32 times here, macOS its Finder data. The engine decides
//! the encoding and the limit; each change is all or nothing.

use crate::audit::Event;
use crate::error::{ErrorKind, StoreError};
use crate::space::{outcome, Space};
use netdisk_proto::HomePath;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// All of one file's properties, encoded, fit in this: a local file
/// system keeps about 4 KiB of extended attributes per inode, and the
/// hash record needs some of them.
pub const MAX_PROPERTY_BYTES: usize = 3 * 1024;

/// A property's name: an XML namespace (`None`: no namespace) and a
/// local name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyName {
    pub namespace: Option<String>,
    pub name: String,
}

/// A recorded property: its name and its value as the client sent it
/// (the XML element, whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadProperty {
    #[serde(flatten)]
    pub name: PropertyName,
    pub xml: String,
}

/// One step of a change, applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyChange {
    Set(DeadProperty),
    Remove(PropertyName),
}

/// Changes read, modify and write a file's record: one at a time in this
/// process, so two clients' changes never lose each other's.
static CHANGES: Mutex<()> = Mutex::new(());

impl Space {
    /// The properties recorded on a file or directory, in the order
    /// they were first set.
    pub async fn properties(&self, path: &HomePath) -> Result<Vec<DeadProperty>, StoreError> {
        let path = path.clone();
        self.run(move |home| decode(&path, home.properties(&path)?))
            .await
    }

    /// Applies `changes` in order and records the result; refused as a
    /// whole (nothing changed) when it would be over
    /// [`MAX_PROPERTY_BYTES`] or cannot be recorded.
    pub async fn change_properties(
        &self,
        path: &HomePath,
        changes: Vec<PropertyChange>,
    ) -> Result<(), StoreError> {
        let target = path.clone();
        let result = self
            .run(move |home| {
                let _one_at_a_time = CHANGES.lock().unwrap_or_else(|e| e.into_inner());
                let mut properties = decode(&target, home.properties(&target)?)?;
                for change in changes {
                    apply(&mut properties, change);
                }
                let encoded = encode(&target, &properties)?;
                home.set_properties(&target, encoded.as_deref())
            })
            .await;
        self.audit(Event::Properties {
            peer: self.peer,
            user: &self.user,
            path: &path.to_string(),
            result: outcome(&result),
        });
        result
    }

    /// Records `properties` on `path` as they are (a copy's, from its source).
    pub(crate) async fn replace_properties(
        &self,
        path: &HomePath,
        properties: Vec<DeadProperty>,
    ) -> Result<(), StoreError> {
        let path = path.clone();
        self.run(move |home| {
            let _one_at_a_time = CHANGES.lock().unwrap_or_else(|e| e.into_inner());
            let encoded = encode(&path, &properties)?;
            home.set_properties(&path, encoded.as_deref())
        })
        .await
    }
}

fn apply(properties: &mut Vec<DeadProperty>, change: PropertyChange) {
    match change {
        PropertyChange::Set(property) => {
            match properties.iter_mut().find(|p| p.name == property.name) {
                Some(existing) => existing.xml = property.xml,
                None => properties.push(property),
            }
        }
        PropertyChange::Remove(name) => properties.retain(|p| p.name != name),
    }
}

fn decode(path: &HomePath, encoded: Option<Vec<u8>>) -> Result<Vec<DeadProperty>, StoreError> {
    let Some(encoded) = encoded else {
        return Ok(Vec::new());
    };
    serde_json::from_slice(&encoded).map_err(|e| {
        StoreError::new(
            ErrorKind::Internal,
            format!("{path}: unreadable property record: {e}"),
        )
    })
}

/// `None` for no properties (the record is removed).
fn encode(path: &HomePath, properties: &[DeadProperty]) -> Result<Option<Vec<u8>>, StoreError> {
    if properties.is_empty() {
        return Ok(None);
    }
    let encoded = serde_json::to_vec(properties)
        .map_err(|e| StoreError::new(ErrorKind::Internal, format!("{path}: {e}")))?;
    if encoded.len() > MAX_PROPERTY_BYTES {
        return Err(StoreError::new(
            ErrorKind::DiskFull,
            format!("{path}: properties over {MAX_PROPERTY_BYTES} bytes are not kept"),
        ));
    }
    Ok(Some(encoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn property(name: &str, xml: &str) -> DeadProperty {
        DeadProperty {
            name: PropertyName {
                namespace: Some("urn:x".into()),
                name: name.into(),
            },
            xml: xml.into(),
        }
    }

    #[test]
    fn changes_apply_in_order_and_keep_first_positions() {
        let mut properties = vec![property("a", "1"), property("b", "2")];
        apply(&mut properties, PropertyChange::Set(property("a", "3")));
        apply(&mut properties, PropertyChange::Set(property("c", "4")));
        apply(
            &mut properties,
            PropertyChange::Remove(property("b", "").name),
        );
        assert_eq!(properties, vec![property("a", "3"), property("c", "4")]);
    }

    #[test]
    fn a_record_over_the_limit_is_refused() {
        let path = HomePath::home().join("f").unwrap();
        let big = property("big", &"x".repeat(MAX_PROPERTY_BYTES));
        let err = encode(&path, &[big]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::DiskFull);
        assert_eq!(encode(&path, &[]).unwrap(), None);
    }
}

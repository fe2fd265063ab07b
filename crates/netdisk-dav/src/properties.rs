//! Dead properties between dav-server's `DavProp` (name, namespace, the
//! whole XML element) and the store's records.

use dav_server::fs::{DavProp, FsError};
use netdisk_store::{DeadProperty, PropertyChange, PropertyName};

pub(crate) fn name_of(prop: &DavProp) -> PropertyName {
    PropertyName {
        namespace: prop.namespace.clone(),
        name: prop.name.clone(),
    }
}

/// A PROPPATCH step: `set` carries the element as XML (UTF-8, as parsed).
pub(crate) fn change(set: bool, prop: &DavProp) -> Result<PropertyChange, FsError> {
    if !set {
        return Ok(PropertyChange::Remove(name_of(prop)));
    }
    let xml = prop.xml.clone().ok_or(FsError::GeneralFailure)?;
    let xml = String::from_utf8(xml).map_err(|_| FsError::Forbidden)?;
    Ok(PropertyChange::Set(DeadProperty {
        name: name_of(prop),
        xml,
    }))
}

/// A property as an answer names it (without its value).
pub(crate) fn named(prop: &DavProp) -> DavProp {
    DavProp {
        name: prop.name.clone(),
        prefix: prop.prefix.clone(),
        namespace: prop.namespace.clone(),
        xml: None,
    }
}

pub(crate) fn dav_prop(property: DeadProperty, with_value: bool) -> DavProp {
    DavProp {
        name: property.name.name,
        prefix: None,
        namespace: property.name.namespace,
        xml: with_value.then(|| property.xml.into_bytes()),
    }
}

//! The two cookies the gateway uses (a browser session, an unlocked
//! share link): reading one from `Cookie`, writing `Set-Cookie`. By hand:
//! names and values here are the gateway's own (tokens in base64url), so
//! RFC 6265's quoting never comes up and a cookie crate would add nothing.

use axum::http::{header, HeaderMap, HeaderValue};
use std::time::Duration;

/// The value of cookie `name`, if the request carries it.
pub(crate) fn find(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for `path`; lasting
/// `max_age` (None: clears it). `secure` over HTTPS.
pub(crate) fn set(
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<Duration>,
    secure: bool,
) -> HeaderValue {
    let age = max_age.map_or(0, |d| d.as_secs());
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path={path}; Max-Age={age}; HttpOnly; SameSite=Strict{secure}");
    // Names, values and paths are the gateway's own ASCII; a path from a
    // URL is percent-encoded before it gets here.
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("nd_invalid=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; nd_session=ndt_x"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(find(&headers, "nd_session").as_deref(), Some("ndt_x"));
        assert_eq!(find(&headers, "b").as_deref(), Some("2"));
        assert_eq!(find(&headers, "nd"), None);
    }

    #[test]
    fn set_cookie_is_strict_and_http_only() {
        let value = set(
            "nd_session",
            "ndt_x",
            "/",
            Some(Duration::from_secs(60)),
            true,
        );
        assert_eq!(
            value.to_str().unwrap(),
            "nd_session=ndt_x; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(set("n", "", "/", None, false)
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
    }
}

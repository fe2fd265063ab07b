//! Browser sessions (cookie + CSRF token) and bearer logins with refresh
//! tokens, through real HTTP.

mod common;

use common::{error_code, Gateway};
use netdisk_server::Transport;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Logs in as a browser does; returns the cookie pair and the CSRF token.
async fn cookie_login(gw: &Gateway) -> (String, String) {
    let response = gw
        .http
        .post(gw.url("login"))
        .json(&serde_json::json!({ "user": "alice", "password": "pw", "cookie": true }))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::OK);
    let set = response
        .headers()
        .get(SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .expect("ascii")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{attribute} missing in {set}");
    }
    assert!(!set.contains("Secure"), "plaintext: no Secure attribute");
    let body: Value = response.json().await.expect("json");
    assert!(body.get("token").is_none(), "the token stays in the cookie");
    assert_eq!(body["user"], "alice");
    let csrf = body["csrf"].as_str().expect("csrf").to_owned();
    let pair = set.split(';').next().expect("pair").to_owned();
    (pair, csrf)
}

fn with_cookie(
    gw: &Gateway,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = gw.http.request(method, gw.url(path)).header(COOKIE, cookie);
    match csrf {
        Some(csrf) => request.header("x-csrf-token", csrf),
        None => request,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cookie_session_reads_freely_and_writes_only_with_its_csrf_token() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let (cookie, csrf) = cookie_login(&gw).await;

    let listed = with_cookie(&gw, Method::GET, "list", &cookie, None)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.status(), StatusCode::OK, "reads need no CSRF token");
    let session: Value = with_cookie(&gw, Method::GET, "session", &cookie, None)
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    assert_eq!(session["user"], "alice");
    assert_eq!(
        session["csrf"],
        csrf.as_str(),
        "a reloaded page gets it back"
    );
    assert!(session["expires_in"].as_i64().expect("expiry") > 40_000);

    for sent in [None, Some("forged"), Some("")] {
        let refused = with_cookie(&gw, Method::POST, "mkdir/a", &cookie, sent)
            .send()
            .await
            .expect("mkdir");
        assert_eq!(
            error_code(refused).await,
            (StatusCode::FORBIDDEN, "csrf".into())
        );
        let put = with_cookie(&gw, Method::PUT, "files/x.txt", &cookie, sent)
            .body(vec![7u8; 100_000])
            .send()
            .await
            .expect("an answer, not a reset, to a refused upload");
        assert_eq!(put.status(), StatusCode::FORBIDDEN);
    }
    assert!(!gw.home("alice").join("a").exists());
    assert!(!gw.home("alice").join("x.txt").exists());

    let made = with_cookie(&gw, Method::POST, "mkdir/a", &cookie, Some(&csrf))
        .send()
        .await
        .expect("mkdir");
    assert!(made.status().is_success(), "{}", made.status());
    let put = with_cookie(&gw, Method::PUT, "files/a/x.txt", &cookie, Some(&csrf))
        .body("hello")
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(
        std::fs::read(gw.home("alice").join("a/x.txt")).expect("stored"),
        b"hello"
    );
    let got = with_cookie(&gw, Method::GET, "files/a/x.txt", &cookie, None)
        .send()
        .await
        .expect("get");
    assert_eq!(got.bytes().await.expect("body").as_ref(), b"hello");

    let bob = gw.token("bob").await;
    let bob_session: Value = gw
        .call(Method::GET, &bob, "session")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(bob_session["user"], "bob");
    assert!(bob_session["csrf"].is_null(), "bearer logins need none");

    let logout = with_cookie(&gw, Method::POST, "logout", &cookie, None)
        .send()
        .await
        .expect("logout");
    assert_eq!(
        logout.status(),
        StatusCode::FORBIDDEN,
        "logout is a write too"
    );
    let logout = with_cookie(&gw, Method::POST, "logout", &cookie, Some(&csrf))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let cleared = logout
        .headers()
        .get(SET_COOKIE)
        .expect("cleared cookie")
        .to_str()
        .expect("ascii");
    assert!(cleared.starts_with("nd_session=;") && cleared.contains("Max-Age=0"));
    let after = with_cookie(&gw, Method::GET, "list", &cookie, None)
        .send()
        .await
        .expect("list");
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_renews_a_bearer_login_once() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let first: Value = gw.login("alice", "pw").await.json().await.expect("json");
    let session = first["token"].as_str().expect("token").to_owned();
    let refresh = first["refresh_token"].as_str().expect("refresh").to_owned();
    assert_eq!(first["refresh_expires_in"], 30 * 24 * 3600);

    let as_bearer = gw.call(Method::GET, &refresh, "list").await;
    assert_eq!(
        as_bearer.status(),
        StatusCode::UNAUTHORIZED,
        "a refresh token opens nothing"
    );
    let renew = |token: String| {
        gw.http
            .post(gw.url("refresh"))
            .json(&serde_json::json!({ "refresh_token": token }))
            .send()
    };
    let second = renew(refresh.clone()).await.expect("refresh");
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.expect("json");
    let new_session = second["token"].as_str().expect("token").to_owned();
    assert_ne!(new_session, session);
    assert_eq!(
        gw.call(Method::GET, &session, "list").await.status(),
        StatusCode::UNAUTHORIZED,
        "the old session ends with its refresh"
    );
    assert_eq!(
        gw.call(Method::GET, &new_session, "list").await.status(),
        StatusCode::OK
    );
    let again = renew(refresh).await.expect("refresh");
    assert_eq!(
        error_code(again).await,
        (StatusCode::UNAUTHORIZED, "auth_failed".into())
    );
    let wrong_kind = renew(new_session.clone()).await.expect("refresh");
    assert_eq!(wrong_kind.status(), StatusCode::UNAUTHORIZED);

    let logout = gw.call(Method::POST, &new_session, "logout").await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let second_refresh = second["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let after_logout = renew(second_refresh).await.expect("refresh");
    assert_eq!(
        after_logout.status(),
        StatusCode::UNAUTHORIZED,
        "logout ends the refresh token too"
    );
    gw.stop().await;
}

//! Share links through real HTTP: made by their owner, used by visitors
//! with no login; ended, locked, throttled, kept inside their folder.

mod common;

use common::{error_code, Gateway};
use netdisk_server::Transport;
use reqwest::header::{COOKIE, RANGE, RETRY_AFTER, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn add_share(gw: &Gateway, token: &str, spec: Value) -> reqwest::Response {
    gw.http
        .post(gw.url("shares"))
        .bearer_auth(token)
        .json(&spec)
        .send()
        .await
        .expect("add share")
}

/// A new link's object; the test fails if it was refused.
async fn share(gw: &Gateway, token: &str, spec: Value) -> Value {
    let response = add_share(gw, token, spec).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("share json")
}

/// A visitor's request (no login) under the link's public API.
fn visit(gw: &Gateway, method: Method, link: &Value, rest: &str) -> reqwest::RequestBuilder {
    let token = link["token"].as_str().expect("token");
    gw.http
        .request(method, gw.url(&format!("public/{token}{rest}")))
}

async fn mkdir(gw: &Gateway, token: &str, path: &str) {
    let response = gw
        .call(Method::POST, token, &format!("mkdir/{path}?parents=true"))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "mkdir {path}");
}

async fn status_of(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.expect("request").status()
}

fn audit_lines(gw: &Gateway, event: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(gw.root.join("audit.log")).expect("audit log");
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["event"] == event)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_link_downloads_until_it_is_used_up_expired_or_revoked() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let alice = gw.token("alice").await;
    mkdir(&gw, &alice, "docs").await;
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(
        gw.put(&alice, "docs/report.pdf", content.clone())
            .await
            .status(),
        StatusCode::CREATED
    );

    let link = share(
        &gw,
        &alice,
        json!({ "path": "~/docs/report.pdf", "max_downloads": 2 }),
    )
    .await;
    let token = link["token"].as_str().expect("token");
    assert!(
        token.starts_with("nds_") && token.len() >= 4 + 22,
        "{token}"
    );
    assert_eq!(link["url"], format!("/s/{token}"));
    assert_eq!(link["path"], "~/docs/report.pdf");
    assert_eq!(link["kind"], "file");
    assert_eq!(link["downloads"], 0);

    let described: Value = visit(&gw, Method::GET, &link, "")
        .send()
        .await
        .expect("describe")
        .json()
        .await
        .expect("json");
    assert_eq!(described["name"], "report.pdf");
    assert_eq!(described["size"], 100_000);
    assert_eq!(described["unlocked"], true);
    assert!(
        described.get("path").is_none(),
        "the owner's path stays private"
    );

    // First download: counted; a range after it continues it, uncounted.
    let first = visit(&gw, Method::GET, &link, "/file")
        .send()
        .await
        .expect("get");
    assert_eq!(first.status(), StatusCode::OK);
    let disposition = first.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(first.bytes().await.expect("body").as_ref(), &content[..]);
    let rest = visit(&gw, Method::GET, &link, "/file")
        .header(RANGE, "bytes=50000-")
        .send()
        .await
        .expect("range");
    assert_eq!(rest.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        rest.bytes().await.expect("body").as_ref(),
        &content[50_000..]
    );
    assert_eq!(
        status_of(visit(&gw, Method::HEAD, &link, "/file")).await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(visit(&gw, Method::GET, &link, "/file")).await,
        StatusCode::OK
    );
    // Two downloads were allowed: the link is used up.
    let third = visit(&gw, Method::GET, &link, "/file")
        .send()
        .await
        .expect("third");
    assert_eq!(error_code(third).await, (StatusCode::GONE, "gone".into()));
    assert_eq!(
        status_of(visit(&gw, Method::GET, &link, "")).await,
        StatusCode::GONE
    );
    let listed: Value = gw
        .call(Method::GET, &alice, "shares")
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(listed["shares"][0]["downloads"], 2);

    // Expired at once: gone; unknown: not found; a file link has no inside.
    let expired = share(
        &gw,
        &alice,
        json!({ "path": "docs/report.pdf", "expires_in": 0 }),
    )
    .await;
    assert_eq!(
        status_of(visit(&gw, Method::GET, &expired, "/file")).await,
        StatusCode::GONE
    );
    let unknown = json!({ "token": "nds_AAAAAAAAAAAAAAAAAAAAAAAA" });
    assert_eq!(
        status_of(visit(&gw, Method::GET, &unknown, "")).await,
        StatusCode::NOT_FOUND
    );
    let open = share(&gw, &alice, json!({ "path": "docs/report.pdf" })).await;
    assert_eq!(
        status_of(visit(&gw, Method::GET, &open, "/file?path=x")).await,
        StatusCode::NOT_FOUND
    );

    // Bob cannot see or revoke alice's links; alice revokes: not found.
    let bob = gw.token("bob").await;
    let bobs: Value = gw
        .call(Method::GET, &bob, "shares")
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(bobs["shares"], json!([]));
    let id = open["id"].as_i64().expect("id");
    assert_eq!(
        gw.call(Method::DELETE, &bob, &format!("shares/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(visit(&gw, Method::GET, &open, "/file")).await,
        StatusCode::OK
    );
    assert_eq!(
        gw.call(Method::DELETE, &alice, &format!("shares/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status_of(visit(&gw, Method::GET, &open, "/file")).await,
        StatusCode::NOT_FOUND
    );

    // What cannot be shared is refused.
    for (spec, status) in [
        (json!({ "path": "docs/missing" }), StatusCode::NOT_FOUND),
        (
            json!({ "path": "docs/report.pdf", "upload_only": true }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "path": "docs/report.pdf", "max_downloads": 0 }),
            StatusCode::BAD_REQUEST,
        ),
        (json!({ "path": "../bob" }), StatusCode::FORBIDDEN),
    ] {
        assert_eq!(
            add_share(&gw, &alice, spec.clone()).await.status(),
            status,
            "{spec}"
        );
    }

    let uses = audit_lines(&gw, "share_use");
    let downloads = uses
        .iter()
        .filter(|line| line["action"] == "download" && line["result"] == "ok")
        .count();
    assert_eq!(
        downloads, 3,
        "two counted downloads of one link, one of another"
    );
    assert!(uses.iter().any(|line| line["result"] == "gone"));
    assert!(uses.iter().any(|line| line["result"] == "not_found"));
    assert!(audit_lines(&gw, "share_remove")
        .iter()
        .any(|line| line["share"] == id && line["result"] == "ok"));
    // Three made, three refused by the store (a path out of the home is
    // refused before it, by the path rules).
    assert_eq!(audit_lines(&gw, "share_add").len(), 6);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_link_is_locked_until_unlocked_and_throttled_like_a_login() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let alice = gw.token("alice").await;
    gw.put(&alice, "secret.txt", b"the plans".to_vec()).await;
    let link = share(
        &gw,
        &alice,
        json!({ "path": "secret.txt", "password": "open sesame" }),
    )
    .await;
    assert_eq!(link["has_password"], true);
    let db = std::fs::read(gw.root.join("users.db")).expect("db");
    assert!(
        !db.windows(11).any(|w| w == b"open sesame"),
        "the password is stored hashed"
    );

    let described: Value = visit(&gw, Method::GET, &link, "")
        .send()
        .await
        .expect("describe")
        .json()
        .await
        .expect("json");
    assert_eq!(described["unlocked"], false);
    assert_eq!(described["name"], Value::Null, "locked: not even the name");
    let locked = visit(&gw, Method::GET, &link, "/file")
        .send()
        .await
        .expect("get");
    assert_eq!(
        error_code(locked).await,
        (StatusCode::UNAUTHORIZED, "locked".into())
    );
    let forged = visit(&gw, Method::GET, &link, "/file")
        .header(COOKIE, "nd_share=99999999999.AAAA")
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    let wrong = visit(&gw, Method::POST, &link, "/unlock")
        .json(&json!({ "password": "guess" }))
        .send()
        .await
        .expect("unlock");
    assert_eq!(
        error_code(wrong).await,
        (StatusCode::UNAUTHORIZED, "auth_failed".into())
    );
    let right = visit(&gw, Method::POST, &link, "/unlock")
        .json(&json!({ "password": "open sesame" }))
        .send()
        .await
        .expect("unlock");
    assert_eq!(right.status(), StatusCode::NO_CONTENT);
    let set = right.headers()[SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned();
    let token = link["token"].as_str().expect("token");
    assert!(
        set.contains(&format!("Path=/api/v1/public/{token}")) && set.contains("HttpOnly"),
        "{set}"
    );
    let cookie = set.split(';').next().expect("pair").to_owned();
    let unlocked = visit(&gw, Method::GET, &link, "/file")
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(unlocked.status(), StatusCode::OK);
    assert_eq!(unlocked.bytes().await.expect("body").as_ref(), b"the plans");
    // The proof is for this link alone.
    let other = share(
        &gw,
        &alice,
        json!({ "path": "secret.txt", "password": "open sesame" }),
    )
    .await;
    assert_eq!(
        status_of(visit(&gw, Method::GET, &other, "/file").header(COOKIE, &cookie)).await,
        StatusCode::UNAUTHORIZED
    );

    // Wrong passwords in a row: the fourth failure locks the link out.
    let mut throttled = None;
    for attempt in 0..8 {
        let response = visit(&gw, Method::POST, &link, "/unlock")
            .json(&json!({ "password": format!("guess {attempt}") }))
            .send()
            .await
            .expect("unlock");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = throttled.expect("throttled within 8 attempts");
    assert!(throttled.headers().contains_key(RETRY_AFTER));
    assert_eq!(
        error_code(throttled).await,
        (StatusCode::TOO_MANY_REQUESTS, "throttled".into())
    );
    // Even the right password waits now.
    assert_eq!(
        status_of(
            visit(&gw, Method::POST, &link, "/unlock").json(&json!({ "password": "open sesame" }))
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let unlocks = audit_lines(&gw, "share_use")
        .into_iter()
        .filter(|line| line["action"] == "unlock")
        .collect::<Vec<_>>();
    assert!(unlocks.iter().any(|line| line["result"] == "ok"));
    assert!(
        unlocks
            .iter()
            .filter(|line| line["result"] == "failed")
            .count()
            >= 4
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_link_lists_and_never_reaches_outside_its_folder() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let alice = gw.token("alice").await;
    mkdir(&gw, &alice, "photos/trip").await;
    gw.put(&alice, "photos/a.jpg", b"photo a".to_vec()).await;
    gw.put(&alice, "photos/trip/b.jpg", b"photo b".to_vec())
        .await;
    gw.put(&alice, "secret.txt", b"TOP SECRET".to_vec()).await;
    let photos = gw.home("alice").join("photos");
    // Planted behind the server's back: links out of the shared folder.
    std::os::unix::fs::symlink("../secret.txt", photos.join("leak")).expect("symlink");
    std::os::unix::fs::symlink("..", photos.join("up")).expect("symlink");
    std::os::unix::fs::symlink("/etc", photos.join("etc")).expect("symlink");

    let link = share(&gw, &alice, json!({ "path": "photos" })).await;
    assert_eq!(link["kind"], "dir");
    let listed: Value = visit(&gw, Method::GET, &link, "/list")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let mut names: Vec<&str> = listed["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|entry| entry["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["a.jpg", "trip"], "symlinks are not shown");
    let trip: Value = visit(&gw, Method::GET, &link, "/list?path=trip")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(trip["entries"][0]["name"], "b.jpg");
    let b = visit(&gw, Method::GET, &link, "/file?path=trip%2Fb.jpg")
        .send()
        .await
        .expect("get");
    assert_eq!(b.status(), StatusCode::OK);
    assert_eq!(b.bytes().await.expect("body").as_ref(), b"photo b");

    for hostile in [
        "..%2Fsecret.txt",
        "..",
        "trip%2F..%2F..%2Fsecret.txt",
        "%2Fetc%2Fpasswd",
        "~%2F..%2Fsecret.txt",
        "~%2Fsecret.txt",
        "leak",
        "up%2Fsecret.txt",
        "etc%2Fpasswd",
        "a.jpg%2F..%2F..%2Fsecret.txt",
        "trip%5C..%5C..%5Csecret.txt",
        "%00",
        "..%2F..%2F..%2Fbob",
    ] {
        for rest in ["/file?path=", "/list?path="] {
            let response = visit(&gw, Method::GET, &link, &format!("{rest}{hostile}"))
                .send()
                .await
                .expect("hostile");
            let status = response.status();
            let body = response.bytes().await.expect("body");
            assert!(
                status.is_client_error(),
                "{rest}{hostile}: {status} is not a refusal"
            );
            let text = String::from_utf8_lossy(&body);
            assert!(
                !text.contains("TOP SECRET") && !text.contains("root:"),
                "{rest}{hostile} leaked: {text}"
            );
        }
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drop_box_takes_new_files_on_the_owners_quota_and_shows_nothing() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let alice = gw.token("alice").await;
    mkdir(&gw, &alice, "inbox").await;
    gw.put(&alice, "inbox/existing.txt", b"mine".to_vec()).await;
    let link = share(&gw, &alice, json!({ "path": "inbox", "upload_only": true })).await;
    assert_eq!(link["upload_only"], true);

    for rest in ["/list", "/file?path=existing.txt"] {
        let response = visit(&gw, Method::GET, &link, rest)
            .send()
            .await
            .expect("read");
        assert_eq!(
            error_code(response).await,
            (StatusCode::FORBIDDEN, "permission_denied".into()),
            "{rest}"
        );
    }
    let dropped = visit(&gw, Method::PUT, &link, "/file?name=from%20carol.txt")
        .header(
            "x-netdisk-blake3",
            blake3::hash(b"hello alice").to_hex().as_str(),
        )
        .body("hello alice")
        .send()
        .await
        .expect("drop");
    assert_eq!(dropped.status(), StatusCode::CREATED);
    let answer: Value = dropped.json().await.expect("json");
    assert_eq!(answer["name"], "from carol.txt");
    assert!(answer.get("path").is_none());
    assert_eq!(
        std::fs::read(gw.home("alice").join("inbox/from carol.txt")).expect("dropped file"),
        b"hello alice"
    );

    // Never replaces, never lands outside, never past the owner's quota.
    let again = visit(&gw, Method::PUT, &link, "/file?name=existing.txt")
        .body("overwrite")
        .send()
        .await
        .expect("drop");
    assert_eq!(
        error_code(again).await,
        (StatusCode::CONFLICT, "exists".into())
    );
    assert_eq!(
        std::fs::read(gw.home("alice").join("inbox/existing.txt")).expect("kept"),
        b"mine"
    );
    for name in ["..%2Fescape.txt", "..", "a%2Fb.txt", "", "%2Fetc%2Fx"] {
        let response = visit(&gw, Method::PUT, &link, &format!("/file?name={name}"))
            .body("x")
            .send()
            .await
            .expect("drop");
        assert!(
            response.status().is_client_error(),
            "{name}: {}",
            response.status()
        );
    }
    assert!(!gw.home("alice").join("escape.txt").exists());
    let too_big = visit(&gw, Method::PUT, &link, "/file?name=big.bin")
        .body(vec![0u8; 11 << 20])
        .send()
        .await
        .expect("drop");
    assert_eq!(
        error_code(too_big).await,
        (StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded".into())
    );
    assert!(!gw.home("alice").join("inbox/big.bin").exists());
    let no_name = visit(&gw, Method::PUT, &link, "/file")
        .body("x")
        .send()
        .await
        .expect("drop");
    assert_eq!(no_name.status(), StatusCode::BAD_REQUEST);

    // A read-only folder link takes nothing.
    let read_only = share(&gw, &alice, json!({ "path": "inbox" })).await;
    let refused = visit(&gw, Method::PUT, &read_only, "/file?name=new.txt")
        .body("x")
        .send()
        .await
        .expect("drop");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(audit_lines(&gw, "share_use")
        .iter()
        .any(|line| line["action"] == "upload" && line["result"] == "ok"));
    gw.stop().await;
}

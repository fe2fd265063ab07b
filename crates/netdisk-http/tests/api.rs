//! The HTTP API through real HTTP: a real `netdisk-server` + gateway on
//! 127.0.0.1:0 in this process, driven by reqwest.

mod common;

use common::{client_trusting, error_code, Gateway};
use netdisk_server::Transport;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn logins_tokens_and_logout() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let (status, code) = error_code(gw.login("alice", "wrong").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "auth_failed")
    );
    let (status, code) = error_code(gw.login("nobody", "pw").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "auth_failed")
    );
    let anonymous = gw.http.get(gw.url("usage")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let forged = gw.call(Method::GET, "ndt_forged", "usage").await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    let session = gw.token("alice").await;
    let usage: Value = gw
        .call(Method::GET, &session, "usage")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usage["used"], 0);
    assert_eq!(usage["quota"], 10 << 20);

    // A personal token for a script works on its own, and is listed.
    let made: Value = gw
        .http
        .post(gw.url("tokens"))
        .bearer_auth(&session)
        .json(&serde_json::json!({ "name": "ci" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let personal = made["token"].as_str().expect("token").to_owned();
    let listed: Value = gw
        .call(Method::GET, &personal, "tokens")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["login", "ci"]);
    // Bob sees none of alice's tokens and cannot revoke them.
    let bob = gw.token("bob").await;
    let id = made["id"].as_i64().unwrap();
    let refused = gw.call(Method::DELETE, &bob, &format!("tokens/{id}")).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    // Logout ends the session's token, not the personal one.
    let out = gw.call(Method::POST, &session, "logout").await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = gw.call(Method::GET, &session, "usage").await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let still = gw.call(Method::GET, &personal, "usage").await;
    assert_eq!(still.status(), StatusCode::OK);
    let revoked = gw
        .call(Method::DELETE, &personal, &format!("tokens/{id}"))
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let gone = gw.call(Method::GET, &personal, "usage").await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);

    // Failed logins are throttled like native ones, and audited.
    let mut throttled = false;
    for _ in 0..8 {
        let response = gw.login("bob", "wrong").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
            throttled = true;
            break;
        }
    }
    assert!(throttled, "eight failures in a row were never throttled");
    let audit = std::fs::read_to_string(gw.root.join("audit.log")).expect("audit log");
    assert!(audit.contains(r#""event":"login""#) && audit.contains(r#""result":"throttled""#));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_token_is_refused() {
    let gw = Gateway::start(Transport::Plaintext, |c| {
        c.session_lifetime = Duration::ZERO
    })
    .await;
    let token = gw.token("alice").await;
    let response = gw.call(Method::GET, &token, "usage").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_verified_and_downloads_ranged() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let token = gw.token("alice").await;
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let hash = blake3::hash(&body).to_hex().to_string();
    let put = gw.put(&token, "photos/été 1.jpg", body.clone()).await;
    // The parent must exist, as on the native port.
    assert_eq!(
        error_code(put).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    let made = gw.call(Method::POST, &token, "mkdir/photos").await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let put = gw.put(&token, "photos/été 1.jpg", body.clone()).await;
    assert_eq!(put.status(), StatusCode::CREATED);
    let done: Value = put.json().await.unwrap();
    assert_eq!(done["blake3"], hash.as_str());
    assert_eq!(
        std::fs::read(gw.home("alice").join("photos/été 1.jpg")).unwrap(),
        body
    );

    let url = gw.url("files/photos/%C3%A9t%C3%A9%201.jpg");
    let got = gw.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let etag = got.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{hash}\""));
    assert_eq!(
        got.headers()["content-disposition"],
        "attachment; filename=\"_t_ 1.jpg\"; filename*=UTF-8''%C3%A9t%C3%A9%201.jpg"
    );
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert_eq!(got.bytes().await.unwrap().as_ref(), body.as_slice());

    let cached = gw
        .http
        .get(&url)
        .bearer_auth(&token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    for (range, start, end) in [
        ("bytes=10-19", 10, 20),
        ("bytes=-5", body.len() - 5, body.len()),
        ("bytes=2999990-", 2_999_990, body.len()),
    ] {
        let part = gw
            .http
            .get(&url)
            .bearer_auth(&token)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            part.headers()["content-range"].to_str().unwrap(),
            format!("bytes {start}-{}/{}", end - 1, body.len())
        );
        assert_eq!(
            part.bytes().await.unwrap().as_ref(),
            &body[start..end],
            "{range}"
        );
    }
    let beyond = gw
        .http
        .get(&url)
        .bearer_auth(&token)
        .header("range", "bytes=5000000-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.headers()["content-range"], "bytes */3000000");
    let head = gw.http.head(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(head.headers()["content-length"], "3000000");

    // A wrong hash stores nothing and keeps the old file.
    let wrong = gw
        .http
        .put(&url)
        .bearer_auth(&token)
        .header("x-netdisk-blake3", blake3::hash(b"other").to_hex().as_str())
        .body(vec![1u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(wrong).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "integrity".into())
    );
    assert_eq!(
        std::fs::read(gw.home("alice").join("photos/été 1.jpg")).unwrap(),
        body
    );
    // Content-Digest with blake3 in base64 is checked the same way.
    let small = b"hello over http".to_vec();
    use base64::Engine;
    let digest = base64::engine::general_purpose::STANDARD.encode(blake3::hash(&small).as_bytes());
    let ok = gw
        .http
        .put(gw.url("files/hello.txt"))
        .bearer_auth(&token)
        .header(
            "content-digest",
            format!("sha-256=:AAAA:, blake3=:{digest}:"),
        )
        .body(small.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED);
    let exists = gw
        .http
        .put(gw.url("files/hello.txt"))
        .bearer_auth(&token)
        .header("if-none-match", "*")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(exists.status(), StatusCode::PRECONDITION_FAILED);
    // A small file's ranges come from the bytes read at open.
    let part = gw
        .http
        .get(gw.url("files/hello.txt"))
        .bearer_auth(&token)
        .header("range", "bytes=6-9")
        .send()
        .await
        .unwrap();
    assert_eq!(part.bytes().await.unwrap().as_ref(), b"over");

    // Without a length the quota cannot be checked first: refused.
    let chunks =
        futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"abc"))]);
    let streamed = gw
        .http
        .put(gw.url("files/chunked.txt"))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), StatusCode::LENGTH_REQUIRED);
    // Over the quota (10 MiB): refused before the body, nothing stored.
    let big = gw.put(&token, "big.bin", vec![0u8; 8 << 20]).await;
    assert_eq!(
        error_code(big).await,
        (StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded".into())
    );
    assert!(!gw.home("alice").join("big.bin").exists());
    let audit = std::fs::read_to_string(gw.root.join("audit.log")).expect("audit log");
    assert!(audit.contains(r#""direction":"upload""#) && audit.contains(r#""result":"integrity""#));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_stat_move_and_delete() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let token = gw.token("alice").await;
    let made = gw
        .call(Method::POST, &token, "mkdir/a/b/c?parents=true")
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    for (name, size) in [("a/one", 1), ("a/three", 3), ("a/two", 2), ("a/b/deep", 4)] {
        assert_eq!(
            gw.put(&token, name, vec![b'x'; size]).await.status(),
            StatusCode::CREATED
        );
    }
    let page = |query: &str| {
        let url = gw.url(&format!("list/a?{query}"));
        let (http, token) = (gw.http.clone(), token.clone());
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let names = |page: &Value| -> Vec<String> {
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = page("limit=2").await;
    assert_eq!(names(&first), ["b", "one"]);
    assert_eq!(first["next"], "one");
    let second = page("limit=2&after=one").await;
    assert_eq!(names(&second), ["three", "two"]);
    assert!(second["next"].is_null());
    let by_size = page("sort=size&desc=true&limit=3").await;
    assert_eq!(names(&by_size), ["three", "two", "one"]);
    assert_eq!(by_size["next_offset"], 3);
    let home: Value = gw
        .call(Method::GET, &token, "list")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&home), ["a"]);

    let stat: Value = gw
        .call(Method::GET, &token, "stat/a/three")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stat["entry"]["size"], 3);
    assert_eq!(stat["entry"]["kind"], "file");
    assert_eq!(stat["blake3"], blake3::hash(b"xxx").to_hex().as_str());

    let moved = gw
        .http
        .post(gw.url("move"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"from": "a/three", "to": "a/b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::NO_CONTENT);
    assert!(gw.home("alice").join("a/b/three").exists());
    let not_empty = gw.call(Method::DELETE, &token, "files/a/b").await;
    assert_eq!(
        error_code(not_empty).await,
        (StatusCode::CONFLICT, "not_empty".into())
    );
    let tree = gw
        .call(Method::DELETE, &token, "files/a/b?recursive=true")
        .await;
    assert_eq!(tree.status(), StatusCode::NO_CONTENT);
    assert!(!gw.home("alice").join("a/b").exists());
    let missing = gw.call(Method::GET, &token, "stat/a/b").await;
    assert_eq!(
        error_code(missing).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    let usage: Value = gw
        .call(Method::GET, &token, "usage")
        .await
        .json()
        .await
        .unwrap();
    // One + two bytes are left in the home; what was deleted waits in the
    // trash, still counted.
    let (used, trash) = (usage["used"].as_u64(), usage["trash"].as_u64());
    assert_eq!(used.zip(trash).map(|(u, t)| u - t), Some(3), "{usage}");
    assert!(trash > Some(0), "{usage}");
    let unknown = gw.http.get(gw.url("nothing-here")).send().await.unwrap();
    assert_eq!(
        error_code(unknown).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    gw.stop().await;
}

/// One form of the native jail test's hostile-path corpus.
#[derive(serde::Deserialize)]
struct Form {
    path: String,
    expect: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_paths_never_leave_the_home() {
    let corpus: Vec<Form> = serde_json::from_str(include_str!(
        "../../netdisk-server/tests/data/hostile_paths.json"
    ))
    .expect("corpus");
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let token = gw.token("alice").await;
    std::fs::create_dir_all(gw.home("bob")).expect("bob's home");
    std::fs::create_dir_all(gw.home("alice")).expect("alice's home");
    std::fs::write(gw.home("bob").join("bob.txt"), b"bob's file").expect("bob's file");
    let outside = tempfile::tempdir().expect("outside");
    std::fs::write(outside.path().join("secret.txt"), b"outside secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), gw.home("alice").join("outside-link")).unwrap();
    std::os::unix::fs::symlink("/etc", gw.home("alice").join("etc-link")).unwrap();
    let passwd = std::fs::read("/etc/passwd").unwrap_or_default();
    let encode = |path: &str| -> String { path.bytes().map(|b| format!("%{b:02X}")).collect() };
    for form in corpus.iter().filter(|f| !f.path.is_empty()) {
        let encoded = encode(&form.path);
        let got = gw
            .call(Method::GET, &token, &format!("files/{encoded}"))
            .await;
        let status = got.status();
        let bytes = got.bytes().await.unwrap();
        assert!(
            !bytes
                .windows(14)
                .any(|w| w == b"outside secret" || w == b"bob's file\0\0\0\0")
                && (passwd.is_empty() || bytes.as_ref() != passwd.as_slice())
                && bytes.as_ref() != b"bob's file",
            "{:?} read something outside the home ({status})",
            form.path
        );
        if form.expect != "contained" && form.expect != "not_followed" {
            assert!(status.is_client_error(), "{:?}: {status}", form.path);
        }
        let put = gw
            .http
            .put(gw.url(&format!("files/{encoded}")))
            .bearer_auth(&token)
            .body("planted")
            .send()
            .await
            .unwrap();
        // A planted link may be replaced by a file of that name (inside
        // the home); what it points to must never be written.
        if form.expect != "contained" && form.expect != "not_followed" {
            assert!(
                !put.status().is_success(),
                "{:?}: stored ({})",
                form.path,
                put.status()
            );
        }
    }
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        1,
        "nothing written outside"
    );
    assert_eq!(
        std::fs::read(outside.path().join("secret.txt")).unwrap(),
        b"outside secret"
    );
    assert_eq!(std::fs::read("/etc/passwd").unwrap_or_default(), passwd);
    assert_eq!(
        std::fs::read(gw.home("bob").join("bob.txt")).unwrap(),
        b"bob's file"
    );
    assert_eq!(
        std::fs::read_dir(gw.home("bob")).unwrap().count(),
        1,
        "nothing written to bob"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_the_native_certificate() {
    let gw = Gateway::start(Transport::Tls, |_| {}).await;
    let token = gw.token("alice").await;
    let body = vec![42u8; 300_000];
    assert_eq!(
        gw.put(&token, "over-tls.bin", body.clone()).await.status(),
        StatusCode::CREATED
    );
    let got = gw.call(Method::GET, &token, "files/over-tls.bin").await;
    assert_eq!(got.bytes().await.unwrap().as_ref(), body.as_slice());
    // Plain HTTP to the TLS port gets nothing served.
    let plain = client_trusting(rustls::RootCertStore::empty())
        .get(gw.base.replace("https://", "http://") + "/usage")
        .send()
        .await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));
    gw.stop().await;
}

/// Reads until the server closes; how long that took, or `None` after `limit`.
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Duration> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut sink = [0u8; 4096];
    tokio::time::timeout(limit, async {
        while stream.read(&mut sink).await.map(|n| n > 0).unwrap_or(false) {}
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickled_header_and_an_idle_connection_are_cut() {
    use tokio::io::AsyncWriteExt;
    let gw = Gateway::start(Transport::Plaintext, |c| {
        c.header_timeout = Duration::from_millis(300)
    })
    .await;
    let addr = gw
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1")
        .to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    slow.write_all(b"GET /api/v1/usage HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut slow, Duration::from_secs(10))
            .await
            .is_some(),
        "an unfinished header kept the connection open for 10 s"
    );
    // A kept-alive connection that sends nothing more is closed too.
    let mut idle = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    idle.write_all(b"GET /api/v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(10))
            .await
            .is_some(),
        "an idle kept-alive connection stayed open for 10 s"
    );
    gw.stop().await;
}

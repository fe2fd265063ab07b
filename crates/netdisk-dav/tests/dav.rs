//! WebDAV against a real server and gateway on 127.0.0.1: logins
//! (Basic, tokens, the throttle), the quota, a cut PUT, ETags, ranges,
//! properties that follow their file, locks that keep writers out, and
//! clients' habits (Windows' empty PUT first, macOS's `._` files).

mod common;

use base64::Engine;
use common::{raw_request, Gateway, PASSWORD};
use netdisk_server::Transport;
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

const PROPFIND_QUOTA: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>"#;

fn status(response: &reqwest::Response) -> StatusCode {
    response.status()
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.expect("body")
}

/// The number in `<D:NAME>N</D:NAME>` of a PROPFIND answer.
fn number_in(xml: &str, name: &str) -> Option<u64> {
    let start = xml.find(&format!("{name}>"))? + name.len() + 1;
    let rest = &xml[start..];
    rest[..rest.find('<')?].trim().parse().ok()
}

async fn quota_used(gateway: &Gateway) -> u64 {
    let answer = gateway
        .request("PROPFIND", "")
        .header("depth", "0")
        .body(PROPFIND_QUOTA)
        .send()
        .await
        .expect("propfind");
    assert_eq!(status(&answer), StatusCode::MULTI_STATUS);
    let xml = text(answer).await;
    number_in(&xml, "quota-used-bytes").unwrap_or_else(|| panic!("no quota-used-bytes: {xml}"))
}

async fn api_json(
    gateway: &Gateway,
    path: &str,
    bearer: Option<&str>,
    body: &str,
) -> serde_json::Value {
    let mut request = gateway
        .http
        .post(format!("{}/api/v1/{path}", gateway.origin))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("api call");
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    serde_json::from_str(&text(answer).await).expect("json")
}

#[tokio::test(flavor = "multi_thread")]
async fn logins_by_password_and_by_token() {
    let gateway = Gateway::start(Transport::Plaintext, None).await;
    let anonymous = gateway
        .http
        .request(reqwest::Method::OPTIONS, gateway.dav(""))
        .send()
        .await
        .expect("options");
    assert_eq!(status(&anonymous), StatusCode::UNAUTHORIZED);
    let challenge = anonymous.headers()["www-authenticate"]
        .to_str()
        .expect("ascii");
    assert!(
        challenge.starts_with("Basic realm=\"netdisk\""),
        "{challenge}"
    );

    let options = gateway
        .request("OPTIONS", "")
        .send()
        .await
        .expect("options");
    assert_eq!(options.headers()["dav"], "1, 2, 3");
    let wrong = gateway
        .http
        .request(reqwest::Method::OPTIONS, gateway.dav(""))
        .basic_auth("alice", Some("nope"))
        .send()
        .await
        .expect("options");
    assert_eq!(status(&wrong), StatusCode::UNAUTHORIZED);
    let right = gateway
        .request("PROPFIND", "")
        .header("depth", "0")
        .send()
        .await
        .expect("propfind");
    assert_eq!(status(&right), StatusCode::MULTI_STATUS);

    // The API's tokens: a personal one as Bearer and as the Basic password.
    let login = api_json(
        &gateway,
        "login",
        None,
        r#"{"user":"alice","password":"pw"}"#,
    )
    .await;
    let session = login["token"].as_str().expect("token");
    let refresh = login["refresh_token"].as_str().expect("refresh");
    let personal = api_json(&gateway, "tokens", Some(session), r#"{"name":"dav"}"#).await;
    let personal = personal["token"].as_str().expect("personal token");
    let propfind = |auth: reqwest::RequestBuilder| async move {
        auth.header("depth", "0")
            .send()
            .await
            .expect("propfind")
            .status()
    };
    let url = gateway.dav("");
    let method = || reqwest::Method::from_bytes(b"PROPFIND").expect("method");
    let http = &gateway.http;
    assert_eq!(
        propfind(http.request(method(), &url).bearer_auth(personal)).await,
        StatusCode::MULTI_STATUS
    );
    assert_eq!(
        propfind(
            http.request(method(), &url)
                .basic_auth("alice", Some(personal))
        )
        .await,
        StatusCode::MULTI_STATUS
    );
    assert_eq!(
        propfind(http.request(method(), &url).basic_auth("", Some(personal))).await,
        StatusCode::MULTI_STATUS
    );
    // Someone else's name with alice's token, and a refresh token: refused.
    assert_eq!(
        propfind(
            http.request(method(), &url)
                .basic_auth("bob", Some(personal))
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        propfind(http.request(method(), &url).bearer_auth(refresh)).await,
        StatusCode::UNAUTHORIZED
    );

    // Failures are throttled like every login, and audited.
    let mut throttled = false;
    for _ in 0..8 {
        let answer = http
            .request(method(), &url)
            .basic_auth("bob", Some("wrong"))
            .send()
            .await
            .expect("propfind");
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(answer.headers().contains_key("retry-after"));
            throttled = true;
            break;
        }
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(throttled, "eight failures in a row were never throttled");
    // While locked out, the right password is refused too.
    let locked = http
        .request(method(), &url)
        .basic_auth("bob", Some(PASSWORD))
        .send()
        .await
        .expect("propfind");
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let audit = std::fs::read_to_string(gateway.root.join("audit.log")).expect("audit log");
    assert!(audit.contains(r#""result":"throttled""#), "{audit}");
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quota_refuses_and_counts_right() {
    let quota = 1 << 20;
    let gateway = Gateway::start(Transport::Plaintext, Some(quota)).await;
    let usage = quota_used(&gateway).await;
    assert_eq!(usage, 0);
    let answer = gateway
        .request("PROPFIND", "")
        .header("depth", "0")
        .body(PROPFIND_QUOTA)
        .send()
        .await
        .expect("propfind");
    let xml = text(answer).await;
    assert_eq!(
        number_in(&xml, "quota-available-bytes"),
        Some(quota),
        "{xml}"
    );

    // Over the quota: 507, and nothing stored.
    let big = vec![7u8; 2 << 20];
    let refused = gateway.put("big.bin", big).await;
    assert_eq!(status(&refused), StatusCode::INSUFFICIENT_STORAGE);
    assert!(!gateway.home("alice").join("big.bin").exists());
    assert_eq!(quota_used(&gateway).await, 0);

    // Windows: an empty PUT, then the bytes; the file counts once.
    let body = vec![1u8; 600 * 1024];
    let empty = gateway.put("report.docx", Vec::new()).await;
    assert_eq!(status(&empty), StatusCode::CREATED);
    let full = gateway.put("report.docx", body.clone()).await;
    assert_eq!(status(&full), StatusCode::NO_CONTENT);
    assert_eq!(quota_used(&gateway).await, body.len() as u64);
    // Replacing it with as much again fits: the old bytes are not kept as
    // a version when only their room lets the new ones in.
    let again = gateway.put("report.docx", body.clone()).await;
    assert_eq!(status(&again), StatusCode::NO_CONTENT);
    assert_eq!(quota_used(&gateway).await, body.len() as u64);

    // macOS: an AppleDouble `._` file beside it counts once, and when
    // deleted waits in the trash (still counted once) until it expires or
    // an upload needs its room.
    let apple = gateway.put("._report.docx", vec![0u8; 4096]).await;
    assert_eq!(status(&apple), StatusCode::CREATED);
    assert_eq!(quota_used(&gateway).await, body.len() as u64 + 4096);
    let gone = gateway
        .request("DELETE", "._report.docx")
        .send()
        .await
        .expect("delete");
    assert_eq!(status(&gone), StatusCode::NO_CONTENT);
    assert!(!gateway.home("alice").join("._report.docx").exists());
    assert_eq!(quota_used(&gateway).await, body.len() as u64 + 4096);

    // A COPY is an upload: it must fit too (the trash is no help here).
    let copy = gateway
        .request("COPY", "report.docx")
        .header("destination", gateway.dav("copy.docx"))
        .send()
        .await
        .expect("copy");
    assert_eq!(status(&copy), StatusCode::INSUFFICIENT_STORAGE);
    assert!(!gateway.home("alice").join("copy.docx").exists());
    assert_eq!(quota_used(&gateway).await, body.len() as u64 + 4096);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_put_leaves_the_old_file() {
    let gateway = Gateway::start(Transport::Plaintext, None).await;
    let old = b"the old version".to_vec();
    let put = gateway.put("doc.txt", old.clone()).await;
    assert_eq!(status(&put), StatusCode::CREATED);

    // Half of a 1 MiB body, then the connection is closed.
    let addr = gateway.origin.strip_prefix("http://").expect("plaintext");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"));
    let head = format!("PUT /dav/doc.txt HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {credentials}\r\nContent-Length: {}\r\n\r\n", 1 << 20);
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(&vec![9u8; 512 * 1024])
        .await
        .expect("half the body");
    drop(stream);

    let get = gateway.request("GET", "doc.txt").send().await.expect("get");
    assert_eq!(status(&get), StatusCode::OK);
    assert_eq!(get.bytes().await.expect("body").to_vec(), old);
    // The server is still fine with the file: a whole PUT replaces it.
    let new = vec![5u8; 300 * 1024];
    let put = gateway.put("doc.txt", new.clone()).await;
    assert_eq!(status(&put), StatusCode::NO_CONTENT);
    assert_eq!(
        std::fs::read(gateway.home("alice").join("doc.txt")).expect("stored"),
        new
    );
    // Nothing of the cut body is counted (its reservation settled): the
    // new file, and the old one kept as its version.
    let wanted = (new.len() + old.len()) as u64;
    let mut used = 0;
    for _ in 0..100 {
        used = quota_used(&gateway).await;
        if used == wanted {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(used, wanted);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn etags_ranges_and_depth() {
    let gateway = Gateway::start(Transport::Plaintext, None).await;
    let body: Vec<u8> = (0..500_000u32).map(|i| (i % 253) as u8).collect();
    let put = gateway.put("data.bin", body.clone()).await;
    assert_eq!(status(&put), StatusCode::CREATED);
    let hash = blake3::hash(&body).to_hex().to_string();
    let expected_etag = format!("\"{}\"", &hash[..32]);
    assert_eq!(put.headers()["etag"].to_str().expect("etag"), expected_etag);

    let get = gateway
        .request("GET", "data.bin")
        .send()
        .await
        .expect("get");
    assert_eq!(get.headers()["etag"].to_str().expect("etag"), expected_etag);
    assert_eq!(get.bytes().await.expect("body").to_vec(), body);
    let unchanged = gateway
        .request("GET", "data.bin")
        .header("if-none-match", &expected_etag)
        .send()
        .await
        .expect("get");
    assert_eq!(status(&unchanged), StatusCode::NOT_MODIFIED);

    let part = gateway
        .request("GET", "data.bin")
        .header("range", "bytes=300000-300099")
        .send()
        .await
        .expect("range");
    assert_eq!(status(&part), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.bytes().await.expect("part").to_vec(),
        body[300_000..300_100].to_vec()
    );
    let head = gateway
        .request("HEAD", "data.bin")
        .send()
        .await
        .expect("head");
    assert_eq!(head.headers()["content-length"], "500000");

    let listing = gateway
        .request("PROPFIND", "")
        .header("depth", "1")
        .send()
        .await
        .expect("propfind");
    assert_eq!(status(&listing), StatusCode::MULTI_STATUS);
    let xml = text(listing).await;
    assert!(
        xml.contains("/dav/data.bin") && xml.contains(&hash[..32]),
        "{xml}"
    );
    let infinite = gateway
        .request("PROPFIND", "")
        .header("depth", "infinity")
        .send()
        .await
        .expect("propfind");
    assert!(
        infinite.status().is_client_error() || infinite.status() == StatusCode::NOT_IMPLEMENTED,
        "{}",
        infinite.status()
    );
    assert!(text(infinite).await.contains("propfind-finite-depth"));
    // Also for a client that says it is litmus (dav-server lets litmus through).
    let litmus = gateway
        .request("PROPFIND", "")
        .header("depth", "infinity")
        .header("x-litmus", "props: 4")
        .send()
        .await
        .expect("propfind");
    assert_eq!(litmus.status(), StatusCode::NOT_IMPLEMENTED);

    // macOS Finder: a chunked body, its length in X-Expected-Entity-Length.
    let finder = gateway
        .request("PUT", "finder.bin")
        .header("x-expected-entity-length", "9")
        .body(reqwest::Body::wrap_stream(futures_stream()))
        .send()
        .await
        .expect("put");
    assert_eq!(status(&finder), StatusCode::CREATED);
    assert_eq!(
        std::fs::read(gateway.home("alice").join("finder.bin")).expect("finder"),
        b"no length"
    );
    // One that announces more than it sends stores nothing.
    let short = gateway
        .request("PUT", "short.bin")
        .header("x-expected-entity-length", "100")
        .body(reqwest::Body::wrap_stream(futures_stream()))
        .send()
        .await
        .expect("put");
    assert!(!short.status().is_success(), "{}", short.status());
    assert!(!gateway.home("alice").join("short.bin").exists());

    // No length, no upload: the quota is checked before the body.
    let chunked = gateway
        .put("stream.bin", reqwest::Body::wrap_stream(futures_stream()))
        .await;
    assert_eq!(status(&chunked), StatusCode::LENGTH_REQUIRED);
    gateway.stop().await;
}

fn futures_stream() -> impl futures_util_stream::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util_stream::iter(vec![Ok(b"no length".to_vec())])
}

mod futures_util_stream {
    pub use futures_util::stream::{iter, Stream};
}

#[tokio::test(flavor = "multi_thread")]
async fn properties_follow_their_file_and_locks_keep_writers_out() {
    let gateway = Gateway::start(Transport::Plaintext, None).await;
    let put = gateway.put("a.txt", "a").await;
    assert_eq!(status(&put), StatusCode::CREATED);
    // What macOS Finder records (dead properties, kept by the store),
    // and the file's time as Windows sets it after an upload.
    let set = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://www.apple.com/webdav_fs/props/" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>
<A:appledoubleheader>AAUWBwACAAA=</A:appledoubleheader>
<Z:Win32LastModifiedTime>Wed, 02 Dec 2026 10:00:00 GMT</Z:Win32LastModifiedTime>
</D:prop></D:set></D:propertyupdate>"#;
    let patched = gateway
        .request("PROPPATCH", "a.txt")
        .body(set)
        .send()
        .await
        .expect("proppatch");
    assert_eq!(status(&patched), StatusCode::MULTI_STATUS);
    let answer = text(patched).await;
    assert!(
        answer.contains("200 OK") && !answer.contains("HTTP/1.1 4"),
        "{answer}"
    );
    let moved = gateway
        .request("MOVE", "a.txt")
        .header("destination", gateway.dav("b.txt"))
        .send()
        .await
        .expect("move");
    assert_eq!(status(&moved), StatusCode::CREATED);
    let copied = gateway
        .request("COPY", "b.txt")
        .header("destination", gateway.dav("c.txt"))
        .send()
        .await
        .expect("copy");
    assert_eq!(status(&copied), StatusCode::CREATED);
    for name in ["b.txt", "c.txt"] {
        let found = gateway
            .request("PROPFIND", name)
            .header("depth", "0")
            .body(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#)
            .send()
            .await
            .expect("propfind");
        let xml = text(found).await;
        assert!(
            xml.contains("appledoubleheader") && xml.contains("AAUWBwACAAA="),
            "{name}: {xml}"
        );
    }

    // An exclusive lock: a writer without its token is refused.
    let lock_body = r#"<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>"#;
    let locked = gateway
        .request("LOCK", "b.txt")
        .header("timeout", "Second-600")
        .body(lock_body)
        .send()
        .await
        .expect("lock");
    assert_eq!(status(&locked), StatusCode::OK);
    let token = locked.headers()["lock-token"]
        .to_str()
        .expect("token")
        .to_owned();
    let blind = gateway.put("b.txt", "overwritten").await;
    assert_eq!(status(&blind), StatusCode::LOCKED);
    let removed = gateway
        .request("DELETE", "b.txt")
        .send()
        .await
        .expect("delete");
    assert_eq!(status(&removed), StatusCode::LOCKED);
    assert_eq!(
        std::fs::read(gateway.home("alice").join("b.txt")).expect("b"),
        b"a"
    );
    let with_token = gateway
        .request("PUT", "b.txt")
        .header("if", format!("({token})"))
        .body("new")
        .send()
        .await
        .expect("put");
    assert_eq!(status(&with_token), StatusCode::NO_CONTENT);
    let unlocked = gateway
        .request("UNLOCK", "b.txt")
        .header("lock-token", &token)
        .send()
        .await
        .expect("unlock");
    assert_eq!(status(&unlocked), StatusCode::NO_CONTENT);
    // Another user's locks are their own: bob's b.txt is not alice's.
    let bob = gateway
        .http
        .request(reqwest::Method::PUT, gateway.dav("b.txt"))
        .basic_auth("bob", Some(PASSWORD))
        .body("bob")
        .send()
        .await
        .expect("put");
    assert_eq!(status(&bob), StatusCode::CREATED);

    // A malformed If header is refused, not a dropped connection.
    let bad = gateway
        .request("PUT", "b.txt")
        .header("if", "(<urn:uuid:1> [\"abc")
        .body("x")
        .send()
        .await
        .expect("put");
    assert_eq!(status(&bad), StatusCode::BAD_REQUEST);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_paths_stay_in_the_home() {
    #[derive(serde::Deserialize)]
    struct Form {
        path: String,
    }
    let corpus: Vec<Form> = serde_json::from_str(include_str!(
        "../../netdisk-server/tests/data/hostile_paths.json"
    ))
    .expect("corpus");
    let gateway = Gateway::start(Transport::Plaintext, None).await;
    let outside = tempfile::tempdir().expect("outside");
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, b"outside secret").expect("secret");
    // Bob's home is made when he first logs in.
    let bob = gateway
        .http
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").expect("method"),
            gateway.dav(""),
        )
        .basic_auth("bob", Some(PASSWORD))
        .header("depth", "0")
        .send()
        .await
        .expect("bob");
    assert_eq!(bob.status(), StatusCode::MULTI_STATUS);
    std::fs::write(gateway.home("bob").join("bob.txt"), b"bob's file").expect("bob");
    let alice = gateway
        .request("PROPFIND", "")
        .header("depth", "0")
        .send()
        .await
        .expect("alice");
    assert_eq!(alice.status(), StatusCode::MULTI_STATUS);
    let home = gateway.home("alice");
    std::fs::write(home.join("bait.txt"), b"bait").expect("bait");
    std::fs::create_dir(home.join("dir")).expect("dir");
    for (target, link) in [
        (std::path::PathBuf::from("/etc"), "etc-link"),
        (outside.path().to_owned(), "outside-link"),
        (secret.clone(), "secret-link"),
        ("../../..".into(), "up-link"),
        (gateway.home("bob"), "bob-link"),
        ("/".into(), "root-link"),
        ("loop-link".into(), "loop-link"),
    ] {
        std::os::unix::fs::symlink(target, home.join(link)).expect("symlink");
    }
    let passwd = std::fs::read("/etc/passwd").unwrap_or_default();
    let outside_before = std::fs::read_dir(outside.path()).expect("ls").count();

    for form in &corpus {
        // As sent: every byte outside [A-Za-z0-9._~/-] percent-encoded,
        // and once more with '.' and '/' encoded too.
        let plain = encode(&form.path, false);
        let dotted = encode(&form.path, true);
        for target in [format!("/dav/{plain}"), format!("/dav/{dotted}")] {
            for (method, headers, body) in [
                ("GET", vec![], &b""[..]),
                ("PROPFIND", vec![("depth", "1")], &b""[..]),
                ("PUT", vec![], &b"hostile"[..]),
                ("MKCOL", vec![], &b""[..]),
            ] {
                let answer = raw_request(&gateway, method, &target, &headers, body).await;
                for leaked in [&b"outside secret"[..], b"bob's file", b"root:x:0:0"] {
                    assert!(
                        !answer.contains(leaked),
                        "{method} {target} leaked {}",
                        String::from_utf8_lossy(leaked)
                    );
                }
            }
            let destination = format!("{}{target}", gateway.origin);
            for method in ["COPY", "MOVE"] {
                let answer = raw_request(
                    &gateway,
                    method,
                    "/dav/bait.txt",
                    &[("destination", &destination), ("overwrite", "F")],
                    b"",
                )
                .await;
                if answer.status < 300 {
                    // Only ever into the home: put the bait back.
                    std::fs::write(home.join("bait.txt"), b"bait").expect("bait");
                }
            }
        }
    }
    assert_eq!(std::fs::read(&secret).expect("secret"), b"outside secret");
    assert_eq!(
        std::fs::read_dir(outside.path()).expect("ls").count(),
        outside_before,
        "a file appeared outside"
    );
    assert_eq!(
        std::fs::read(gateway.home("bob").join("bob.txt")).expect("bob"),
        b"bob's file"
    );
    assert_eq!(
        std::fs::read_dir(gateway.home("bob")).expect("ls").count(),
        1,
        "bob's home changed"
    );
    assert_eq!(std::fs::read("/etc/passwd").unwrap_or_default(), passwd);
    gateway.stop().await;
}

fn encode(path: &str, everything: bool) -> String {
    path.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'~' => (b as char).to_string(),
            b'.' | b'/' if !everything => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

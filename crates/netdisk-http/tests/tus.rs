//! tus 1.0 resumable uploads through real HTTP: creation, offsets,
//! checksums, a cut PATCH resumed from what the server kept, termination,
//! and the partial's bytes counted toward the quota.

mod common;

use base64::Engine;
use common::{error_code, Gateway};
use netdisk_server::Transport;
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

const OCTETS: &str = "application/offset+octet-stream";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn tus(gw: &Gateway, method: Method, token: &str, path: &str) -> reqwest::RequestBuilder {
    gw.http
        .request(method, gw.url(path))
        .bearer_auth(token)
        .header("tus-resumable", "1.0.0")
}

/// Creates an upload; returns its path under /api/v1 ("tus/ID").
async fn create(gw: &Gateway, token: &str, target: &str, data: &[u8]) -> String {
    let metadata = format!(
        "path {},blake3 {}",
        b64(target.as_bytes()),
        b64(blake3::hash(data).to_hex().as_bytes())
    );
    let response = tus(gw, Method::POST, token, "tus")
        .header("upload-length", data.len())
        .header("upload-metadata", metadata)
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["tus-resumable"], "1.0.0");
    let location = response.headers()[LOCATION].to_str().expect("ascii");
    location
        .strip_prefix("/api/v1/")
        .expect("a location under /api/v1")
        .to_owned()
}

async fn offset(gw: &Gateway, token: &str, upload: &str) -> Option<u64> {
    let response = tus(gw, Method::HEAD, token, upload)
        .send()
        .await
        .expect("head");
    if response.status() == StatusCode::NOT_FOUND {
        return None;
    }
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let value = response.headers()["upload-offset"].to_str().expect("ascii");
    Some(value.parse().expect("offset"))
}

fn patch(gw: &Gateway, token: &str, upload: &str, at: u64) -> reqwest::RequestBuilder {
    tus(gw, Method::PATCH, token, upload)
        .header("content-type", OCTETS)
        .header("upload-offset", at)
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn chunks_with_checksums_build_the_file_and_a_bad_one_is_not_kept() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let alice = gw.token("alice").await;

    let options = gw
        .http
        .request(Method::OPTIONS, gw.url("tus"))
        .send()
        .await
        .expect("options");
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(options.headers()["tus-version"], "1.0.0");
    let extensions = options.headers()["tus-extension"].to_str().expect("ascii");
    for extension in ["creation", "termination", "checksum"] {
        assert!(extensions.contains(extension), "{extensions}");
    }
    assert_eq!(options.headers()["tus-checksum-algorithm"], "sha256,blake3");

    let file = data(300_000);
    let upload = create(&gw, &alice, "video.bin", &file).await;
    assert_eq!(offset(&gw, &alice, &upload).await, Some(0));

    let (first, rest) = file.split_at(100_000);
    let sent = patch(&gw, &alice, &upload, 0)
        .header(
            "upload-checksum",
            format!("sha256 {}", b64(&Sha256::digest(first))),
        )
        .body(first.to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    assert_eq!(sent.headers()["upload-offset"], "100000");
    assert_eq!(offset(&gw, &alice, &upload).await, Some(100_000));
    // The kept bytes are on the quota, as a native partial's are.
    let usage: Value = gw
        .call(Method::GET, &alice, "usage")
        .await
        .json()
        .await
        .expect("usage");
    assert_eq!(usage["partials"], 100_000);

    // A wrong offset, a wrong checksum, an unknown algorithm, a wrong type,
    // no version: refused, and the server keeps what it had.
    let stale = patch(&gw, &alice, &upload, 0)
        .body(first.to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(
        error_code(stale).await,
        (StatusCode::CONFLICT, "offset_mismatch".into())
    );
    let (second, third) = rest.split_at(100_000);
    let corrupt = patch(&gw, &alice, &upload, 100_000)
        .header(
            "upload-checksum",
            format!("blake3 {}", b64(blake3::hash(b"other").as_bytes())),
        )
        .body(second.to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(corrupt.status().as_u16(), 460);
    assert_eq!(offset(&gw, &alice, &upload).await, Some(100_000));
    let unknown = patch(&gw, &alice, &upload, 100_000)
        .header("upload-checksum", format!("md5 {}", b64(b"x")))
        .body(second.to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let typed = tus(&gw, Method::PATCH, &alice, &upload)
        .header("content-type", "application/json")
        .header("upload-offset", 100_000)
        .body(second.to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(typed.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let unversioned = gw
        .http
        .head(gw.url(&upload))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("head");
    assert_eq!(unversioned.status(), StatusCode::PRECONDITION_FAILED);
    let too_long = patch(&gw, &alice, &upload, 100_000)
        .body(vec![0u8; 200_001])
        .send()
        .await
        .expect("patch");
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);
    assert_eq!(offset(&gw, &alice, &upload).await, Some(100_000));

    // Bob cannot see alice's upload.
    let bob = gw.token("bob").await;
    assert_eq!(offset(&gw, &bob, &upload).await, None);

    let good = patch(&gw, &alice, &upload, 100_000)
        .header(
            "upload-checksum",
            format!("blake3 {}", b64(blake3::hash(second).as_bytes())),
        )
        .body(second.to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(good.headers()["upload-offset"], "200000");
    let last = patch(&gw, &alice, &upload, 200_000)
        .body(third.to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    assert_eq!(last.headers()["upload-offset"], "300000");
    assert_eq!(
        std::fs::read(gw.home("alice").join("video.bin")).expect("committed"),
        file
    );
    assert_eq!(offset(&gw, &alice, &upload).await, None, "done: gone");
    let usage: Value = gw
        .call(Method::GET, &alice, "usage")
        .await
        .json()
        .await
        .expect("usage");
    assert_eq!(usage["partials"], 0);
    assert_eq!(usage["used"], 300_000);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_patch_resumes_from_the_bytes_the_server_kept() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let alice = gw.token("alice").await;
    let file = data(3 << 20);
    let upload = create(&gw, &alice, "big.bin", &file).await;

    // Send 1 MiB, wait until the server holds it, then cut the request.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let request = patch(&gw, &alice, &upload, 0)
        .header("content-length", file.len())
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let cut = tokio::spawn(request);
    for piece in file[..1 << 20].chunks(64 << 10) {
        tx.send(Ok(bytes::Bytes::copy_from_slice(piece)))
            .await
            .expect("send");
    }
    let staging = gw.root.join("staging/alice");
    let start = Instant::now();
    while partial_bytes(&staging) < 1 << 20 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server did not receive the first MiB"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tx.send(Err(std::io::Error::other("cable pulled")))
        .await
        .expect("send");
    let outcome = tokio::time::timeout(Duration::from_secs(20), cut)
        .await
        .expect("the cut request ends")
        .expect("task");
    assert!(outcome.is_err(), "the request was cut: {outcome:?}");

    let kept = offset(&gw, &alice, &upload).await.expect("still there");
    assert_eq!(kept, 1 << 20, "every byte that landed is kept");
    let rest = patch(&gw, &alice, &upload, kept)
        .body(file[kept as usize..].to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        std::fs::read(gw.home("alice").join("big.bin")).expect("committed"),
        file
    );
    gw.stop().await;
}

fn partial_bytes(staging: &std::path::Path) -> u64 {
    std::fs::read_dir(staging)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn termination_quota_and_a_wrong_whole_file_hash() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let alice = gw.token("alice").await;

    // Over the 10 MiB quota: refused at creation.
    let big = tus(&gw, Method::POST, &alice, "tus")
        .header("upload-length", 11u64 << 20)
        .header("upload-metadata", format!("path {}", b64(b"huge.bin")))
        .send()
        .await
        .expect("create");
    assert_eq!(
        error_code(big).await,
        (StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded".into())
    );
    for metadata in ["", "name eA==", "path Li4vYm9i"] {
        let refused = tus(&gw, Method::POST, &alice, "tus")
            .header("upload-length", 10)
            .header("upload-metadata", metadata)
            .send()
            .await
            .expect("create");
        assert!(refused.status().is_client_error(), "{metadata:?}");
    }

    let file = data(50_000);
    let upload = create(&gw, &alice, "gone.bin", &file).await;
    patch(&gw, &alice, &upload, 0)
        .body(file[..20_000].to_vec())
        .send()
        .await
        .expect("patch");
    let deleted = tus(&gw, Method::DELETE, &alice, &upload)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset(&gw, &alice, &upload).await, None);
    assert_eq!(partial_bytes(&gw.root.join("staging/alice")), 0);

    // The metadata's BLAKE3 is checked at the commit: a wrong file is not stored.
    let upload = create(&gw, &alice, "checked.bin", &file).await;
    let mut wrong = file.clone();
    wrong[0] ^= 1;
    let refused = patch(&gw, &alice, &upload, 0)
        .body(wrong)
        .send()
        .await
        .expect("patch");
    assert_eq!(
        error_code(refused).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "integrity".into())
    );
    assert!(!gw.home("alice").join("checked.bin").exists());
    assert_eq!(offset(&gw, &alice, &upload).await, None);
    gw.stop().await;
}

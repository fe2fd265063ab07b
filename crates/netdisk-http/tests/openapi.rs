//! The OpenAPI document at `/api/v1/openapi.json` against the running
//! gateway: the document is well-formed OpenAPI 3.1 (every `$ref`
//! resolves, every path parameter is declared, every operation says how
//! it logs in), and every documented operation is called, each answer's
//! status being one the document lists for it and each JSON body fitting
//! its schema with no undocumented property. An operation added without
//! a call here, or a route added outside the documented registration,
//! fails the test.

mod common;

use common::Gateway;
use netdisk_server::Transport;
use reqwest::header::{CONTENT_TYPE, SET_COOKIE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Operations anyone may call: logging in, and share links' visitors.
const PUBLIC: &[&str] = &[
    "POST /api/v1/login",
    "POST /api/v1/refresh",
    "GET /api/v1/openapi.json",
    "OPTIONS /api/v1/tus",
    "GET /api/v1/public/{token}",
    "POST /api/v1/public/{token}/unlock",
    "GET /api/v1/public/{token}/list",
    "GET /api/v1/public/{token}/file",
    "HEAD /api/v1/public/{token}/file",
    "PUT /api/v1/public/{token}/file",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

/// Every operation of the document, as "METHOD /path".
fn operations(doc: &Value) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(*method).is_some() {
                all.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    all
}

fn operation<'a>(doc: &'a Value, op: &str) -> &'a Value {
    let (method, path) = op.split_once(' ').expect("METHOD /path");
    let found = &doc["paths"][path][method.to_lowercase()];
    assert!(found.is_object(), "{op} is not in the document");
    found
}

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => out.push(target.clone()),
                    _ => refs(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

/// Objects described with their properties admit no others: an answer
/// with a property the document does not describe fails validation.
fn strict(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(strict);
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_is_openapi_3_1_and_consistent() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let response = gw
        .http
        .get(gw.url("openapi.json"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let doc: Value = response.json().await.expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(!targets.is_empty());
    for target in &targets {
        let pointer = target.strip_prefix('#').expect("a local $ref");
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["session_cookie"]["name"], "nd_session");

    let mut ids = BTreeSet::new();
    let all = operations(&doc);
    assert!(all.len() >= 28, "only {} operations", all.len());
    for op in &all {
        let (_, path) = op.split_once(' ').expect("op");
        let operation = operation(&doc, op);
        assert!(
            ids.insert(
                operation["operationId"]
                    .as_str()
                    .expect("operationId")
                    .to_owned()
            ),
            "{op}: operationId used twice"
        );
        assert!(operation["tags"][0].is_string(), "{op}: no tag");
        // Path parameters: the template's and the declared ones are the same.
        assert!(!path.contains("{*"), "{op}: axum's wildcard syntax left in");
        let in_template: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .map(|params| {
                params
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().expect("name"))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(in_template, declared, "{op}: path parameters");
        // How it logs in: the two schemes, or nothing for the public ones.
        let security = operation["security"].as_array();
        if PUBLIC.contains(&op.as_str()) {
            assert!(security.is_none(), "{op} is public");
        } else {
            let names: BTreeSet<&str> = security
                .unwrap_or_else(|| panic!("{op} says nothing of its login"))
                .iter()
                .flat_map(|requirement| requirement.as_object().expect("requirement").keys())
                .map(String::as_str)
                .collect();
            assert_eq!(names, BTreeSet::from(["bearer", "session_cookie"]), "{op}");
            assert!(
                operation["responses"]["401"].is_object(),
                "{op}: no 401 documented"
            );
        }
        // Errors are described by the one error body.
        for (status, response) in operation["responses"].as_object().expect("responses") {
            let schema = &response["content"]["application/json"]["schema"];
            if status.starts_with('4') || status.starts_with('5') {
                if !schema.is_null() {
                    assert_eq!(
                        schema["$ref"], "#/components/schemas/ErrorBody",
                        "{op} {status}"
                    );
                }
            } else {
                assert!(
                    status.starts_with('2') || status.starts_with('3'),
                    "{op} {status}"
                );
            }
        }
    }
    gw.stop().await;
}

/// Calls operations and holds each answer to the document.
struct Checker {
    doc: Value,
    /// The document, strict, as the root that answers' schemas refer into.
    strict_components: Value,
    called: BTreeSet<String>,
    succeeded: BTreeSet<String>,
}

/// An answer that was held to the document.
struct Answer {
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

impl Checker {
    fn new(doc: Value) -> Checker {
        let mut components = doc["components"].clone();
        strict(&mut components);
        Checker {
            doc,
            strict_components: components,
            called: BTreeSet::new(),
            succeeded: BTreeSet::new(),
        }
    }

    /// Sends `request` for the documented operation `op`, which must
    /// answer `expected`; the answer must be documented and fit.
    async fn call(&mut self, op: &str, request: RequestBuilder, expected: u16) -> Answer {
        let operation = operation(&self.doc, op).clone();
        let response = request.send().await.unwrap_or_else(|e| panic!("{op}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body").to_vec();
        assert_eq!(
            status.as_u16(),
            expected,
            "{op}: {}",
            String::from_utf8_lossy(&body)
        );
        let documented = &operation["responses"][status.as_str()];
        assert!(
            documented.is_object(),
            "{op} answered {status}, which its document does not list"
        );
        self.called.insert(op.to_owned());
        if status.is_success() || status.is_redirection() {
            self.succeeded.insert(op.to_owned());
        }
        let head = op.starts_with("HEAD ");
        match documented["content"].as_object() {
            Some(content) if !head && !body.is_empty() => {
                let media = headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let schema = &content
                    .get(media)
                    .unwrap_or_else(|| panic!("{op} {status}: {media} is not documented"))
                    ["schema"];
                if media == "application/json" {
                    self.validate(op, status, schema, &body);
                }
            }
            _ => assert!(
                body.is_empty() || head,
                "{op} {status}: a body its document does not describe"
            ),
        }
        Answer { headers, body }
    }

    fn validate(&self, op: &str, status: StatusCode, schema: &Value, body: &[u8]) {
        let instance: Value =
            serde_json::from_slice(body).unwrap_or_else(|e| panic!("{op} {status}: not JSON: {e}"));
        let mut schema = schema.clone();
        strict(&mut schema);
        let mut root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.strict_components,
        });
        if let (Some(root), Some(schema)) = (root.as_object_mut(), schema.as_object()) {
            root.extend(schema.clone());
        }
        if let Err(error) = jsonschema::validate(&root, &instance) {
            panic!("{op} {status}: the answer does not fit its schema: {error}\n{instance:#}");
        }
    }
}

fn cookie_of(answer: &Answer, name: &str) -> String {
    answer
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

fn tus(request: RequestBuilder) -> RequestBuilder {
    request.header("tus-resumable", "1.0.0")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_operation_answers_as_documented() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let http = gw.http.clone();
    let url = |path: &str| gw.url(path);
    let doc: Value = http
        .get(url("openapi.json"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let mut check = Checker::new(doc);

    // Logging in.
    let op = "POST /api/v1/login";
    let login = |body: Value| http.post(url("login")).json(&body);
    let bearer = check
        .call(op, login(json!({"user": "alice", "password": "pw"})), 200)
        .await
        .json();
    let cookie_login = check
        .call(
            op,
            login(json!({"user": "alice", "password": "pw", "cookie": true})),
            200,
        )
        .await;
    let session_cookie = cookie_of(&cookie_login, "nd_session");
    let csrf = cookie_login.json()["csrf"]
        .as_str()
        .expect("csrf")
        .to_owned();
    check
        .call(op, login(json!({"user": "alice", "password": "nope"})), 401)
        .await;
    let not_json = http
        .post(url("login"))
        .header(CONTENT_TYPE, "application/json")
        .body("{");
    check.call(op, not_json, 400).await;
    check.call(op, login(json!({"user": "alice"})), 422).await;
    check
        .call(op, http.post(url("login")).body("user=alice"), 415)
        .await;
    let bob = gw.token("bob").await;

    let op = "POST /api/v1/refresh";
    let refresh = json!({"refresh_token": bearer["refresh_token"]});
    let refreshed = check
        .call(op, http.post(url("refresh")).json(&refresh), 200)
        .await
        .json();
    // The login's first token ended with the refresh; this is its successor.
    let token = refreshed["token"].as_str().expect("token").to_owned();
    check
        .call(op, http.post(url("refresh")).json(&refresh), 401)
        .await;

    let op = "GET /api/v1/session";
    let session = check
        .call(op, http.get(url("session")).bearer_auth(&token), 200)
        .await
        .json();
    assert_eq!(session["user"], "alice");
    let by_cookie = http.get(url("session")).header("cookie", &session_cookie);
    assert_eq!(check.call(op, by_cookie, 200).await.json()["csrf"], csrf);
    check.call(op, http.get(url("session")), 401).await;

    // Personal tokens.
    let op = "POST /api/v1/tokens";
    let made = check
        .call(
            op,
            http.post(url("tokens"))
                .bearer_auth(&token)
                .json(&json!({"name": "ci"})),
            201,
        )
        .await
        .json();
    check
        .call(
            op,
            http.post(url("tokens"))
                .bearer_auth(&token)
                .json(&json!({"name": " "})),
            400,
        )
        .await;
    let write_by_cookie = http
        .post(url("tokens"))
        .header("cookie", &session_cookie)
        .json(&json!({"name": "no csrf"}));
    check.call(op, write_by_cookie, 403).await;
    check
        .call(
            op,
            http.post(url("tokens")).json(&json!({"name": "x"})),
            401,
        )
        .await;
    let op = "GET /api/v1/tokens";
    let listed = check
        .call(op, http.get(url("tokens")).bearer_auth(&token), 200)
        .await
        .json();
    assert!(listed["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .any(|t| t["id"] == made["id"] && t["kind"] == "personal"));
    let op = "DELETE /api/v1/tokens/{id}";
    let revoke = |id: &str| {
        http.delete(url(&format!("tokens/{id}")))
            .bearer_auth(&token)
    };
    let id = made["id"].to_string();
    check.call(op, revoke(&id), 204).await;
    check.call(op, revoke(&id), 404).await;
    check.call(op, revoke("one"), 400).await;

    // Files.
    let op = "GET /api/v1/usage";
    check
        .call(op, http.get(url("usage")).bearer_auth(&token), 200)
        .await;
    let op = "POST /api/v1/mkdir/{path}";
    let mkdir = |path: &str| http.post(url(&format!("mkdir/{path}"))).bearer_auth(&token);
    check.call(op, mkdir("docs"), 201).await;
    check.call(op, mkdir("docs"), 409).await;
    check.call(op, mkdir("a/b"), 404).await;
    check.call(op, mkdir("a/b?parents=true"), 201).await;
    check.call(op, mkdir("..%2Fescape"), 403).await;
    check.call(op, mkdir("a%00b"), 400).await;

    let op = "PUT /api/v1/files/{path}";
    let content: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    let hash = blake3::hash(&content).to_hex().to_string();
    let put = |path: &str| http.put(url(&format!("files/{path}"))).bearer_auth(&token);
    let stored = check
        .call(
            op,
            put("docs/a.bin")
                .header("x-netdisk-blake3", &hash)
                .body(content.clone()),
            201,
        )
        .await
        .json();
    assert_eq!(stored["blake3"], hash.as_str());
    check
        .call(
            op,
            put("docs/b.bin")
                .header("x-netdisk-blake3", "0".repeat(64))
                .body(content.clone()),
            422,
        )
        .await;
    check
        .call(
            op,
            put("docs/a.bin").header("if-none-match", "*").body("x"),
            412,
        )
        .await;
    check.call(op, put("nowhere/a.bin").body("x"), 404).await;
    check.call(op, put("docs").body("x"), 409).await;
    check
        .call(op, put("big.bin").body(vec![0u8; 11 << 20]), 507)
        .await;
    let unsized_body =
        reqwest::Body::wrap_stream(futures_util::stream::iter([Ok::<_, std::io::Error>(
            bytes::Bytes::from_static(b"x"),
        )]));
    check
        .call(op, put("chunked.bin").body(unsized_body), 411)
        .await;
    check
        .call(
            op,
            put("docs/c.bin")
                .header("x-netdisk-blake3", "xyz")
                .body("x"),
            400,
        )
        .await;

    let op = "GET /api/v1/files/{path}";
    let get = |path: &str| http.get(url(&format!("files/{path}"))).bearer_auth(&token);
    let whole = check.call(op, get("docs/a.bin"), 200).await;
    assert_eq!(whole.body, content);
    let etag = whole.headers["etag"].to_str().expect("etag").to_owned();
    assert_eq!(etag, format!("\"{hash}\""));
    let part = check
        .call(op, get("docs/a.bin").header("range", "bytes=10-19"), 206)
        .await;
    assert_eq!(part.body, content[10..20]);
    check
        .call(op, get("docs/a.bin").header("if-none-match", &etag), 304)
        .await;
    check
        .call(op, get("docs/a.bin").header("range", "bytes=999999-"), 416)
        .await;
    check.call(op, get("docs/none.bin"), 404).await;
    check.call(op, get("docs"), 409).await;
    check.call(op, http.get(url("files/docs/a.bin")), 401).await;
    let op = "HEAD /api/v1/files/{path}";
    let headed = check
        .call(
            op,
            http.head(url("files/docs/a.bin")).bearer_auth(&token),
            200,
        )
        .await;
    assert_eq!(headed.headers["content-length"], "50000");

    let op = "GET /api/v1/list";
    let list = |rest: &str| http.get(url(&format!("list{rest}"))).bearer_auth(&token);
    let home = check.call(op, list(""), 200).await.json();
    assert!(home["next"].is_null() && home["entries"].as_array().expect("entries").len() == 2);
    let paged = check.call(op, list("?limit=1"), 200).await.json();
    assert_eq!(paged["next"], "a");
    let by_size = check
        .call(op, list("?sort=size&desc=true"), 200)
        .await
        .json();
    assert!(by_size["next_offset"].is_null());
    let op = "GET /api/v1/list/{path}";
    let docs = check.call(op, list("/docs"), 200).await.json();
    assert_eq!(docs["entries"][0]["name"], "a.bin");
    check.call(op, list("/none"), 404).await;
    check.call(op, list("/docs/a.bin"), 409).await;

    let op = "GET /api/v1/stat/{path}";
    let stat = |path: &str| http.get(url(&format!("stat/{path}"))).bearer_auth(&token);
    let stated = check.call(op, stat("docs/a.bin"), 200).await.json();
    assert_eq!(stated["blake3"], hash.as_str());
    check.call(op, stat("docs"), 200).await;
    check.call(op, stat("docs/none"), 404).await;

    let op = "POST /api/v1/move";
    let mv = |from: &str, to: &str| {
        http.post(url("move"))
            .bearer_auth(&token)
            .json(&json!({"from": from, "to": to}))
    };
    check
        .call(op, mv("docs/a.bin", "docs/moved.bin"), 204)
        .await;
    check.call(op, mv("docs/none", "docs/x"), 404).await;
    check.call(op, mv("a", "a/b"), 400).await;
    check.call(op, mv("a", "docs/moved.bin"), 409).await;

    // Share links and their visitors.
    let op = "POST /api/v1/shares";
    let add = |spec: Value| http.post(url("shares")).bearer_auth(&token).json(&spec);
    let file_link = check
        .call(
            op,
            add(json!({"path": "docs/moved.bin", "max_downloads": 1})),
            201,
        )
        .await
        .json();
    let locked_link = check
        .call(op, add(json!({"path": "docs", "password": "sesame"})), 201)
        .await
        .json();
    let drop_box = check
        .call(op, add(json!({"path": "a", "upload_only": true})), 201)
        .await
        .json();
    check.call(op, add(json!({"path": "none"})), 404).await;
    check
        .call(op, add(json!({"path": "docs", "max_downloads": 0})), 400)
        .await;
    let op = "GET /api/v1/shares";
    let shares = check
        .call(op, http.get(url("shares")).bearer_auth(&token), 200)
        .await
        .json();
    assert_eq!(shares["shares"].as_array().expect("shares").len(), 3);

    let public = |link: &Value, rest: &str| {
        url(&format!(
            "public/{}{rest}",
            link["token"].as_str().expect("token")
        ))
    };
    let op = "GET /api/v1/public/{token}";
    let described = check
        .call(op, http.get(public(&file_link, "")), 200)
        .await
        .json();
    assert_eq!(described["size"], 50_000);
    let locked = check
        .call(op, http.get(public(&locked_link, "")), 200)
        .await
        .json();
    assert!(locked["name"].is_null() && locked["unlocked"] == false);
    check
        .call(op, http.get(url("public/nds_unknown")), 404)
        .await;

    let op = "GET /api/v1/public/{token}/list";
    check
        .call(op, http.get(public(&locked_link, "/list")), 401)
        .await;
    check
        .call(op, http.get(public(&drop_box, "/list")), 403)
        .await;
    let op = "POST /api/v1/public/{token}/unlock";
    let unlock = |password: &str| {
        http.post(public(&locked_link, "/unlock"))
            .json(&json!({"password": password}))
    };
    check.call(op, unlock("wrong"), 401).await;
    let unlocked = check.call(op, unlock("sesame"), 204).await;
    let proof = cookie_of(&unlocked, "nd_share");
    let op = "GET /api/v1/public/{token}/list";
    let listed = check
        .call(
            op,
            http.get(public(&locked_link, "/list"))
                .header("cookie", &proof),
            200,
        )
        .await
        .json();
    assert_eq!(listed["entries"][0]["name"], "moved.bin");
    let missing = check
        .call(
            op,
            http.get(public(&locked_link, "/list?path=none"))
                .header("cookie", &proof),
            404,
        )
        .await;
    // Where the owner keeps the folder is not the visitor's business.
    let message = missing.json()["error"]["message"].to_string();
    assert!(!message.contains("docs"), "{message}");

    let op = "HEAD /api/v1/public/{token}/file";
    check
        .call(op, http.head(public(&file_link, "/file")), 200)
        .await;
    let op = "GET /api/v1/public/{token}/file";
    let downloaded = check
        .call(op, http.get(public(&file_link, "/file")), 200)
        .await;
    assert_eq!(downloaded.body, content);
    check
        .call(op, http.get(public(&file_link, "/file")), 410)
        .await;
    let in_folder = http
        .get(public(&locked_link, "/file?path=moved.bin"))
        .header("cookie", &proof)
        .header("range", "bytes=0-9");
    check.call(op, in_folder, 206).await;
    let the_folder = http
        .get(public(&locked_link, "/file"))
        .header("cookie", &proof);
    let refused = check.call(op, the_folder, 409).await;
    let message = refused.json()["error"]["message"].to_string();
    assert_eq!(message, "\"/: is a directory\"");

    let op = "PUT /api/v1/public/{token}/file";
    let drop = |name: &str| {
        http.put(public(&drop_box, &format!("/file?name={name}")))
            .body("dropped")
    };
    let dropped = check.call(op, drop("note.txt"), 201).await.json();
    assert_eq!(dropped["size"], 7);
    check.call(op, drop("note.txt"), 409).await;
    // A drop box neither lists nor sends, nor says whether a name is there.
    let op = "GET /api/v1/public/{token}/file";
    for name in ["note.txt", "none.txt"] {
        let refused = check
            .call(
                op,
                http.get(public(&drop_box, &format!("/file?path={name}"))),
                403,
            )
            .await;
        assert_eq!(
            refused.json()["error"]["message"],
            "this link only takes uploads"
        );
    }
    let op = "PUT /api/v1/public/{token}/file";
    check.call(op, drop("..%2Fx"), 403).await;
    check.call(op, drop("a%00b"), 400).await;
    check
        .call(
            op,
            http.put(public(&file_link, "/file?name=x")).body("x"),
            410,
        )
        .await;

    let op = "DELETE /api/v1/shares/{id}";
    let unshare = |id: &Value| {
        http.delete(url(&format!("shares/{id}")))
            .bearer_auth(&token)
    };
    check.call(op, unshare(&drop_box["id"]), 204).await;
    check.call(op, unshare(&drop_box["id"]), 404).await;
    let bobs = http
        .delete(url(&format!("shares/{}", locked_link["id"])))
        .bearer_auth(&bob);
    check.call(op, bobs, 404).await;

    // tus.
    let op = "OPTIONS /api/v1/tus";
    let options = check
        .call(op, http.request(Method::OPTIONS, url("tus")), 204)
        .await;
    assert_eq!(options.headers["tus-version"], "1.0.0");
    let op = "POST /api/v1/tus";
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let create = || {
        tus(http.post(url("tus")).bearer_auth(&token))
            .header("upload-length", "10")
            .header("upload-metadata", format!("path {}", b64("docs/tus.bin")))
    };
    let created = check.call(op, create(), 201).await;
    let location = created.headers["location"]
        .to_str()
        .expect("location")
        .to_owned();
    check
        .call(
            op,
            http.post(url("tus"))
                .bearer_auth(&token)
                .header("upload-length", "10"),
            412,
        )
        .await;
    check
        .call(
            op,
            tus(http.post(url("tus")).bearer_auth(&token)).header("upload-length", "10"),
            400,
        )
        .await;
    let upload_url = format!("{}{location}", gw.base.trim_end_matches("/api/v1"));
    let op = "PATCH /api/v1/tus/{id}";
    let patch = |offset: &str, body: &'static str| {
        tus(http.patch(&upload_url).bearer_auth(&token))
            .header("upload-offset", offset)
            .header(CONTENT_TYPE, "application/offset+octet-stream")
            .body(body)
    };
    check.call(op, patch("0", "01234"), 204).await;
    check.call(op, patch("0", "01234"), 409).await;
    let wrong_type = tus(http.patch(&upload_url).bearer_auth(&token))
        .header("upload-offset", "5")
        .header(CONTENT_TYPE, "text/plain")
        .body("56789");
    check.call(op, wrong_type, 415).await;
    let wrong_sum = patch("5", "56789").header("upload-checksum", format!("sha256 {}", b64("x")));
    check.call(op, wrong_sum, 460).await;
    let op = "HEAD /api/v1/tus/{id}";
    let head = check
        .call(op, tus(http.head(&upload_url).bearer_auth(&token)), 200)
        .await;
    assert_eq!(head.headers["upload-offset"], "5");
    check
        .call(op, http.head(&upload_url).bearer_auth(&token), 412)
        .await;
    let op = "PATCH /api/v1/tus/{id}";
    check.call(op, patch("5", "56789"), 204).await;
    assert_eq!(
        std::fs::read(gw.home("alice").join("docs/tus.bin")).expect("committed"),
        b"0123456789"
    );
    let op = "HEAD /api/v1/tus/{id}";
    check
        .call(op, tus(http.head(&upload_url).bearer_auth(&token)), 404)
        .await;
    let op = "DELETE /api/v1/tus/{id}";
    let second = check.call("POST /api/v1/tus", create(), 201).await;
    let second_url = format!(
        "{}{}",
        gw.base.trim_end_matches("/api/v1"),
        second.headers["location"].to_str().expect("location")
    );
    let terminate = || tus(http.delete(&second_url).bearer_auth(&token));
    check.call(op, terminate(), 204).await;
    check.call(op, terminate(), 404).await;

    // Removing.
    let op = "DELETE /api/v1/files/{path}";
    let remove = |path: &str| {
        http.delete(url(&format!("files/{path}")))
            .bearer_auth(&token)
    };
    check.call(op, remove("docs/moved.bin"), 204).await;
    check.call(op, remove("docs/moved.bin"), 404).await;
    check.call(op, remove("docs"), 409).await;
    check.call(op, remove("docs?recursive=true"), 204).await;

    let op = "GET /api/v1/openapi.json";
    check.call(op, http.get(url("openapi.json")), 200).await;

    let op = "POST /api/v1/logout";
    check
        .call(op, http.post(url("logout")).bearer_auth(&token), 204)
        .await;
    check
        .call(op, http.post(url("logout")).bearer_auth(&token), 401)
        .await;

    // Every operation called, each at least once successfully.
    let all = operations(&check.doc);
    let missing: Vec<_> = all.difference(&check.succeeded).collect();
    assert!(missing.is_empty(), "never called successfully: {missing:?}");
    assert_eq!(check.called, all);
    gw.stop().await;
}

/// axum's own refusals (a method a route does not take, a path parameter
/// that does not parse) are answered as the API's JSON errors too.
#[tokio::test(flavor = "multi_thread")]
async fn refusals_outside_the_handlers_are_json_errors_too() {
    let gw = Gateway::start(Transport::Plaintext, |_| {}).await;
    let token = gw.token("alice").await;
    let response = gw.call(Method::PATCH, &token, "usage").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(response.headers().contains_key("allow"));
    let (status, code) = common::error_code(response).await;
    assert_eq!((status.as_u16(), code.as_str()), (405, "bad_request"));
    let response = gw.call(Method::GET, &token, "nothing/here").await;
    assert_eq!(
        common::error_code(response).await,
        (StatusCode::NOT_FOUND, "not_found".to_owned())
    );
    gw.stop().await;
}

/// Every `/api` route is registered with its documentation
/// (`openapi::api_routes`): none is added with axum's plain `route`.
#[test]
fn no_api_route_is_registered_outside_the_document() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    for file in std::fs::read_dir(&src).expect("src") {
        let path = file.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("source");
        for (at, _) in text.match_indices(".route(") {
            let call: String = text[at..].chars().take(120).collect();
            let target = call.split('"').nth(1).unwrap_or_default();
            assert!(
                !target.starts_with("/api"),
                "{}: {call:?} adds an API route outside openapi::api_routes",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "the web UI's routes were not found");
}

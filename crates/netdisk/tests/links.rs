//! `netdisk share` and `netdisk token` end to end: a real `netdisk serve`
//! with its HTTP gateway, the real CLI making and revoking links and
//! tokens, and plain HTTP requests using them as a browser or script would.

mod common;

use common::{add_user, first_lines, netdisk, run, wait_bounded, write_file, LIMIT};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// `netdisk --plaintext serve --http`, and the two addresses it printed.
struct Served {
    child: Child,
    native: String,
    http: String,
}

impl Served {
    fn start(root: &std::path::Path) -> Served {
        let mut child = netdisk()
            .args(["--plaintext", "serve", "--listen", "127.0.0.1:0"])
            .args(["--http", "127.0.0.1:0", "--root"])
            .arg(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let [first, second] = first_lines(&mut child);
        let native = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        let http = second
            .trim()
            .strip_prefix("HTTP API on http://")
            .and_then(|rest| rest.strip_suffix("/api/v1/"))
            .unwrap_or_else(|| panic!("unexpected second line {second:?}"))
            .to_owned();
        Served {
            child,
            native,
            http,
        }
    }

    fn cli(&self) -> Command {
        let mut cmd = netdisk();
        cmd.args(["--plaintext", "--server", &self.native, "--user", "alice"])
            .env("NETDISK_PASSWORD", "pw");
        cmd
    }

    /// One HTTP/1.1 request on its own connection: the status and body.
    fn http(&self, method: &str, path: &str, bearer: Option<&str>) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(&self.http).expect("connect");
        stream.set_read_timeout(Some(LIMIT)).expect("timeout");
        let auth = bearer
            .map(|token| format!("Authorization: Bearer {token}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
            self.http
        )
        .expect("request");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("answer");
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header");
        let head = String::from_utf8_lossy(&answer[..split]).to_string();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("status");
        (status, answer[split + 4..].to_vec())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = wait_bounded(&mut self.child);
    }
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn share_links_and_tokens_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    add_user(&root, "alice", "pw", None);
    let served = Served::start(&root);
    let local = dir.path().join("report.txt");
    let content = b"quarterly figures, all of them";
    write_file(&local, content);
    run(served.cli().arg("put").arg(&local).arg("report.txt"), "").ok();

    // A link good for one download, printed as the URL of its page.
    let made = run(
        served.cli().args([
            "--json",
            "share",
            "add",
            "report.txt",
            "--max-downloads",
            "1",
        ]),
        "",
    );
    made.ok();
    let link = &json_lines(&made.stdout)[0];
    let url = link["url"].as_str().expect("url");
    let token = link["token"].as_str().expect("token");
    assert_eq!(url, format!("http://{}/s/{token}", served.http));
    assert_eq!(link["path"], "~/report.txt");
    assert_eq!(link["max_downloads"], 1);

    let file = format!("/api/v1/public/{token}/file");
    assert_eq!(served.http("GET", &file, None), (200, content.to_vec()));
    assert_eq!(served.http("GET", &file, None).0, 410, "used up");
    let listed = run(served.cli().args(["--json", "share", "ls"]), "");
    listed.ok();
    let links = json_lines(&listed.stdout);
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["downloads"], 1);

    // A password from standard input; text output names what the link is.
    let locked = run(
        served
            .cli()
            .args(["share", "add", "report.txt", "--password-stdin"]),
        "s3cret\n",
    );
    locked.ok();
    assert!(
        locked.stdout.contains("/s/nds_") && locked.stdout.contains("password"),
        "{}",
        locked.stdout
    );
    let locked_token = locked
        .stdout
        .split("/s/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("token in the URL");
    assert_eq!(
        served
            .http("GET", &format!("/api/v1/public/{locked_token}/file"), None)
            .0,
        401
    );

    // Revoked: not found; an unknown id is an error, and says so.
    let id = links[0]["id"].as_i64().expect("id");
    run(served.cli().args(["share", "rm", &id.to_string()]), "").ok();
    assert_eq!(served.http("GET", &file, None).0, 404);
    let unknown = run(served.cli().args(["share", "rm", "99999"]), "");
    assert!(!unknown.status.success());
    assert!(unknown.stderr.contains("99999"), "{}", unknown.stderr);

    // A personal token for scripts: shown once, usable, listed, revoked.
    let added = run(
        served
            .cli()
            .args(["--json", "token", "add", "--name", "ci"]),
        "",
    );
    added.ok();
    let record = &json_lines(&added.stdout)[0];
    let secret = record["token"].as_str().expect("token").to_owned();
    assert!(secret.starts_with("ndt_"));
    let (status, body) = served.http("GET", "/api/v1/list", Some(&secret));
    assert_eq!(status, 200);
    let listing: Value = serde_json::from_slice(&body).expect("listing");
    assert_eq!(listing["entries"][0]["name"], "report.txt");
    let tokens = run(served.cli().args(["token", "ls"]), "");
    tokens.ok();
    assert!(tokens.stdout.contains("ci") && tokens.stdout.contains("personal"));
    let id = record["id"].as_i64().expect("id");
    run(served.cli().args(["token", "rm", &id.to_string()]), "").ok();
    assert_eq!(
        served.http("GET", "/api/v1/list", Some(&secret)).0,
        401,
        "revoked"
    );
    let nameless = run(served.cli().args(["token", "add", "--name", " "]), "");
    assert!(!nameless.status.success());
    assert!(nameless.stderr.contains("name"), "{}", nameless.stderr);
}

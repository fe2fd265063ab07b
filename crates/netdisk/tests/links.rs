//! `netdisk share` and `netdisk token` end to end: a real `netdisk serve`
//! with its HTTP gateway, the real CLI making and revoking links and
//! tokens, and plain HTTP requests using them as a browser or script would.

mod common;

use common::{add_user, json_lines, run, write_file, Served};
use serde_json::Value;

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

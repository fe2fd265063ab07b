//! The litmus WebDAV test suite (Debian's `litmus`) against a real
//! server: suites basic, copymove, props, locks and http, each with its
//! pass count checked. litmus missing is a failure, not a skip.

mod common;

use common::{require_tool, Gateway, PASSWORD};
use netdisk_server::Transport;
use std::time::Duration;

/// What one suite reports: "<- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%".
#[derive(Debug)]
struct Summary {
    suite: String,
    run: u32,
    passed: u32,
}

fn summaries(output: &str) -> Vec<Summary> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("<- summary for `")?;
            let (suite, rest) = rest.split_once('\'')?;
            let rest = rest.split_once("of ")?.1;
            let (run, rest) = rest.split_once(" tests run: ")?;
            let (passed, _) = rest.split_once(" passed")?;
            Some(Summary {
                suite: suite.to_owned(),
                run: run.trim().parse().ok()?,
                passed: passed.trim().parse().ok()?,
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litmus_suites_pass() {
    let litmus = require_tool("litmus");
    let gateway = Gateway::start(Transport::Plaintext, None).await;
    // litmus works in a collection of its own, which it makes.
    let url = gateway.dav("");
    // litmus writes debug.log and child.log where it runs.
    let scratch = tempfile::tempdir().expect("tempdir");
    let run = tokio::process::Command::new(litmus)
        .current_dir(scratch.path())
        .args([url.as_str(), "alice", PASSWORD])
        .env("TESTS", "basic copymove props locks http")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("litmus within 5 minutes")
        .expect("litmus runs");
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}");
    let found = summaries(&text);
    let expected = [
        ("basic", 16),
        ("copymove", 13),
        ("props", 30),
        ("locks", 41),
        ("http", 4),
    ];
    for (suite, passing) in expected {
        let summary = found
            .iter()
            .find(|s| s.suite == suite)
            .unwrap_or_else(|| panic!("no summary for suite {suite} in:\n{text}"));
        assert!(
            summary.passed >= passing,
            "{suite}: {} of {} passed, expected {passing}:\n{text}",
            summary.passed,
            summary.run
        );
    }
    gateway.stop().await;
}

//! `netdisk shell`: batch mode from a pipe, and the interactive prompt,
//! history and completion through a real terminal (tmux).

mod common;

use common::*;
use std::process::Command as Process;
use std::time::{Duration, Instant};

#[test]
fn batch_mode_runs_commands_and_stops_at_the_first_failure() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("batch");
    write_file(&local.join("notes.txt"), b"remember the milk\n");
    let script = "\
# a comment, then a blank line

mkdir docs
cd docs
put notes.txt
pwd
ls -l
lcd out
get notes.txt copy.txt
lpwd
cd ..
rmdir docs
pwd
";
    std::fs::create_dir_all(local.join("out")).expect("out dir");
    let out = run(
        netdisk_as(&server, "alice", "pw")
            .arg("shell")
            .current_dir(&local),
        script,
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("uploaded notes.txt -> ~/docs/notes.txt")),
        "{}",
        out.stdout
    );
    assert!(lines.contains(&"~/docs"), "pwd after cd: {}", out.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(" notes.txt") && l.contains("18")),
        "ls -l: {}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&local.join("out").display().to_string()),
        "lpwd: {}",
        out.stdout
    );
    assert_eq!(
        std::fs::read(local.join("out/copy.txt")).expect("get after lcd"),
        b"remember the milk\n"
    );
    assert!(
        out.stderr.contains("not empty"),
        "rmdir of a non-empty directory fails: {}",
        out.stderr
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the failure ends the batch with status 1"
    );
    // The last line is lpwd's: the `cd ..` ran (nothing to print), the
    // failing rmdir ended the batch, and the final pwd never ran.
    let lpwd = local.join("out").display().to_string();
    assert_eq!(
        lines.last(),
        Some(&lpwd.as_str()),
        "commands after the failure ran: {}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("alice@"),
        "no prompt in batch mode: {}",
        out.stdout
    );

    let ok = run(
        netdisk_as(&server, "alice", "pw").arg("shell"),
        "cd docs\nls\nexit\nrm notes.txt\n",
    );
    ok.ok();
    assert_eq!(
        ok.stdout.trim(),
        "notes.txt",
        "exit stops reading: {}",
        ok.stdout
    );
    assert!(server.home("alice").join("docs/notes.txt").exists());
}

fn tmux(args: &[&str]) -> std::process::Output {
    Process::new("tmux").args(args).output().expect("run tmux")
}

/// Polls the tmux screen until `wanted` shows (bounded).
fn screen_shows(session: &str, wanted: &str) -> String {
    let start = Instant::now();
    loop {
        let screen = String::from_utf8_lossy(&tmux(&["capture-pane", "-t", session, "-p"]).stdout)
            .into_owned();
        if screen.contains(wanted) {
            return screen;
        }
        assert!(
            start.elapsed() < LIMIT,
            "screen never showed {wanted:?}:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn interactive_prompt_history_and_completion() {
    if Process::new("tmux").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide tmux (.ci/run installs it)"
        );
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let server = TestServer::start();
    server.add_user("alice", "pw");
    std::fs::create_dir_all(server.home("alice").join("documents/reports")).expect("dirs");
    std::fs::write(server.home("alice").join("documents/reports/q1.txt"), b"q1").expect("file");
    let home = server.scratch("home");
    let session = format!("netdisk-test-{}", std::process::id());
    let command = format!(
        "env -u XDG_CONFIG_HOME -u XDG_STATE_HOME -u NETDISK_FINGERPRINT HOME={} NETDISK_PASSWORD=pw {} --server {} --user alice shell; echo SHELL-EXIT=$?; sleep 60",
        home.display(),
        netdisk_bin(),
        server.addr
    );
    assert!(tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "150",
        "-y",
        "40",
        &command
    ])
    .status
    .success());
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Process::new("tmux")
                .args(["kill-session", "-t", &self.0])
                .output();
        }
    }
    let _kill = Kill(session.clone());
    // A server never seen before: the terminal asks, an unclear answer
    // is asked again, and "Y" (any case, like ssh) pins it.
    let fingerprint = server.fingerprint.expect("TLS").to_string();
    let question = screen_shows(&session, "(yes/no)");
    assert!(question.contains(&fingerprint), "{question}");
    tmux(&["send-keys", "-t", &session, "maybe", "Enter"]);
    screen_shows(&session, "Please type 'yes' or 'no'");
    tmux(&["send-keys", "-t", &session, "Y", "Enter"]);
    let prompt = format!("alice@{}:~>", server.addr);
    screen_shows(&session, &prompt);
    let known = std::fs::read_to_string(home.join(".config/netdisk/known_hosts"))
        .expect("known_hosts written");
    assert_eq!(known.trim(), format!("{} {fingerprint}", server.addr));

    // Tab completes a remote directory name.
    tmux(&["send-keys", "-t", &session, "cd doc", "Tab"]);
    screen_shows(&session, "cd documents/");
    tmux(&["send-keys", "-t", &session, "Enter"]);
    screen_shows(&session, &format!("alice@{}:~/documents>", server.addr));
    tmux(&["send-keys", "-t", &session, "ls reports/", "Enter"]);
    screen_shows(&session, "q1.txt");
    // An error prints and the shell goes on.
    tmux(&["send-keys", "-t", &session, "rm missing.txt", "Enter"]);
    screen_shows(&session, "no such file or directory");
    // Up twice recalls "ls reports/".
    tmux(&["send-keys", "-t", &session, "Up", "Up"]);
    let screen = screen_shows(&session, "~/documents> ls reports/");
    assert!(screen.matches("q1.txt").count() == 1, "{screen}");
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let start = Instant::now();
    while String::from_utf8_lossy(&tmux(&["capture-pane", "-t", &session, "-p"]).stdout)
        .matches("q1.txt")
        .count()
        < 2
    {
        assert!(start.elapsed() < LIMIT, "the recalled command did not run");
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux(&["send-keys", "-t", &session, "exit", "Enter"]);
    screen_shows(&session, "SHELL-EXIT=0");
    let history =
        std::fs::read_to_string(home.join(".local/state/netdisk/history")).expect("history saved");
    assert!(
        history.contains("ls reports/") && history.contains("cd documents/"),
        "{history}"
    );
}

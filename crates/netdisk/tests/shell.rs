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

#[test]
fn batch_mode_has_local_commands_wildcards_and_lines_that_may_fail() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("batch-local");
    for name in ["a.jpg", "b.jpg", "notes.txt"] {
        write_file(&local.join(name), name.as_bytes());
    }
    let script = "\
help
mkdir pics
cd pics
put *.jpg
ls
cd
pwd
lmkdir -p made/deeper
lls -l
lls *.jpg
!echo bang > bang.txt
-rmdir nonexistent
put *.png
pwd
";
    let out = run(
        netdisk_as(&server, "alice", "pw")
            .arg("shell")
            .current_dir(&local),
        script,
    );
    assert_eq!(out.status.code(), Some(1), "{}\n{}", out.stdout, out.stderr);
    for local_command in ["lcd", "lls", "lpwd", "lmkdir", "!COMMAND"] {
        assert!(
            out.stdout.contains(local_command),
            "help lists {local_command}: {}",
            out.stdout
        );
    }
    for name in ["a.jpg", "b.jpg"] {
        assert_eq!(
            std::fs::read(server.home("alice").join("pics").join(name)).expect("uploaded"),
            name.as_bytes(),
            "put *.jpg into the current directory"
        );
    }
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines.contains(&"~"), "cd alone goes home: {}", out.stdout);
    assert!(local.join("made/deeper").is_dir(), "lmkdir -p");
    // lls -l: kind and mode, size, time, name, as ls -l prints remote entries.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("-rw") && l.ends_with(" notes.txt") && l.contains(" 9 ")),
        "lls -l: {}",
        out.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("drwx") && l.ends_with(" made/")),
        "lls -l: {}",
        out.stdout
    );
    assert!(lines.contains(&"a.jpg") && lines.contains(&"b.jpg"));
    assert_eq!(
        std::fs::read_to_string(local.join("bang.txt")).expect("!cmd ran"),
        "bang\n"
    );
    // The line with "-" failed, said so with its number, and the script went on.
    assert!(
        out.stderr.contains("netdisk: line 12: rmdir: "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("netdisk: line 13: put: no local match for *.png"),
        "{}",
        out.stderr
    );
    assert_eq!(
        lines.last(),
        Some(&"b.jpg"),
        "the failing put ended the script: {}",
        out.stdout
    );
}

/// A `netdisk shell` in a tmux terminal, killed when dropped.
struct Terminal {
    session: String,
}

impl Terminal {
    /// The shell as alice (password "pw") in `dir`, trusting the server.
    fn shell(server: &TestServer, dir: &std::path::Path, name: &str) -> Option<Terminal> {
        if Process::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must provide tmux (.ci/run installs it)"
            );
            eprintln!("skipped: tmux is not installed");
            return None;
        }
        let home = server.scratch(&format!("{name}-home"));
        let session = format!("netdisk-{name}-{}", std::process::id());
        let command = format!(
            "cd '{}' && env -u XDG_CONFIG_HOME -u XDG_STATE_HOME HOME='{}' NETDISK_PASSWORD=pw NETDISK_FINGERPRINT={} {} --server {} --user alice shell; echo SHELL-EXIT=$?; sleep 60",
            dir.display(),
            home.display(),
            server.fingerprint.expect("TLS"),
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
            "50",
            &command
        ])
        .status
        .success());
        let terminal = Terminal { session };
        terminal.shows(&format!("alice@{}:~>", server.addr));
        Some(terminal)
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        assert!(tmux(&args).status.success());
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-t", &self.session, "-p"]).stdout)
            .into_owned()
    }

    fn shows(&self, wanted: &str) -> String {
        screen_shows(&self.session, wanted)
    }

    /// Waits until `wanted` shows at least `count` times.
    fn shows_times(&self, wanted: &str, count: usize) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.matches(wanted).count() >= count {
                return screen;
            }
            assert!(
                start.elapsed() < LIMIT,
                "screen never showed {wanted:?} {count} times:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Pastes `text` as a terminal does (bracketed when asked for).
    fn paste(&self, text: &str, bracketed: bool) {
        let buffer = format!("{}-paste", self.session);
        assert!(tmux(&["set-buffer", "-b", &buffer, text]).status.success());
        let mut args = vec!["paste-buffer", "-d", "-b", &buffer, "-t", &self.session];
        if bracketed {
            args.push("-p");
        }
        assert!(tmux(&args).status.success());
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.session]);
    }
}

#[test]
fn ctrl_c_stops_a_transfer_and_the_prompt_comes_back() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("interrupt");
    // Big enough that the upload is still running when Ctrl-C comes.
    let big = pattern(400 << 20, 7);
    write_file(&local.join("big.bin"), &big);
    let Some(terminal) = Terminal::shell(&server, &local, "interrupt") else {
        return;
    };
    let prompt = format!("alice@{}:~>", server.addr);
    // At the prompt, Ctrl-C abandons the line.
    terminal.keys(&["rm abandoned.txt", "C-c"]);
    terminal.shows_times(&prompt, 2);
    terminal.keys(&["put big.bin", "Enter"]);
    // The progress bar (its rate column) shows the upload under way, and
    // the server already holds some of it (else there is nothing to
    // resume: on a loaded machine the bar can show before a byte is in).
    terminal.shows("B/s");
    partial_grows(&server.root.join("staging/alice"));
    terminal.keys(&["C-c"]);
    terminal.shows("netdisk: interrupted");
    terminal.shows_times(&prompt, 3);
    terminal.keys(&["mkdir after", "Enter"]);
    terminal.shows_times(&prompt, 4);
    terminal.keys(&["ls", "Enter"]);
    terminal.shows("after/");
    // The server kept what arrived: the same put resumes.
    terminal.keys(&["put big.bin", "Enter"]);
    terminal.shows("resuming at");
    let screen = terminal.shows("uploaded big.bin");
    assert!(
        !screen.contains("abandoned.txt:"),
        "the abandoned line did not run:\n{screen}"
    );
    assert_eq!(
        std::fs::read(server.home("alice").join("big.bin")).expect("uploaded"),
        big
    );
    terminal.keys(&["exit", "Enter"]);
    terminal.shows("SHELL-EXIT=0");
}

/// Waits (bounded) until a resumable partial in `staging` holds bytes.
fn partial_grows(staging: &std::path::Path) {
    let start = Instant::now();
    loop {
        let held: u64 = std::fs::read_dir(staging)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        if held > 0 {
            return;
        }
        assert!(
            start.elapsed() < LIMIT,
            "the server received no byte of the upload"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_prompt_keeps_an_idle_session_alive() {
    let server = TestServer::start_with(|c| c.idle_timeout = Duration::from_secs(2));
    server.add_user("alice", "pw");
    write_file(&server.home("alice").join("kept.txt"), b"x");
    let local = server.scratch("idle");
    let Some(terminal) = Terminal::shell(&server, &local, "idle") else {
        return;
    };
    // Time passing is what is tested: well past the idle timeout.
    std::thread::sleep(Duration::from_secs(5));
    terminal.keys(&["ls", "Enter"]);
    let screen = terminal.shows("kept.txt");
    assert!(
        !screen.contains("reconnected") && !screen.contains("netdisk:"),
        "the session was kept, not replaced:\n{screen}"
    );
}

#[test]
fn a_lost_connection_is_reconnected_before_the_next_line() {
    let mut server = TestServer::start();
    server.add_user("alice", "pw");
    std::fs::create_dir_all(server.home("alice").join("docs")).expect("docs");
    write_file(&server.home("alice").join("docs/inside.txt"), b"x");
    let local = server.scratch("reconnect");
    let Some(terminal) = Terminal::shell(&server, &local, "reconnect") else {
        return;
    };
    let in_docs = format!("alice@{}:~/docs>", server.addr);
    terminal.keys(&["cd docs", "Enter"]);
    terminal.shows(&in_docs);

    // No server: the line fails, the shell stays.
    server.stop();
    terminal.keys(&["ls", "Enter"]);
    terminal.shows("cannot reconnect");
    terminal.shows_times(&in_docs, 2);

    // A server again, on the same port: one line says so, then the
    // command runs, in the directory the shell was in.
    server.restart();
    terminal.keys(&["ls", "Enter"]);
    let screen = terminal.shows("inside.txt");
    assert_eq!(
        screen
            .matches(&format!(
                "netdisk: connection lost; reconnected to {}",
                server.addr
            ))
            .count(),
        1,
        "{screen}"
    );
    terminal.keys(&["pwd", "Enter"]);
    terminal.shows_times(&in_docs, 4);
    terminal.keys(&["exit", "Enter"]);
    terminal.shows("SHELL-EXIT=0");
}

#[test]
fn pasted_lines_all_run() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let local = server.scratch("paste");
    let Some(terminal) = Terminal::shell(&server, &local, "paste") else {
        return;
    };
    let home = server.home("alice");
    // Bracketed: the block waits for Enter (as in bash), then each line runs.
    terminal.paste("mkdir a\nmkdir b\nls\n", true);
    terminal.keys(&["Enter"]);
    terminal.shows("b/");
    assert!(home.join("a").is_dir() && home.join("b").is_dir());
    // Plain: the lines come as if typed, one after the other.
    terminal.paste("mkdir c\nmkdir d\nls\n", false);
    terminal.shows("d/");
    assert!(home.join("c").is_dir() && home.join("d").is_dir());
    // A local command, on the terminal.
    terminal.keys(&["!echo from-sh-$((6 * 7))", "Enter"]);
    terminal.shows("from-sh-42");
    terminal.keys(&["exit", "Enter"]);
    terminal.shows("SHELL-EXIT=0");
}

#[test]
fn completion_of_local_and_remote_names_with_spaces() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    std::fs::create_dir_all(server.home("alice").join("my documents")).expect("dir");
    write_file(&server.home("alice").join("alpha.txt"), b"x");
    write_file(&server.home("alice").join("alps.txt"), b"x");
    let local = server.scratch("complete");
    write_file(&local.join("local file.txt"), b"local");
    let Some(terminal) = Terminal::shell(&server, &local, "complete") else {
        return;
    };
    // Remote, escaped as the line is split.
    terminal.keys(&["cd my", "Tab"]);
    terminal.shows("cd my\\ documents/");
    terminal.keys(&["Enter"]);
    terminal.shows(&format!("alice@{}:~/my documents>", server.addr));
    terminal.keys(&["cd", "Enter"]);
    terminal.shows_times(&format!("alice@{}:~>", server.addr), 2);
    // Local: put's source.
    terminal.keys(&["put loc", "Tab"]);
    terminal.shows("put local\\ file.txt");
    terminal.keys(&["Enter"]);
    terminal.shows("uploaded local file.txt");
    assert_eq!(
        std::fs::read(server.home("alice").join("local file.txt")).expect("uploaded"),
        b"local"
    );
    // Several candidates: the common part, then the list (like bash).
    terminal.keys(&["stat al", "Tab"]);
    terminal.shows("stat alp");
    terminal.keys(&["Tab"]);
    let screen = terminal.shows("alps.txt");
    assert!(screen.contains("alpha.txt"), "{screen}");
    terminal.keys(&["C-u", "exit", "Enter"]);
    terminal.shows("SHELL-EXIT=0");
}

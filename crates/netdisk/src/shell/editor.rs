//! The line editor (rustyline) on its own thread: it waits for a prompt,
//! reads a line and sends it to the session's loop, which also answers
//! its requests for remote listings (completion) over the same channel.

use super::complete::{self, Side};
use super::local::expand_tilde_lossy;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, Helper};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the line-editor thread asks of the session.
pub(super) enum Event {
    /// What was entered: one line, or several at once when a block of
    /// lines was pasted; none when the line was abandoned (Ctrl-C).
    Lines(Vec<String>),
    /// End of input (Ctrl-D) or a terminal that cannot be edited.
    End,
    /// List this remote directory for completion.
    Complete(String, std::sync::mpsc::Sender<Vec<(String, bool)>>),
}

/// How long completion waits for a remote listing.
const LISTING_LIMIT: Duration = Duration::from_secs(5);

fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state"))
        })?;
    Some(state.join("netdisk").join("history"))
}

/// The lines of what the editor returned: a pasted block comes as one
/// text with line breaks (bracketed paste), and each of its lines is a
/// command of its own.
fn lines_of(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The blocking line editor: waits for a prompt, reads a line, sends it.
pub(super) fn run(prompts: std::sync::mpsc::Receiver<String>, events: mpsc::Sender<Event>) {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .build();
    let Ok(mut editor) = Editor::<ShellHelper, DefaultHistory>::with_config(config) else {
        let _ = events.blocking_send(Event::End);
        return;
    };
    editor.set_helper(Some(ShellHelper {
        events: events.clone(),
    }));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    while let Ok(prompt) = prompts.recv() {
        let event = match editor.readline(&prompt) {
            Ok(text) => {
                let lines = lines_of(&text);
                for line in &lines {
                    let _ = editor.add_history_entry(line.as_str());
                }
                Event::Lines(lines)
            }
            // Ctrl-C at the prompt abandons the line, like a shell.
            Err(ReadlineError::Interrupted) => Event::Lines(Vec::new()),
            Err(_) => Event::End,
        };
        let end = matches!(event, Event::End);
        if events.blocking_send(event).is_err() || end {
            break;
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(path);
    }
}

/// Tab completion of command names, local and remote paths.
struct ShellHelper {
    events: mpsc::Sender<Event>,
}

impl ShellHelper {
    fn remote_entries(&self, dir: &str) -> Vec<(String, bool)> {
        let (reply_tx, reply) = std::sync::mpsc::channel();
        let listed = if dir.is_empty() { "." } else { dir };
        if self
            .events
            .blocking_send(Event::Complete(listed.to_owned(), reply_tx))
            .is_err()
        {
            return Vec::new();
        }
        reply.recv_timeout(LISTING_LIMIT).unwrap_or_default()
    }
}

fn local_entries(dir: &str) -> Vec<(String, bool)> {
    let listed = if dir.is_empty() {
        PathBuf::from(".")
    } else {
        expand_tilde_lossy(dir)
    };
    let Ok(entries) = std::fs::read_dir(listed) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            // Through symlinks: a link to a directory completes as one.
            let is_dir = e.path().is_dir();
            Some((name, is_dir))
        })
        .collect()
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (before, word) = complete::word_under_cursor(&line[..pos]);
        let after = complete::words(&line[pos..]);
        let candidates = match complete::side_of(&before, &word, &after) {
            Side::Command => super::command_names()
                .into_iter()
                .filter(|name| name.starts_with(&word.text))
                .map(|name| Pair {
                    replacement: format!("{name} "),
                    display: name,
                })
                .collect(),
            Side::Local => {
                // After "!", the word is a local command's argument.
                let typed = word.text.strip_prefix('!').unwrap_or(&word.text);
                let mut found =
                    complete::candidates(typed, local_entries(complete::split_dir(typed).0));
                if typed.len() < word.text.len() {
                    for pair in &mut found {
                        pair.replacement.insert(0, '!');
                    }
                }
                found
            }
            Side::Remote => complete::candidates(
                &word.text,
                self.remote_entries(complete::split_dir(&word.text).0),
            ),
            Side::Nothing => Vec::new(),
        };
        Ok((word.start, candidates))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_block_is_one_command_a_line() {
        assert_eq!(
            lines_of("mkdir a\nmkdir b\r\n\n  ls  \n"),
            ["mkdir a", "mkdir b", "ls"]
        );
        assert_eq!(lines_of("pwd"), ["pwd"]);
        assert!(lines_of("  \n").is_empty());
    }
}

//! Tab completion, the pure part: which word is under the cursor, whether
//! it names a local or a remote path, and the escaped replacements. The
//! line is split later with `shell_words`, so words here are read by the
//! same rules (quotes, backslashes, `#` comments), and names are escaped
//! so that they split back into themselves.

use rustyline::completion::Pair;

/// A word of the line as `shell_words` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    /// Byte offset of its first character (an opening quote included).
    pub start: usize,
    /// Its text with quotes and escapes removed.
    pub text: String,
}

/// The words of `line`. An unclosed quote or a trailing backslash ends
/// the last word (the user is still typing it); a comment ends the line.
pub(super) fn words(line: &str) -> Vec<Word> {
    scan(line).0
}

/// The words of `line`, and whether it ends inside the last one.
fn scan(line: &str) -> (Vec<Word>, bool) {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Between,
        Unquoted,
        Backslash,
        Single,
        Double,
        DoubleBackslash,
    }
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut state = State::Between;
    for (at, c) in line.char_indices() {
        state = match state {
            State::Between | State::Unquoted => {
                if matches!(c, ' ' | '\t' | '\n') {
                    words.extend(current.take());
                    State::Between
                } else if state == State::Between && c == '#' {
                    return (words, false);
                } else {
                    let word = current.get_or_insert_with(|| Word {
                        start: at,
                        text: String::new(),
                    });
                    match c {
                        '\'' => State::Single,
                        '"' => State::Double,
                        '\\' => State::Backslash,
                        c => {
                            word.text.push(c);
                            State::Unquoted
                        }
                    }
                }
            }
            State::Backslash => {
                if c != '\n' {
                    push(&mut current, c);
                }
                State::Unquoted
            }
            State::Single => {
                if c == '\'' {
                    State::Unquoted
                } else {
                    push(&mut current, c);
                    State::Single
                }
            }
            State::Double => match c {
                '"' => State::Unquoted,
                '\\' => State::DoubleBackslash,
                c => {
                    push(&mut current, c);
                    State::Double
                }
            },
            State::DoubleBackslash => {
                if !matches!(c, '$' | '`' | '"' | '\\' | '\n') {
                    push(&mut current, '\\');
                }
                if c != '\n' {
                    push(&mut current, c);
                }
                State::Double
            }
        };
    }
    let inside = current.is_some();
    words.extend(current);
    (words, inside)
}

fn push(word: &mut Option<Word>, c: char) {
    if let Some(word) = word {
        word.text.push(c);
    }
}

/// What the word under the cursor names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// The first word: a command name.
    Command,
    Local,
    Remote,
    /// An option, or nothing worth completing.
    Nothing,
}

/// The words before the cursor, and the word under it: the one the
/// cursor is in, or a new empty word there when it is between words.
pub(super) fn word_under_cursor(before: &str) -> (Vec<Word>, Word) {
    let (mut words, inside) = scan(before);
    let current = if inside { words.pop() } else { None };
    let current = current.unwrap_or(Word {
        start: before.len(),
        text: String::new(),
    });
    (words, current)
}

/// Which side the word after `before` (and before `after`, the words
/// behind the cursor) names. In a transfer the last of two or more paths
/// is the destination: for `put` remote, for `get` local; the others are
/// its sources.
pub(super) fn side_of(before: &[Word], current: &Word, after: &[Word]) -> Side {
    let Some(command) = before.first() else {
        return if current.text.starts_with('!') {
            Side::Local
        } else {
            Side::Command
        };
    };
    if command.text.starts_with('!') {
        return Side::Local;
    }
    if current.text.starts_with('-') {
        return Side::Nothing;
    }
    let is_path = |w: &&Word| !w.text.starts_with('-');
    let paths_before = before[1..].iter().filter(is_path).count();
    let paths_after = after.iter().filter(is_path).count();
    let destination = paths_before > 0 && paths_after == 0;
    match command.text.as_str() {
        "lcd" | "lls" | "lmkdir" => Side::Local,
        "put" if destination => Side::Remote,
        "put" => Side::Local,
        "get" if destination => Side::Local,
        _ => Side::Remote,
    }
}

/// A typed path split into the directory to list (as typed, "" for the
/// current one) and the start of the name.
pub(super) fn split_dir(typed: &str) -> (&str, &str) {
    match typed.rfind('/') {
        Some(i) => typed.split_at(i + 1),
        None => ("", typed),
    }
}

/// Characters that `shell_words` or a reader would take for more than
/// themselves: escaped with a backslash in a completed name.
const SPECIAL: &[char] = &[
    ' ', '\t', '\\', '\'', '"', '#', '$', '`', '!', '&', ';', '|', '<', '>', '(', ')', '*', '?',
    '[', ']', '{', '}',
];

/// `text` written so that `shell_words` reads it back unchanged.
pub(super) fn escape(text: &str) -> String {
    // A backslash before a line break joins lines: quote those instead.
    if text.contains(['\n', '\r']) {
        return shell_words::quote(text).into_owned();
    }
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if SPECIAL.contains(&c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The candidates for `typed` among the entries (name, is a directory)
/// of its directory, as bash shows them: hidden names only when asked
/// for, directories with a slash, a finished file name with a space.
pub(super) fn candidates(typed: &str, entries: Vec<(String, bool)>) -> Vec<Pair> {
    if typed == "~" {
        return vec![Pair {
            display: "~/".into(),
            replacement: "~/".into(),
        }];
    }
    let (dir, prefix) = split_dir(typed);
    let mut found: Vec<Pair> = entries
        .into_iter()
        .filter(|(name, _)| {
            name.starts_with(prefix) && (prefix.starts_with('.') || !name.starts_with('.'))
        })
        .map(|(name, is_dir)| {
            let (display, ending) = if is_dir {
                (format!("{name}/"), "/")
            } else {
                (name.clone(), " ")
            };
            Pair {
                display,
                replacement: format!("{}{ending}", escape_path(&format!("{dir}{name}"))),
            }
        })
        .collect();
    found.sort_by(|a, b| a.display.cmp(&b.display));
    found
}

/// A path escaped for the line, keeping a leading `~` (the home) as is.
fn escape_path(path: &str) -> String {
    match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("~{}", escape(rest)),
        _ => escape(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        words(line).into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn words_split_like_shell_words() {
        for line in [
            "put a.txt b",
            "put my\\ file 'it''s' \"dq \\\" \\$x\" end",
            "ls  docs/  # a comment",
            "a\\#b #c",
        ] {
            assert_eq!(
                texts(line),
                shell_words::split(line).expect("valid line"),
                "{line:?}"
            );
        }
        // Still typing: an open quote ends the word.
        assert_eq!(texts("put \"my fi"), ["put", "my fi"]);
        assert_eq!(words("put \"my fi")[1].start, 4);
    }

    fn current(before: &str) -> (usize, String) {
        let (_, word) = word_under_cursor(before);
        (word.start, word.text)
    }

    #[test]
    fn the_word_under_the_cursor() {
        assert_eq!(current(""), (0, String::new()));
        assert_eq!(current("cd"), (0, "cd".into()));
        assert_eq!(current("cd "), (3, String::new()));
        assert_eq!(current("put my\\ fi"), (4, "my fi".into()));
        assert_eq!(current("put my\\ "), (4, "my ".into()));
        assert_eq!(current("put 'my fi"), (4, "my fi".into()));
        assert_eq!(current("get a b"), (6, "b".into()));
    }

    fn side(line: &str, after: &str) -> Side {
        let (before, word) = word_under_cursor(line);
        side_of(&before, &word, &words(after))
    }

    #[test]
    fn local_arguments_complete_locally_and_the_rest_remotely() {
        assert_eq!(side("l", ""), Side::Command);
        assert_eq!(side("lcd ", ""), Side::Local);
        assert_eq!(side("lls -l x", ""), Side::Local);
        assert_eq!(side("lmkdir -p a/", ""), Side::Local);
        assert_eq!(side("cd d", ""), Side::Remote);
        assert_eq!(side("rm -r x", ""), Side::Remote);
        // put LOCAL... [REMOTE]: the last of two or more is the destination.
        assert_eq!(side("put a", ""), Side::Local);
        assert_eq!(side("put -r a", ""), Side::Local);
        assert_eq!(side("put a.txt d", ""), Side::Remote);
        assert_eq!(side("put a.txt b", " dest/"), Side::Local);
        // get REMOTE... [LOCAL].
        assert_eq!(side("get a", ""), Side::Remote);
        assert_eq!(side("get a.txt ~/Down", ""), Side::Local);
        assert_eq!(side("get a.txt b", " here/"), Side::Remote);
        assert_eq!(side("put --no", ""), Side::Nothing);
        assert_eq!(side("!ls ", ""), Side::Local);
        assert_eq!(side("!l", ""), Side::Local);
    }

    #[test]
    fn names_are_escaped_so_they_split_back() {
        for name in [
            "plain.txt",
            "my file.txt",
            "it's",
            "a\"b",
            "back\\slash",
            "#hash",
            "$HOME and *.jpg",
            "tab\there",
            "line\nbreak",
        ] {
            let line = format!("put {}", escape(name));
            assert_eq!(
                shell_words::split(&line).expect("split"),
                ["put", name],
                "{line:?}"
            );
        }
        assert_eq!(escape("my file"), "my\\ file");
    }

    fn replacements(typed: &str, entries: &[(&str, bool)]) -> Vec<String> {
        candidates(
            typed,
            entries.iter().map(|(n, d)| ((*n).to_owned(), *d)).collect(),
        )
        .into_iter()
        .map(|p| p.replacement)
        .collect()
    }

    #[test]
    fn candidates_keep_the_directory_and_escape_the_name() {
        let entries = [
            ("my docs", true),
            ("my file.txt", false),
            (".hidden", false),
            ("other", false),
        ];
        assert_eq!(
            replacements("my", &entries),
            ["my\\ docs/", "my\\ file.txt "]
        );
        assert_eq!(
            replacements("~/x/my d", &entries),
            ["~/x/my\\ docs/"],
            "the home stays ~"
        );
        assert_eq!(
            replacements("/abs/o", &entries),
            ["/abs/other "],
            "absolute paths"
        );
        assert_eq!(replacements("", &entries).len(), 3, "hidden names hidden");
        assert_eq!(replacements(".h", &entries), [".hidden "]);
        assert_eq!(replacements("~", &entries), ["~/"]);
        assert_eq!(split_dir("a/b/c"), ("a/b/", "c"));
        assert_eq!(split_dir("c"), ("", "c"));
    }
}

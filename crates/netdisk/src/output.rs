//! How the client commands talk to people and to scripts: plain lines,
//! JSON lines (`--json`), progress bars on a terminal (never with
//! `--quiet`, `--json`, or when stderr is not a terminal).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Set when a write to stdout failed (its reader went away, as with
/// `netdisk ls | head -1`): from then on stdout is left alone.
static STDOUT_LOST: AtomicBool = AtomicBool::new(false);

/// Prints a line on stdout. A failed write never stops the command (as
/// `println!` would, with a panic, halfway through a transfer): stdout
/// just goes quiet, and the exit status says so (see `stdout_lost`).
pub fn print_line(text: impl std::fmt::Display) {
    if STDOUT_LOST.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    // Flushed here, so the loss is noticed now and not in a flush at exit.
    if writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        STDOUT_LOST.store(true, Ordering::Relaxed);
    }
}

/// Records that stdout's reader went away, found by a write elsewhere
/// (the raw bytes of `cat`).
pub fn mark_stdout_lost() {
    STDOUT_LOST.store(true, Ordering::Relaxed);
}

/// True when some output could not be written to stdout.
pub fn stdout_lost() -> bool {
    STDOUT_LOST.load(Ordering::Relaxed)
}

/// Prints a line on stderr, ignoring a failure: there is nowhere left to
/// report it, and the work must go on.
pub fn print_error_line(text: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    /// `-v`: hashes in the per-file lines, and a line per skipped file.
    pub verbose: bool,
}

impl Output {
    /// A result line for people (suppressed by --json and --quiet).
    pub fn say(&self, text: impl std::fmt::Display) {
        if !self.json && !self.quiet {
            print_line(text);
        }
    }

    /// Data a command was asked for: printed as text or as one JSON line.
    pub fn data(&self, text: impl std::fmt::Display, json: Value) {
        if self.json {
            print_line(json);
        } else {
            print_line(text);
        }
    }

    /// One JSON line, only with --json.
    pub fn record(&self, json: Value) {
        if self.json {
            print_line(json);
        }
    }

    /// A remark on stderr ("resuming at N bytes"), silenced by --quiet.
    pub fn note(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            print_error_line(text);
        }
    }

    /// Progress bars for a batch of transfers, or none.
    pub fn bars(&self, files: usize, total_bytes: Option<u64>) -> Bars {
        if self.json || self.quiet || !std::io::stderr().is_terminal() {
            return Bars::none();
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = (files > 1).then(|| {
            let bar = match total_bytes {
                Some(total) => ProgressBar::new(total).with_style(byte_style()),
                None => ProgressBar::new(files as u64).with_style(count_style()),
            };
            bar.set_message("total");
            multi.add(bar)
        });
        Bars {
            multi: Some(multi),
            overall,
            counts_bytes: total_bytes.is_some(),
        }
    }
}

/// A byte bar that fits the terminal: the fixed parts take 61 columns,
/// the bar the rest (so at least a short one in 80 columns).
fn byte_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{msg:<20!} [{wide_bar}] {bytes:>9}/{total_bytes:<9} {bytes_per_sec:>11} {eta:>3}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn count_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:<20!} [{wide_bar}] {pos}/{len} files {elapsed:>4}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Per-file bars under an optional overall bar. Shared by transfers
/// running at the same time, so everything takes `&self`.
pub struct Bars {
    multi: Option<MultiProgress>,
    overall: Option<ProgressBar>,
    counts_bytes: bool,
}

impl Bars {
    fn none() -> Bars {
        Bars {
            multi: None,
            overall: None,
            counts_bytes: false,
        }
    }

    /// A bar for one file of `size` bytes; its `update` is what the client
    /// library calls. Sized from the start, so the time a resume is being
    /// checked shows as 0 of the size, never as a full bar of nothing.
    pub fn file(&self, name: &str, size: u64) -> FileBar {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new(size).with_style(byte_style()));
            bar.set_message(name.to_owned());
            bar
        });
        FileBar {
            bar,
            overall: self.overall.clone().filter(|_| self.counts_bytes),
            reported: AtomicU64::new(0),
        }
    }

    /// Bytes of a file sent without a bar of its own (a small file in a batch).
    pub fn add_bytes(&self, bytes: u64) {
        if let Some(overall) = self.overall.as_ref().filter(|_| self.counts_bytes) {
            overall.inc(bytes);
        }
    }

    /// One file finished (or failed).
    pub fn finished(&self) {
        if let Some(overall) = self.overall.as_ref().filter(|_| !self.counts_bytes) {
            overall.inc(1);
        }
    }

    /// Runs `print` with the bars lifted, so lines never tear through them.
    pub fn print(&self, print: impl FnOnce()) {
        match &self.multi {
            Some(multi) => multi.suspend(print),
            None => print(),
        }
    }

    pub fn clear(self) {
        if let Some(overall) = self.overall {
            overall.finish_and_clear();
        }
        if let Some(multi) = self.multi {
            let _ = multi.clear();
        }
    }
}

pub struct FileBar {
    bar: Option<ProgressBar>,
    overall: Option<ProgressBar>,
    /// Bytes of this file already added to the overall bar.
    reported: AtomicU64,
}

impl FileBar {
    pub fn update(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
        }
        if let Some(overall) = &self.overall {
            let before = self.reported.swap(done, Ordering::Relaxed);
            overall.inc(done.saturating_sub(before));
        }
    }

    pub fn done(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

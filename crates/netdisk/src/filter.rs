//! `--exclude` and `--include`: which paths of a copied tree are left out.
//!
//! Patterns are globs (`*`, `?`, `[...]`, matched by the `glob` crate). A
//! pattern without a slash matches a name at any depth; one with a slash
//! matches the path below the copied directory (`raw/*.cr2`); a trailing
//! slash matches directories only. A path is skipped when an exclude
//! matches it and no include does, as in rsync; a skipped directory is
//! not entered. So `--include '*/' --include '*.jpg' --exclude '*'`
//! copies only the JPEGs, keeping the tree.

use anyhow::{anyhow, Context};
use glob::{MatchOptions, Pattern};

#[derive(Debug, Clone, Default)]
pub struct Filter {
    excludes: Vec<Rule>,
    includes: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    pattern: Pattern,
    /// Matched against the whole relative path, not just the name.
    anchored: bool,
    directories_only: bool,
}

impl Rule {
    fn parse(text: &str) -> anyhow::Result<Rule> {
        let directories_only = text.ends_with('/');
        let body = text.trim_end_matches('/').trim_start_matches('/');
        if body.is_empty() {
            return Err(anyhow!("{text:?}: an empty pattern"));
        }
        let pattern = Pattern::new(body).with_context(|| format!("pattern {text:?}"))?;
        Ok(Rule {
            pattern,
            anchored: body.contains('/') || text.starts_with('/'),
            directories_only,
        })
    }

    fn matches(&self, relative: &str, is_dir: bool) -> bool {
        if self.directories_only && !is_dir {
            return false;
        }
        let options = MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        if self.anchored {
            self.pattern.matches_with(relative, options)
        } else {
            let name = relative.rsplit('/').next().unwrap_or(relative);
            self.pattern.matches_with(name, options)
        }
    }
}

impl Filter {
    pub fn new(excludes: &[String], includes: &[String]) -> anyhow::Result<Filter> {
        let parse = |texts: &[String]| {
            texts
                .iter()
                .map(|t| Rule::parse(t))
                .collect::<anyhow::Result<Vec<_>>>()
        };
        Ok(Filter {
            excludes: parse(excludes).context("--exclude")?,
            includes: parse(includes).context("--include")?,
        })
    }

    /// True when `relative` (slash-separated, below the copied directory;
    /// for a named file, its name) is left out.
    pub fn skips(&self, relative: &str, is_dir: bool) -> bool {
        self.excludes.iter().any(|r| r.matches(relative, is_dir))
            && !self.includes.iter().any(|r| r.matches(relative, is_dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(excludes: &[&str], includes: &[&str]) -> Filter {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Filter::new(&owned(excludes), &owned(includes)).expect("patterns")
    }

    #[test]
    fn names_match_at_any_depth_and_paths_from_the_root() {
        let f = filter(&["*.tmp", "cache/", "raw/*.cr2"], &[]);
        assert!(f.skips("a.tmp", false));
        assert!(f.skips("deep/er/b.tmp", false));
        assert!(!f.skips("a.tmp.txt", false));
        assert!(f.skips("cache", true) && f.skips("x/cache", true));
        assert!(
            !f.skips("cache", false),
            "a trailing slash: directories only"
        );
        assert!(f.skips("raw/img.cr2", false));
        assert!(!f.skips("other/raw/img.cr2", false), "anchored at the root");
        assert!(!f.skips("raw/sub/img.cr2", false), "* stops at a slash");
        assert!(
            !filter(&[], &["*.jpg"]).skips("a.png", false),
            "include alone excludes nothing"
        );
    }

    #[test]
    fn an_include_rescues_what_an_exclude_matches() {
        let only_jpegs = filter(&["*"], &["*/", "*.jpg"]);
        assert!(!only_jpegs.skips("trip", true));
        assert!(!only_jpegs.skips("trip/a.jpg", false));
        assert!(only_jpegs.skips("trip/a.png", false));
        assert!(
            Filter::new(&["[".into()], &[]).is_err(),
            "a broken pattern is an error"
        );
        assert!(Filter::new(&["/".into()], &[]).is_err());
    }
}

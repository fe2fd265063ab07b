//! `Range: bytes=...` (RFC 9110, 14.1.2), for one range. Several ranges
//! in one request get the whole file (the RFC lets a server ignore Range;
//! multipart answers are rarely used by clients that resume).

/// What a Range header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeAsk {
    /// No usable single range: send everything (200).
    Whole,
    /// `len` bytes from `start` (206).
    Part { start: u64, len: u64 },
    /// No byte of it is in the file (416).
    Unsatisfiable,
}

pub(crate) fn parse(header: Option<&str>, size: u64) -> RangeAsk {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAsk::Whole;
    };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAsk::Whole;
    };
    let (first, last_text) = (first.trim(), last.trim());
    let number = |text: &str| {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u64>().ok())
            .flatten()
    };
    match (first.is_empty(), number(first), number(last_text)) {
        // "-N": the last N bytes.
        (true, _, Some(suffix)) => {
            if suffix == 0 || size == 0 {
                return RangeAsk::Unsatisfiable;
            }
            let len = suffix.min(size);
            RangeAsk::Part {
                start: size - len,
                len,
            }
        }
        (false, Some(start), last) => {
            if last.is_none() && !last_text.is_empty() {
                return RangeAsk::Whole;
            }
            if start >= size {
                return RangeAsk::Unsatisfiable;
            }
            let end = last.map_or(size - 1, |last| last.min(size - 1));
            if end < start {
                return RangeAsk::Whole;
            }
            RangeAsk::Part {
                start,
                len: end - start + 1,
            }
        }
        _ => RangeAsk::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges() {
        let part = |start, len| RangeAsk::Part { start, len };
        assert_eq!(parse(Some("bytes=0-9"), 100), part(0, 10));
        assert_eq!(parse(Some("bytes=90-"), 100), part(90, 10));
        assert_eq!(parse(Some("bytes=90-1000"), 100), part(90, 10));
        assert_eq!(parse(Some("bytes=-10"), 100), part(90, 10));
        assert_eq!(parse(Some("bytes=-1000"), 100), part(0, 100));
        assert_eq!(parse(Some("bytes=99-99"), 100), part(99, 1));
    }

    #[test]
    fn what_is_not_one_satisfiable_range() {
        assert_eq!(parse(None, 100), RangeAsk::Whole);
        assert_eq!(parse(Some("bytes=0-1,5-6"), 100), RangeAsk::Whole);
        assert_eq!(parse(Some("items=0-1"), 100), RangeAsk::Whole);
        assert_eq!(parse(Some("bytes=5-2"), 100), RangeAsk::Whole);
        assert_eq!(parse(Some("bytes=a-b"), 100), RangeAsk::Whole);
        assert_eq!(parse(Some("bytes=+1-2"), 100), RangeAsk::Whole);
        assert_eq!(parse(Some("bytes=100-"), 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-"), 0), RangeAsk::Unsatisfiable);
        assert_eq!(
            parse(Some("bytes=99999999999999999999-"), 100),
            RangeAsk::Whole
        );
    }
}

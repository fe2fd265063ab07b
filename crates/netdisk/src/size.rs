//! Byte sizes as people write and read them.

/// Parses "1048576", "500M", "2G", "1GiB", "10k". Decimal units (K, M, G,
/// T) are powers of 1000 and binary units (KiB, MiB, GiB, TiB) powers of
/// 1024, as the units say.
pub fn parse_size_arg(text: &str) -> Result<u64, String> {
    parse_size::Config::new()
        .with_decimal()
        .parse_size(text.trim())
        .map_err(|e| format!("{e} (examples: 1048576, 500M, 2G, 1GiB)"))
}

/// A quota on the command line: a size, or "unlimited".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    Limit(u64),
    Unlimited,
}

pub fn parse_quota_arg(text: &str) -> Result<Quota, String> {
    if text.trim().eq_ignore_ascii_case("unlimited") {
        Ok(Quota::Unlimited)
    } else {
        parse_size_arg(text).map(Quota::Limit)
    }
}

/// "1.5 MiB" style, for `df` and progress output.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_decimal_and_binary_units() {
        assert_eq!(parse_size_arg("0"), Ok(0));
        assert_eq!(parse_size_arg("1048576"), Ok(1_048_576));
        assert_eq!(parse_size_arg("500M"), Ok(500_000_000));
        assert_eq!(parse_size_arg("2G"), Ok(2_000_000_000));
        assert_eq!(parse_size_arg("10k"), Ok(10_000));
        assert_eq!(parse_size_arg("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size_arg("3 MiB"), Ok(3 << 20));
        assert_eq!(parse_size_arg("1.5G"), Ok(1_500_000_000));
        assert!(parse_size_arg("lots").is_err());
        assert!(parse_size_arg("").is_err());
        assert!(parse_size_arg("-5M").is_err());
        assert_eq!(parse_quota_arg("unlimited"), Ok(Quota::Unlimited));
        assert_eq!(parse_quota_arg("2G"), Ok(Quota::Limit(2_000_000_000)));
        assert!(parse_quota_arg("lots").is_err());
    }

    #[test]
    fn formats_human_sizes() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(5 << 30), "5.0 GiB");
    }
}

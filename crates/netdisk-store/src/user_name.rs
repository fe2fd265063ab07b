//! Which user names are allowed. A name becomes a directory under `homes/`
//! and appears in logs and prompts, so it must be a plain, printable name.

/// Longest user name, in bytes.
pub const MAX_USER_NAME_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserNameError {
    #[error("user name is empty")]
    Empty,
    #[error("user name is longer than {MAX_USER_NAME_LEN} bytes")]
    TooLong,
    #[error("user name cannot be '.' or '..'")]
    Dots,
    #[error("user name cannot contain '/' or '\\'")]
    Separator,
    #[error("user name cannot contain control characters or spaces")]
    Unprintable,
    #[error("user name cannot start with '-' or '.'")]
    LeadingChar,
}

pub fn validate_user_name(name: &str) -> Result<(), UserNameError> {
    if name.is_empty() {
        return Err(UserNameError::Empty);
    }
    if name.len() > MAX_USER_NAME_LEN {
        return Err(UserNameError::TooLong);
    }
    if name == "." || name == ".." {
        return Err(UserNameError::Dots);
    }
    if name.contains('/') || name.contains('\\') {
        return Err(UserNameError::Separator);
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(UserNameError::Unprintable);
    }
    if name.starts_with('-') || name.starts_with('.') {
        return Err(UserNameError::LeadingChar);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in [
            "alice",
            "bob.smith",
            "user_1",
            "Zoë",
            "a-b",
            &"x".repeat(64),
        ] {
            assert_eq!(validate_user_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn refuses_bad_names() {
        let long = "x".repeat(65);
        let cases = [
            ("", UserNameError::Empty),
            (long.as_str(), UserNameError::TooLong),
            (".", UserNameError::Dots),
            ("..", UserNameError::Dots),
            ("a/b", UserNameError::Separator),
            ("a\\b", UserNameError::Separator),
            ("a\nb", UserNameError::Unprintable),
            ("a\0b", UserNameError::Unprintable),
            ("a b", UserNameError::Unprintable),
            ("-rf", UserNameError::LeadingChar),
            (".hidden", UserNameError::LeadingChar),
        ];
        for (name, want) in cases {
            assert_eq!(validate_user_name(name), Err(want), "{name:?}");
        }
    }
}

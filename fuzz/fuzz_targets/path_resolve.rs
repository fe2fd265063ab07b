//! Resolves arbitrary client paths from arbitrary current directories: the
//! result must never contain an empty, ".", "..", or slash-bearing name, and
//! must respect the length limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netdisk_proto::path::{HomePath, MAX_NAME_LEN, MAX_PATH_LEN};

fuzz_target!(|data: (&str, &str)| {
    let (cwd, input) = data;
    let Ok(cwd) = HomePath::home().resolve(cwd) else { return };
    if let Ok(resolved) = cwd.resolve(input) {
        for name in resolved.names() {
            assert!(!name.is_empty() && name != "." && name != "..");
            assert!(!name.contains('/') && !name.contains('\0') && !name.contains('\\'));
            assert!(name.len() <= MAX_NAME_LEN);
        }
        assert!(resolved.relative().len() <= MAX_PATH_LEN);
        // Resolving the printed form from anywhere gives the same place.
        assert_eq!(HomePath::home().resolve(&resolved.to_string()).ok(), Some(resolved));
    }
});

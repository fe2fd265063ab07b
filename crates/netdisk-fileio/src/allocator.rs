//! glibc's allocator, set for a data path that allocates and frees blocks
//! of 256 KiB to a few MiB many times a second (chunks, small-file bodies,
//! TLS buffers).
//!
//! By default glibc hands such a block out as a fresh `mmap` until one is
//! freed, and gives the top of its heap back to the kernel past twice the
//! largest block seen, so a busy connection keeps paying page faults for
//! memory it had a moment ago. Serving blocks up to 4 MiB from the heap
//! and keeping up to 16 MiB of freed heap took the TLS upload of a folder
//! of 1 MiB photos from 431 to 329 ms (median of 8, docs/PERFORMANCE.md);
//! mimalloc gained as much there but lost 16-26% on the mixed tree.

/// Blocks up to this size come from the heap, not from their own `mmap`.
const MMAP_THRESHOLD: i32 = 4 << 20;

/// Freed memory at the top of a heap kept for the next blocks.
const TRIM_THRESHOLD: i32 = 16 << 20;

/// Applies the settings above, unless the operator set glibc's malloc
/// tunables (`GLIBC_TUNABLES=glibc.malloc...`), which then stand. Call it
/// at the start of `main`.
pub fn keep_chunk_memory() {
    let tunables = std::env::var("GLIBC_TUNABLES").ok();
    if !operator_tuned_malloc(tunables.as_deref()) {
        // Refused, glibc keeps its defaults: slower, never wrong.
        let _ = apply();
    }
}

fn operator_tuned_malloc(tunables: Option<&str>) -> bool {
    tunables.is_some_and(|value| value.contains("glibc.malloc."))
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    // SAFETY: mallopt only sets allocator parameters, under glibc's own
    // locks; it answers 1 when it took the value.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operators_malloc_tunables_stand() {
        assert!(!operator_tuned_malloc(None));
        assert!(!operator_tuned_malloc(Some("glibc.rtld.nns=2")));
        assert!(operator_tuned_malloc(Some(
            "glibc.rtld.nns=2:glibc.malloc.trim_threshold=0"
        )));
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_takes_the_settings() {
        assert!(apply());
    }
}

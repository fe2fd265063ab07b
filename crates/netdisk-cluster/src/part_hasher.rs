//! BLAKE3 of an object written in parts, kept so another server can go on
//! with it. Incomplete multipart uploads cannot be read back, so a server
//! resuming one cannot re-hash the bytes already sent. BLAKE3 is a tree,
//! though: with parts of a power-of-two size, each part is a whole subtree,
//! and its chaining value (32 bytes, recorded in the catalog with the part)
//! stands for its bytes. The file's hash is then the tree merged from the
//! parts' values, which `blake3::hazmat` exists for. Written by hand only
//! because no crate keeps a hash resumable this way; tested against
//! `blake3::hash` below.

use blake3::hazmat::{
    left_subtree_len, merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};
use blake3::CHUNK_LEN;

/// What a confirmed part's record keeps of the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartHash {
    /// The part's subtree chaining value.
    pub chaining: ChainingValue,
    /// The BLAKE3 of the whole file up to the end of this part (what a
    /// client resuming there checks its own bytes against).
    pub prefix: [u8; 32],
}

/// Hashes a file part by part; see the module's documentation.
pub struct PartHasher {
    part_size: u64,
    /// Every whole part, recorded the moment its last byte is hashed.
    done: Vec<PartHash>,
    /// The part being hashed (at offset `done.len() * part_size`), with
    /// its bytes so far; `None` before its first byte.
    current: Option<(blake3::Hasher, u64)>,
}

impl PartHasher {
    /// A hasher for parts of `part_size` bytes: a power of two, and at
    /// least one BLAKE3 chunk (so each part is a whole subtree).
    pub fn new(part_size: usize) -> PartHasher {
        PartHasher::resumed(part_size, Vec::new())
    }

    /// Goes on after `parts` (the records of the file's first whole parts).
    pub fn resumed(part_size: usize, parts: Vec<PartHash>) -> PartHasher {
        assert!(
            part_size.is_power_of_two() && part_size >= CHUNK_LEN,
            "a part of {part_size} bytes is not a BLAKE3 subtree"
        );
        PartHasher {
            part_size: part_size as u64,
            done: parts,
            current: None,
        }
    }

    /// Bytes hashed, with those of the parts resumed after.
    pub fn count(&self) -> u64 {
        let current = self.current.as_ref().map_or(0, |(_, len)| *len);
        self.done.len() as u64 * self.part_size + current
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let part_size = self.part_size;
            let offset = self.done.len() as u64 * part_size;
            let (hasher, len) = self.current.get_or_insert_with(|| {
                let mut hasher = blake3::Hasher::new();
                hasher.set_input_offset(offset);
                (hasher, 0)
            });
            let room = usize::try_from(part_size - *len).unwrap_or(usize::MAX);
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            hasher.update(now);
            *len += now.len() as u64;
            bytes = later;
            if *len == part_size {
                self.close_current();
            }
        }
    }

    /// Records the current part, which is whole, and starts the next.
    fn close_current(&mut self) {
        let Some((hasher, _)) = self.current.take() else {
            return;
        };
        let chaining = hasher.finalize_non_root();
        let prefix = if self.done.is_empty() {
            // The file's first part alone is hashed as a root.
            *hasher.finalize().as_bytes()
        } else {
            let mut values: Vec<ChainingValue> =
                self.done.iter().map(|part| part.chaining).collect();
            values.push(chaining);
            self.merged_root(&values, (self.done.len() as u64 + 1) * self.part_size)
        };
        self.done.push(PartHash { chaining, prefix });
    }

    /// The record of whole part `index`, once all its bytes are hashed.
    pub fn part(&self, index: usize) -> Option<PartHash> {
        self.done.get(index).copied()
    }

    /// The BLAKE3 of everything hashed, as hex.
    pub fn finalize_hex(&self) -> String {
        let root = match (&self.current, self.done.last()) {
            (None, None) => *blake3::hash(b"").as_bytes(),
            // The file ends with a whole part: its prefix is the file.
            (None, Some(last)) => last.prefix,
            (Some((hasher, _)), None) => *hasher.finalize().as_bytes(),
            (Some((hasher, _)), Some(_)) => {
                let mut values: Vec<ChainingValue> =
                    self.done.iter().map(|part| part.chaining).collect();
                values.push(hasher.finalize_non_root());
                self.merged_root(&values, self.count())
            }
        };
        blake3::Hash::from_bytes(root).to_hex().to_string()
    }

    /// The root over `values` (two or more parts' chaining values, the
    /// last part possibly short) of a file of `len` bytes.
    fn merged_root(&self, values: &[ChainingValue], len: u64) -> [u8; 32] {
        let left = left_subtree_len(len);
        let split = (left / self.part_size) as usize;
        let left_value = self.subtree(&values[..split], left);
        let right_value = self.subtree(&values[split..], len - left);
        *merge_subtrees_root(&left_value, &right_value, Mode::Hash).as_bytes()
    }

    /// The chaining value of the subtree of `len` bytes made of the parts
    /// whose values are `values`. Every split falls on a part boundary:
    /// a left subtree is a power of two of chunks, at least one part.
    fn subtree(&self, values: &[ChainingValue], len: u64) -> ChainingValue {
        if len <= self.part_size {
            return values[0];
        }
        let left = left_subtree_len(len);
        let split = (left / self.part_size) as usize;
        merge_subtrees_non_root(
            &self.subtree(&values[..split], left),
            &self.subtree(&values[split..], len - left),
            Mode::Hash,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn hex(data: &[u8]) -> String {
        blake3::hash(data).to_hex().to_string()
    }

    #[test]
    fn edges() {
        for part_size in [1024, 4096] {
            for len in [0, 1, 1023, 1024, 1025, 4095, 4096, 4097, 8192, 12288, 12289] {
                let data = bytes(len, 7);
                let mut hasher = PartHasher::new(part_size);
                hasher.update(&data);
                assert_eq!(hasher.finalize_hex(), hex(&data), "{len} in {part_size}");
                assert_eq!(hasher.count(), len as u64);
            }
        }
    }

    #[test]
    fn a_file_of_exactly_its_resumed_parts() {
        let data = bytes(2048, 3);
        let mut first = PartHasher::new(1024);
        first.update(&data);
        let parts = vec![
            first.part(0).expect("part 0"),
            first.part(1).expect("part 1"),
        ];
        assert_eq!(parts[1].prefix, *blake3::hash(&data).as_bytes());
        let resumed = PartHasher::resumed(1024, parts.clone());
        assert_eq!(resumed.finalize_hex(), hex(&data));
        let one = PartHasher::resumed(1024, parts[..1].to_vec());
        assert_eq!(one.finalize_hex(), hex(&data[..1024]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Hashed in any pieces, resumed after any whole parts, the hash
        /// is BLAKE3's of the whole, and each part's prefix is BLAKE3's
        /// of the bytes up to it.
        #[test]
        fn matches_blake3(
            len in 0usize..40_000,
            part_shift in 10u32..14,
            pieces in proptest::collection::vec(1usize..9_000, 1..12),
            resume_after in 0usize..12,
        ) {
            let part_size = 1usize << part_shift;
            let data = bytes(len, len as u8);
            let mut first = PartHasher::new(part_size);
            let mut at = 0;
            for piece in pieces.iter().cycle().take(64) {
                let end = (at + piece).min(len);
                first.update(&data[at..end]);
                at = end;
            }
            first.update(&data[at..]);
            prop_assert_eq!(first.finalize_hex(), hex(&data));

            let whole_parts = len / part_size;
            for index in 0..whole_parts {
                let part = first.part(index).expect("a whole part");
                let end = (index + 1) * part_size;
                prop_assert_eq!(part.prefix, *blake3::hash(&data[..end]).as_bytes());
            }
            prop_assert!(first.part(whole_parts + 1).is_none());

            let kept = resume_after.min(whole_parts);
            let parts = (0..kept).map(|index| first.part(index).expect("part")).collect();
            let mut second = PartHasher::resumed(part_size, parts);
            prop_assert_eq!(second.count(), (kept * part_size) as u64);
            second.update(&data[kept * part_size..]);
            prop_assert_eq!(second.finalize_hex(), hex(&data));
        }
    }
}

//! Stable hashes: the same bytes give the same value on every machine and in every version, because they are
//! stored in checkpoints and compared later (the standard library's hasher is unspecified).

/// A fingerprint of a config's text as written (FNV-1a, 64 bits, hex): it changes whenever the config does.
/// Also the hash of incremental deduplication keys.
pub fn fingerprint(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// A stable 64-bit hash of `bytes`, eight at a time (a page's records are hashed whole, so it must be fast).
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(<[u8; 8]>::try_from(word).unwrap_or_default());
        h = (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
    for b in words.remainder() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_differ_with_text() {
        assert_ne!(fingerprint("{\"a\":1}"), fingerprint("{\"a\":2}"));
        assert_eq!(fingerprint("x").len(), 16);
    }

    #[test]
    fn stable_hashes_are_stable_and_see_every_byte() {
        assert_eq!(stable_hash(b""), stable_hash(b""));
        assert_ne!(stable_hash(b"abcdefgh1"), stable_hash(b"abcdefgh2"));
        assert_ne!(stable_hash(b"abcdefgh"), stable_hash(b"abcdefgi"));
        assert_ne!(stable_hash(b"a"), stable_hash(b"a\0"));
        // The value itself is part of the checkpoint format: it must not change between versions.
        assert_eq!(stable_hash(b"{\"id\":1}\n"), stable_hash(b"{\"id\":1}\n"));
    }
}

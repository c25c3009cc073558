//! The bytes a bulk transfer moves: byte `i` of the stream is `i mod 251`, as netstack's
//! HTTP `/bytes/N`. The sender takes slices of a precomputed table and the receiver
//! compares what arrives against the same table, so checking every byte costs a `memcmp`.

use std::sync::OnceLock;

/// The pattern's period: a prime, so it never lines up with segment or buffer sizes.
const PERIOD: usize = 251;
/// The table holds this many whole periods (about 1 MiB), so any slice of up to
/// `TABLE_LEN - PERIOD` bytes can start at any offset.
const PERIODS: usize = 4096;
const TABLE_LEN: usize = PERIOD * PERIODS;

/// The most [`slice()`] hands out at once.
pub const MAX_SLICE: usize = TABLE_LEN - PERIOD;

fn table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // One period, copied: a few hundred thousand instructions rather than the 16
        // million of a `%` per byte, which would show in callgrind's count of a short run.
        let period: Vec<u8> = (0..PERIOD as u8).collect();
        let mut table = Vec::with_capacity(TABLE_LEN);
        (0..PERIODS).for_each(|_| table.extend_from_slice(&period));
        table
    })
}

/// The stream's bytes from `offset`, `len` of them (at most [`MAX_SLICE`]).
pub fn slice(offset: u64, len: usize) -> &'static [u8] {
    let start = (offset % PERIOD as u64) as usize;
    &table()[start..start + len.min(MAX_SLICE)]
}

/// Whether `data` is the stream's bytes from `offset`.
pub fn matches(offset: u64, data: &[u8]) -> bool {
    data.chunks(MAX_SLICE)
        .enumerate()
        .all(|(i, chunk)| chunk == slice(offset + (i * MAX_SLICE) as u64, chunk.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_the_formula_at_any_offset() {
        for offset in [0u64, 1, 250, 251, 1_000_003, (1 << 32) + 7] {
            let s = slice(offset, 600);
            for (i, &b) in s.iter().enumerate() {
                assert_eq!(u64::from(b), (offset + i as u64) % 251);
            }
            assert!(matches(offset, s));
            assert!(!matches(offset + 1, s));
        }
    }
}

//! The byte ring under both TCP buffers. Its storage grows with use, in powers of two up
//! to the buffer's capacity, and is given back when the buffer empties, so an idle
//! connection holds no buffer memory however large its window (RFC 9293 leaves buffer
//! sizes to the implementation; RFC 7323 windows make them large).
//!
//! Positions are indexes into the storage; a buffer keeps the index of its first byte
//! (`head`) and reduces sums with [`wrap`]. No call panics for a caller that keeps the
//! invariants stated on each function.

/// The smallest storage allocated: one page. A 100-byte request costs no more.
const MIN_STORAGE: usize = 4096;

/// `index` reduced into a ring of `len` bytes, for any `index < 2 * len`.
pub(super) fn wrap(index: usize, len: usize) -> usize {
    if index >= len {
        index - len
    } else {
        index
    }
}

/// Makes `storage` hold at least `needed` bytes (at most `capacity`), keeping the `used`
/// bytes that start at `*head`: when it grows, they move to the front of the new storage
/// and `*head` becomes 0, so every offset from the head stays valid. Callers ensure
/// `used <= needed <= capacity`.
pub(super) fn reserve(
    storage: &mut Box<[u8]>,
    head: &mut usize,
    used: usize,
    needed: usize,
    capacity: usize,
) {
    if storage.len() >= needed {
        return;
    }
    let len = needed
        .next_power_of_two()
        .max(MIN_STORAGE)
        .min(capacity)
        .max(needed);
    let mut grown = vec![0; len].into_boxed_slice();
    if used > 0 {
        read(storage, *head, &mut grown[..used]);
    }
    *storage = grown;
    *head = 0;
}

/// Takes the storage of a buffer that holds nothing (for a pool), leaving it none.
/// `None` if there was none.
pub(super) fn take(storage: &mut Box<[u8]>, head: &mut usize) -> Option<Box<[u8]>> {
    *head = 0;
    (!storage.is_empty()).then(|| core::mem::take(storage))
}

/// Makes `ring` (another buffer's old storage, whatever bytes it holds) the storage of a
/// buffer that has none, if it is no larger than `capacity`; otherwise hands it back.
/// Bytes left in it are never read: a buffer reads only what it stored since.
pub(super) fn adopt(
    storage: &mut Box<[u8]>,
    head: &mut usize,
    ring: Box<[u8]>,
    capacity: usize,
) -> Option<Box<[u8]>> {
    if !storage.is_empty() || ring.is_empty() || ring.len() > capacity {
        return Some(ring);
    }
    *head = 0;
    *storage = ring;
    None
}

/// Copies `data` into the ring `ring` from index `at` on, continuing at index 0 past the
/// end: one or two `copy_from_slice`. Callers ensure `at < ring.len()` and
/// `data.len() <= ring.len()`.
pub(super) fn write(ring: &mut [u8], at: usize, data: &[u8]) {
    debug_assert!(at < ring.len() && data.len() <= ring.len());
    let first = data.len().min(ring.len() - at);
    let (before, after) = data.split_at(first);
    ring[at..at + first].copy_from_slice(before);
    ring[..after.len()].copy_from_slice(after);
}

/// Fills `out` from the ring `ring` starting at index `at`, continuing at index 0 past the
/// end: one or two `copy_from_slice`. Callers ensure `at < ring.len()` and
/// `out.len() <= ring.len()`.
pub(super) fn read(ring: &[u8], at: usize, out: &mut [u8]) {
    debug_assert!(at < ring.len() && out.len() <= ring.len());
    let first = out.len().min(ring.len() - at);
    let (before, after) = out.split_at_mut(first);
    before.copy_from_slice(&ring[at..at + first]);
    let rest = after.len();
    after.copy_from_slice(&ring[..rest]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_keeps_wrapped_bytes_in_order_from_the_head() {
        let mut storage: Box<[u8]> = vec![0; 8].into_boxed_slice();
        let mut head = 6;
        write(&mut storage, head, b"abcde"); // wraps: "cde" at 0..3, "ab" at 6..8
        reserve(&mut storage, &mut head, 5, 9, 10_000);
        assert_eq!(head, 0);
        assert_eq!(storage.len(), MIN_STORAGE, "at least a page");
        assert_eq!(&storage[..5], b"abcde");
    }

    #[test]
    fn storage_never_exceeds_the_capacity() {
        let mut storage: Box<[u8]> = Box::default();
        let mut head = 0;
        reserve(&mut storage, &mut head, 0, 5000, 6000);
        assert_eq!(storage.len(), 6000, "8192 capped at the capacity");
        reserve(&mut storage, &mut head, 0, 100, 6000);
        assert_eq!(storage.len(), 6000, "never shrinks here");
    }
}

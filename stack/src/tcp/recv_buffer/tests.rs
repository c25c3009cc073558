//! Receive buffer scenarios: in order, holes filled in every order, duplicates and overlaps,
//! the window's edges, ring wrap-around, hostile offsets, the range bound, and a randomized
//! comparison against a plain model.

use super::*;
use crate::rng::Rng;

/// Bytes `from..from + len` of the peer's stream (relative to the first RCV.NXT), so any
/// misplaced byte shows.
fn stream(from: usize, len: usize) -> Vec<u8> {
    (from..from + len).map(|i| (i % 251) as u8).collect()
}

/// A segment carrying stream bytes `from..from + len`, inserted while RCV.NXT is `nxt`.
#[track_caller]
fn seg(b: &mut RecvBuffer, nxt: usize, from: usize, len: usize) -> usize {
    b.insert(from - nxt, &stream(from, len))
}

fn read_all(b: &mut RecvBuffer) -> Vec<u8> {
    let mut out = vec![0; b.capacity() + 1];
    let n = b.read(&mut out);
    out.truncate(n);
    out
}

fn holes(b: &RecvBuffer) -> Vec<(usize, usize)> {
    b.out_of_order().collect()
}

#[test]
fn in_order_segments_become_readable_at_once() {
    let mut b = RecvBuffer::new(100);
    assert_eq!((b.capacity(), b.readable(), b.window()), (100, 0, 100));
    assert_eq!(seg(&mut b, 0, 0, 10), 10);
    assert_eq!(seg(&mut b, 10, 10, 20), 20);
    assert_eq!((b.readable(), b.window()), (30, 70));
    assert!(!b.has_out_of_order());
    assert_eq!(read_all(&mut b), stream(0, 30));
    assert_eq!((b.readable(), b.window()), (0, 100));
}

#[test]
fn one_hole_filled_makes_the_held_data_readable() {
    let mut b = RecvBuffer::new(100);
    // Segment 10..20 is lost; 20..30 arrives first and is held.
    assert_eq!(seg(&mut b, 0, 0, 10), 10);
    assert_eq!(seg(&mut b, 10, 20, 10), 0);
    assert!(b.has_out_of_order());
    assert_eq!(holes(&b), [(10, 10)]);
    assert_eq!(b.readable(), 10);
    // Held data sits inside the window: it does not shrink it.
    assert_eq!(b.window(), 90);
    // The retransmission fills the hole: RCV.NXT advances over both.
    assert_eq!(seg(&mut b, 10, 10, 10), 20);
    assert!(!b.has_out_of_order());
    assert_eq!(read_all(&mut b), stream(0, 30));
}

#[test]
fn many_holes_filled_front_to_back() {
    let mut b = RecvBuffer::new(100);
    // Every other 5-byte segment arrives: holes at 0, 10, 20, 30.
    for from in [5, 15, 25, 35] {
        assert_eq!(seg(&mut b, 0, from, 5), 0);
    }
    assert_eq!(holes(&b), [(5, 5), (15, 5), (25, 5), (35, 5)]);
    assert_eq!(seg(&mut b, 0, 0, 5), 10);
    assert_eq!(holes(&b), [(5, 5), (15, 5), (25, 5)]);
    assert_eq!(seg(&mut b, 10, 10, 5), 10);
    assert_eq!(seg(&mut b, 20, 20, 5), 10);
    assert_eq!(seg(&mut b, 30, 30, 5), 10);
    assert!(!b.has_out_of_order());
    assert_eq!(read_all(&mut b), stream(0, 40));
}

#[test]
fn many_holes_filled_back_to_front() {
    let mut b = RecvBuffer::new(100);
    for from in [35, 25, 15, 5] {
        assert_eq!(seg(&mut b, 0, from, 5), 0);
    }
    // Later holes first: nothing is in order until the first one fills, and each fill
    // merges two ranges into one.
    assert_eq!(seg(&mut b, 0, 30, 5), 0);
    assert_eq!(holes(&b), [(5, 5), (15, 5), (25, 15)]);
    assert_eq!(seg(&mut b, 0, 20, 5), 0);
    assert_eq!(seg(&mut b, 0, 10, 5), 0);
    assert_eq!(holes(&b), [(5, 35)]);
    assert_eq!(b.readable(), 0);
    assert_eq!(seg(&mut b, 0, 0, 5), 40);
    assert_eq!(read_all(&mut b), stream(0, 40));
}

#[test]
fn many_holes_filled_middle_first() {
    let mut b = RecvBuffer::new(100);
    for from in [5, 15, 25, 35] {
        seg(&mut b, 0, from, 5);
    }
    assert_eq!(seg(&mut b, 0, 20, 5), 0);
    assert_eq!(holes(&b), [(5, 5), (15, 15), (35, 5)]);
    assert_eq!(seg(&mut b, 0, 0, 5), 10);
    // Offsets are now from the new RCV.NXT, 10.
    assert_eq!(holes(&b), [(5, 15), (25, 5)]);
    assert_eq!(seg(&mut b, 10, 30, 5), 0);
    assert_eq!(holes(&b), [(5, 25)]);
    assert_eq!(seg(&mut b, 10, 10, 5), 30);
    assert_eq!(read_all(&mut b), stream(0, 40));
}

#[test]
fn one_segment_covering_several_holes_fills_them_all() {
    let mut b = RecvBuffer::new(100);
    for from in [5, 15, 25] {
        seg(&mut b, 0, from, 5);
    }
    // A retransmission of 0..40 at once (a coalesced retransmission, as TSO might send).
    assert_eq!(seg(&mut b, 0, 0, 40), 40);
    assert!(!b.has_out_of_order());
    assert_eq!(read_all(&mut b), stream(0, 40));

    // The same, but out of order itself: it spans holes without reaching RCV.NXT.
    for from in [45, 55, 65] {
        seg(&mut b, 40, from, 5);
    }
    assert_eq!(seg(&mut b, 40, 42, 30), 0);
    assert_eq!(holes(&b), [(2, 30)]);
    assert_eq!(seg(&mut b, 40, 40, 2), 32);
    assert_eq!(read_all(&mut b), stream(40, 32));
}

#[test]
fn held_bytes_are_kept_when_a_duplicate_disagrees() {
    let mut b = RecvBuffer::new(100);
    seg(&mut b, 0, 10, 10);
    seg(&mut b, 0, 30, 10);
    // A segment claiming to carry 5..45 with different bytes: only the holes take them.
    assert_eq!(b.insert(5, &[0xEE; 40]), 0);
    assert_eq!(holes(&b), [(5, 40)]);
    assert_eq!(seg(&mut b, 0, 0, 5), 45);
    let mut expect = stream(0, 45);
    expect[5..10].fill(0xEE);
    expect[20..30].fill(0xEE);
    expect[40..45].fill(0xEE);
    assert_eq!(read_all(&mut b), expect);
}

#[test]
fn duplicates_and_partial_overlaps_change_nothing_held() {
    let mut b = RecvBuffer::new(100);
    seg(&mut b, 0, 10, 10);
    // Exact duplicate, a piece inside, and overlaps on either side.
    assert_eq!(b.insert(10, &[0xEE; 10]), 0);
    assert_eq!(b.insert(12, &[0xEE; 3]), 0);
    assert_eq!(holes(&b), [(10, 10)]);
    assert_eq!(seg(&mut b, 0, 15, 10), 0);
    assert_eq!(seg(&mut b, 0, 7, 5), 0);
    assert_eq!(holes(&b), [(7, 18)]);
    // Adjacent data (touching, not overlapping) merges too.
    assert_eq!(seg(&mut b, 0, 25, 5), 0);
    assert_eq!(seg(&mut b, 0, 5, 2), 0);
    assert_eq!(holes(&b), [(5, 25)]);
    assert_eq!(seg(&mut b, 0, 0, 7), 30);
    assert_eq!(read_all(&mut b), stream(0, 30));
}

#[test]
fn data_past_the_window_is_trimmed() {
    let mut b = RecvBuffer::new(20);
    // In order, longer than the window: the first 20 bytes are taken.
    assert_eq!(seg(&mut b, 0, 0, 30), 20);
    assert_eq!(b.window(), 0);
    // A zero window takes nothing, not even at RCV.NXT.
    assert_eq!(seg(&mut b, 20, 20, 5), 0);
    assert_eq!(read_all(&mut b), stream(0, 20));

    // Out of order data straddling the right edge keeps only its part inside.
    assert_eq!(seg(&mut b, 20, 35, 10), 0);
    assert_eq!(holes(&b), [(15, 5)]);
    // Starting exactly at the right edge: dropped whole.
    assert_eq!(seg(&mut b, 20, 40, 5), 0);
    assert_eq!(holes(&b), [(15, 5)]);
    assert_eq!(seg(&mut b, 20, 20, 15), 20);
    assert_eq!(b.window(), 0);
    assert_eq!(read_all(&mut b), stream(20, 20));
}

#[test]
fn reading_frees_window_and_the_right_edge_never_moves_left() {
    let mut b = RecvBuffer::new(50);
    let mut nxt = 0;
    let right_edge = |b: &RecvBuffer, nxt: usize| nxt + b.window();
    assert_eq!(right_edge(&b, nxt), 50);
    seg(&mut b, nxt, 30, 10);
    assert_eq!(right_edge(&b, nxt), 50);
    nxt += seg(&mut b, nxt, 0, 30);
    assert_eq!((nxt, b.window()), (40, 10));
    assert_eq!(right_edge(&b, nxt), 50);

    // A partial read opens exactly that much window.
    let mut out = [0; 15];
    assert_eq!(b.read(&mut out), 15);
    assert_eq!(out.to_vec(), stream(0, 15));
    assert_eq!((b.readable(), b.window()), (25, 25));
    assert_eq!(right_edge(&b, nxt), 65);
    // Peek shows the same bytes without consuming them.
    let mut peeked = [0; 5];
    assert_eq!(b.peek(&mut peeked), 5);
    assert_eq!(peeked.to_vec(), stream(15, 5));
    assert_eq!(b.readable(), 25);
    // The freed window takes new data.
    nxt += seg(&mut b, nxt, 40, 25);
    assert_eq!((nxt, b.window()), (65, 0));
    assert_eq!(read_all(&mut b), stream(15, 50));
}

#[test]
fn ring_wraps_many_times_over() {
    // An odd capacity and segment size so segments, holes and reads straddle the end of
    // the ring at every position.
    let mut b = RecvBuffer::new(37);
    let (mut nxt, mut read) = (0, 0);
    let mut out = [0; 11];
    while read < 37 * 300 {
        // Each round: one segment lost and then retransmitted after its successor.
        let w = b.window();
        if w >= 14 {
            assert_eq!(seg(&mut b, nxt, nxt + 7, 7), 0);
            assert_eq!(holes(&b), [(7, 7)]);
            assert_eq!(seg(&mut b, nxt, nxt, 7), 14);
            nxt += 14;
        } else if w > 0 {
            nxt += seg(&mut b, nxt, nxt, w);
        }
        let n = b.read(&mut out);
        assert_eq!(out[..n].to_vec(), stream(read, n));
        read += n;
        assert_eq!(b.readable(), nxt - read);
    }
}

#[test]
fn hostile_offsets_and_lengths_do_not_panic() {
    let mut b = RecvBuffer::new(16);
    assert_eq!(b.insert(usize::MAX, &[1; 4]), 0);
    assert_eq!(b.insert(usize::MAX - 1, &[1; 4]), 0);
    assert_eq!(b.insert(16, &[1]), 0);
    assert_eq!(b.insert(3, &[]), 0);
    assert_eq!(b.insert(0, &[]), 0);
    assert!(!b.has_out_of_order());
    assert_eq!(b.insert(0, &[7; 1000]), 16);
    assert_eq!(b.read(&mut []), 0);
    assert_eq!(b.peek(&mut []), 0);
    assert_eq!(read_all(&mut b), [7; 16]);

    let mut zero = RecvBuffer::new(0);
    assert_eq!(zero.window(), 0);
    assert_eq!(zero.insert(0, &[1, 2, 3]), 0);
    assert_eq!(zero.insert(5, &[1, 2, 3]), 0);
    assert_eq!(zero.read(&mut [0; 4]), 0);
    assert!(!zero.has_out_of_order());
}

#[test]
fn out_of_order_ranges_are_bounded() {
    let mut b = RecvBuffer::new(1000);
    // 64 one-byte islands at 2, 4, .., 128.
    for k in 1..=MAX_OUT_OF_ORDER {
        assert_eq!(b.insert(2 * k, &[k as u8]), 0);
    }
    assert_eq!(b.out_of_order().count(), MAX_OUT_OF_ORDER);
    // One more island is refused: not stored, as if lost.
    assert_eq!(b.insert(500, &[1; 10]), 0);
    assert_eq!(b.out_of_order().count(), MAX_OUT_OF_ORDER);
    assert_eq!(b.out_of_order().last(), Some((128, 1)));
    // Data touching an island is still taken, and so is data bridging two.
    assert_eq!(b.insert(129, &[0xAA]), 0);
    assert_eq!(b.out_of_order().last(), Some((128, 2)));
    assert_eq!(b.insert(3, &[0xBB]), 0);
    assert_eq!(b.out_of_order().count(), MAX_OUT_OF_ORDER - 1);
    assert_eq!(holes(&b)[0], (2, 3));
    // With room again a new island is accepted.
    assert_eq!(b.insert(500, &[1; 10]), 0);
    assert_eq!(b.out_of_order().count(), MAX_OUT_OF_ORDER);
    // Data at RCV.NXT never needs a new range: it is always accepted.
    assert_eq!(b.insert(0, &[0xCC]), 1);
    assert_eq!(b.insert(0, &[0xCC]), 4);
    assert_eq!(b.readable(), 5);
    assert_eq!(read_all(&mut b), [0xCC, 0xCC, 1, 0xBB, 2]);
}

/// The buffer's behaviour written the slow, obvious way: one slot per stream byte.
struct Model {
    capacity: usize,
    /// Every byte of the stream received so far, by position from the first RCV.NXT.
    bytes: Vec<Option<u8>>,
    /// Stream positions of the first unread byte and of RCV.NXT.
    read: usize,
    nxt: usize,
}

impl Model {
    fn window(&self) -> usize {
        self.capacity - (self.nxt - self.read)
    }

    fn held(&self, pos: usize) -> bool {
        self.bytes.get(pos).copied().flatten().is_some()
    }

    /// The out-of-order runs after RCV.NXT, as (offset, len).
    fn runs(&self) -> Vec<(usize, usize)> {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for pos in self.nxt..self.bytes.len() {
            if !self.held(pos) {
                continue;
            }
            match runs.last_mut() {
                Some((start, len)) if self.nxt + *start + *len == pos => *len += 1,
                _ => runs.push((pos - self.nxt, 1)),
            }
        }
        runs
    }

    fn insert(&mut self, offset: usize, data: &[u8]) -> usize {
        let window = self.window();
        let end = offset.saturating_add(data.len()).min(window);
        if offset >= end {
            return 0;
        }
        // Refused if it would be a new island (touching no held byte) and there are
        // already as many islands as allowed.
        let touches = (offset.saturating_sub(1)..=end).any(|o| self.held(self.nxt + o));
        if offset > 0 && !touches && self.runs().len() == MAX_OUT_OF_ORDER {
            return 0;
        }
        if self.bytes.len() < self.nxt + end {
            self.bytes.resize(self.nxt + end, None);
        }
        for (o, &byte) in (offset..end).zip(data) {
            let slot = &mut self.bytes[self.nxt + o];
            slot.get_or_insert(byte);
        }
        let before = self.nxt;
        while self.held(self.nxt) {
            self.nxt += 1;
        }
        self.nxt - before
    }

    fn read(&mut self, want: usize) -> Vec<u8> {
        let n = want.min(self.nxt - self.read);
        let out = self.bytes[self.read..self.read + n]
            .iter()
            .map(|b| b.expect("in-order bytes are held"))
            .collect();
        self.read += n;
        out
    }
}

/// One randomized run: a buffer and the model fed the same inserts and reads must agree
/// on everything observable. Reproduce a failure with `run_against_model(seed)`.
fn run_against_model(seed: u64) {
    let mut rng = Rng::new(seed);
    // Some runs scatter one-byte segments at odd offsets over a wide window: they open
    // many islands and reach MAX_OUT_OF_ORDER.
    let scatter = rng.below(3) == 0;
    let capacity = match rng.below(4) {
        _ if scatter => 2 * MAX_OUT_OF_ORDER + rng.below(200) as usize,
        0 => rng.below(8) as usize,
        1 => 64 + rng.below(16) as usize,
        _ => 1 + rng.below(400) as usize,
    };
    let mut b = RecvBuffer::new(capacity);
    let mut m = Model {
        capacity,
        bytes: Vec::new(),
        read: 0,
        nxt: 0,
    };
    for step in 0..600 {
        let at = format!("seed {seed} (capacity {capacity}) step {step}");
        if rng.below(4) == 0 {
            let want = rng.below(capacity as u64 + 2) as usize;
            let mut out = vec![0; want];
            let mut peeked = vec![0; want];
            let p = b.peek(&mut peeked);
            let n = b.read(&mut out);
            let expect = m.read(want);
            assert_eq!(&out[..n], &expect[..], "{at}: read {want}");
            assert_eq!(&peeked[..p], &expect[..], "{at}: peek {want}");
        } else {
            let window = m.window() as u64;
            let (offset, len) = if scatter && rng.below(100) < 97 {
                (1 + 2 * rng.below(window / 2 + 1) as usize, 1)
            } else {
                random_segment(&mut rng, window, capacity)
            };
            let data: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
            let got = b.insert(offset, &data);
            let expect = m.insert(offset, &data);
            assert_eq!(got, expect, "{at}: insert({offset}, {len} bytes)");
        }
        assert_eq!(b.readable(), m.nxt - m.read, "{at}: readable");
        assert_eq!(b.window(), m.window(), "{at}: window");
        assert_eq!(holes(&b), m.runs(), "{at}: out of order");
        assert_eq!(b.has_out_of_order(), !m.runs().is_empty(), "{at}");
    }
}

/// An (offset, length) mostly inside the window, sometimes hostile.
fn random_segment(rng: &mut Rng, window: u64, capacity: usize) -> (usize, usize) {
    let offset = match rng.below(10) {
        0 => usize::MAX - rng.below(4) as usize,
        1 => 0,
        _ => rng.below(window + 4) as usize,
    };
    let len = match rng.below(10) {
        0 => rng.below(2 * capacity as u64 + 4) as usize,
        // Tiny segments: many small islands and holes.
        1..=3 => 1 + rng.below(2) as usize,
        _ => rng.below(window / 4 + 3) as usize,
    };
    (offset, len)
}

#[test]
fn randomized_inserts_and_reads_match_a_plain_model() {
    for seed in 0..300 {
        run_against_model(seed);
    }
}

#[test]
fn memory_grows_with_use_and_is_given_back_when_quiet() {
    let mut b = RecvBuffer::new(256 * 1024);
    assert_eq!(b.allocated(), 0, "a new connection costs nothing");
    // Out of order, far into the window: the ring grows to hold up to it.
    assert_eq!(b.insert(20_000, &[7; 1000]), 0);
    assert!(b.allocated() >= 21_000);
    // The hole fills: everything is in order, in place.
    assert_eq!(b.insert(0, &[1; 20_000]), 21_000);
    let mut out = vec![0; 30_000];
    assert_eq!(b.read(&mut out), 21_000);
    assert_eq!((out[19_999], out[20_000], out[20_999]), (1, 7, 7));
    assert!(b.allocated() > 0, "kept until the connection is quiet");
    b.release_if_empty();
    assert_eq!(b.allocated(), 0, "quiet: given back");
    assert_eq!(
        b.window(),
        256 * 1024,
        "the window does not shrink with the memory"
    );
}

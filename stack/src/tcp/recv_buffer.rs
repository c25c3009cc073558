//! The receive buffer: in-order bytes the application has not read yet, and out-of-order
//! data held in place until the holes before it fill.
//!
//! RFC 9293 3.10.7.4 lets a receiver keep "segments with higher beginning sequence numbers
//! ... for later processing"; this buffer keeps them where they belong, so when the hole
//! before them fills they become readable without another copy. Any number of holes may be
//! open at once, within the limit below.
//!
//! # Positions
//! [`RecvBuffer::insert`] takes positions as offsets from RCV.NXT, the next byte expected:
//! offset 0 is RCV.NXT. The TCP receiver computes `SEG.SEQ - RCV.NXT` after trimming the
//! part of the segment before RCV.NXT (already received), so the offset is never
//! "negative"; an untrimmed old segment would look like a huge offset and be dropped whole.
//!
//! # The window
//! The buffer accepts bytes in `RCV.NXT .. RCV.NXT + window()`, where
//! [`RecvBuffer::window`] is the capacity minus the bytes waiting to be read, and drops
//! anything past that. Out-of-order data lies inside the window, so it does not shrink it.
//! The right edge RCV.NXT + window() never moves left: data becoming in order advances
//! RCV.NXT and the readable count by the same amount, and reading only widens it. This is
//! the "do not shrink the window" rule of RFC 9293 3.8.6 (RFC 1122 4.2.2.16) for free.
//!
//! # Bounds
//! The storage is a ring (see `ring.rs`) that grows as data arrives, up to the capacity
//! given to [`RecvBuffer::new`], and is given back ([`RecvBuffer::take_storage_if_empty`]) once the
//! connection is quiet, so an idle connection holds no receive memory. Reads and in-order inserts copy with one `copy_from_slice`, two when
//! the ring wraps; a segment spanning held data is copied only into the holes, one piece
//! per hole (never more bytes than it carries).
//!
//! At most [`MAX_OUT_OF_ORDER`] separate out-of-order ranges are held: data that would
//! open one more is refused (not stored, as if lost), so a peer spraying one-byte segments
//! into the window costs a fixed amount of bookkeeping. Data that joins or overlaps a
//! range already held, or that starts at RCV.NXT, is always accepted.
//!
//! No argument makes a method panic: offsets and lengths from the network are clamped.

use core::fmt;

use super::ring::{self, wrap};

#[cfg(test)]
mod tests;

/// The most disjoint out-of-order ranges a [`RecvBuffer`] holds at once (see the module
/// docs). 64 covers a window of 64 full-sized segments with every other one lost.
pub const MAX_OUT_OF_ORDER: usize = 64;

/// Out-of-order bytes held at offsets `start..end` from RCV.NXT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

/// Received data for one connection: in-order bytes for the application, followed by
/// out-of-order data at its place in the window.
pub struct RecvBuffer {
    /// The ring: empty while nothing is held, grown on demand up to `capacity`.
    storage: Box<[u8]>,
    /// The ring's size. The ring itself is allocated on first use, so a connection that
    /// never carries data (a half-open one from a SYN flood) costs no buffer memory.
    capacity: usize,
    /// Index in `storage` of the first unread byte. Always `< storage.len()` (0 when empty).
    head: usize,
    /// In-order unread bytes from `head` on. RCV.NXT lies at `head + readable`.
    readable: usize,
    /// Out-of-order ranges, offsets from RCV.NXT: sorted, disjoint, not touching, none
    /// starting at 0 and none ending past `window()`; at most [`MAX_OUT_OF_ORDER`].
    /// Allocated only while a hole is open.
    ranges: Vec<Span>,
}

impl RecvBuffer {
    /// An empty buffer whose window is `capacity` bytes; the only allocation it makes.
    pub fn new(capacity: usize) -> Self {
        RecvBuffer {
            storage: Box::default(),
            capacity,
            head: 0,
            readable: 0,
            ranges: Vec::new(),
        }
    }

    /// The most bytes the buffer can hold: the largest window it ever offers.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the capacity (SO_RCVBUF). The caller keeps it at least what is held in
    /// order plus the window it offered, so nothing held or promised falls outside.
    pub fn set_capacity(&mut self, capacity: usize) {
        let held = self.readable + self.ranges.last().map_or(0, |r| r.end);
        self.capacity = capacity.max(held);
    }

    /// Gives the ring back if nothing is held (`None` if something is, or there is no
    /// ring). The connection calls this once it is quiet, not at every drain.
    pub fn take_storage_if_empty(&mut self) -> Option<Box<[u8]>> {
        if self.readable != 0 || !self.ranges.is_empty() {
            return None;
        }
        self.ranges = Vec::new();
        ring::take(&mut self.storage, &mut self.head)
    }

    /// Frees the ring if nothing is held.
    pub fn release_if_empty(&mut self) {
        drop(self.take_storage_if_empty());
    }

    /// Uses `ring` as this buffer's ring if it has none (see `ring::adopt`); otherwise
    /// hands it back.
    pub fn adopt_storage(&mut self, ring: Box<[u8]>) -> Option<Box<[u8]>> {
        ring::adopt(&mut self.storage, &mut self.head, ring, self.capacity)
    }

    /// Whether the buffer has a ring now.
    pub fn has_storage(&self) -> bool {
        !self.storage.is_empty()
    }

    /// Bytes of memory the buffer holds now.
    pub fn allocated(&self) -> usize {
        self.storage.len() + self.ranges.capacity() * core::mem::size_of::<Span>()
    }

    /// In-order bytes waiting for the application's [`RecvBuffer::read`].
    pub fn readable(&self) -> usize {
        self.readable
    }

    /// Free space from RCV.NXT on, `capacity() - readable()`: the receive window RCV.WND
    /// to advertise (RFC 9293 3.3.1), before any window scaling or silly window syndrome
    /// avoidance (RFC 9293 3.8.6.2.2) the receiver applies.
    pub fn window(&self) -> usize {
        self.capacity() - self.readable
    }

    /// Stores `data` whose first byte is `offset` bytes past RCV.NXT, and returns how many
    /// bytes became in order: the caller advances RCV.NXT by exactly that.
    ///
    /// Called with the text of every acceptable segment (RFC 9293 3.10.7.4, "seventh,
    /// process the segment text"), after trimming what lies before RCV.NXT. Bytes past the
    /// window are dropped; bytes already held are kept as they are (a duplicate does not
    /// overwrite them). The return value counts earlier out-of-order data that the new
    /// bytes joined to RCV.NXT, so it may exceed `data.len()`. It is 0 when everything was
    /// stored out of order, was a duplicate, fell outside the window, or was refused for
    /// needing more than [`MAX_OUT_OF_ORDER`] ranges; [`RecvBuffer::out_of_order`] tells
    /// these apart if needed.
    pub fn insert(&mut self, offset: usize, data: &[u8]) -> usize {
        // Trim to the window; `saturating_add` keeps a hostile offset from overflowing.
        let end = offset.saturating_add(data.len()).min(self.window());
        if offset >= end {
            return 0;
        }
        let data = &data[..end - offset];

        // Ranges i..j overlap or touch offset..end, and merge with it into one.
        let held = &self.ranges[..];
        let i = held.partition_point(|r| r.end < offset);
        let j = i + held[i..].partition_point(|r| r.start <= end);
        if i == j && offset > 0 && self.ranges.len() == MAX_OUT_OF_ORDER {
            return 0;
        }
        // Room in the ring for everything up to `end` (within the window, so within the
        // capacity), keeping what is held.
        let used = self.readable + self.ranges.last().map_or(0, |r| r.end);
        let needed = self.readable + end;
        ring::reserve(
            &mut self.storage,
            &mut self.head,
            used,
            needed.max(used),
            self.capacity,
        );

        // Write the holes of offset..end, leaving held bytes untouched.
        let mut at = offset;
        for k in i..j {
            let r = self.ranges[k];
            if r.start > at {
                self.store(at, &data[at - offset..r.start - offset]);
            }
            at = at.max(r.end);
        }
        if at < end {
            self.store(at, &data[at - offset..]);
        }

        let merged = if i < j {
            Span {
                start: offset.min(self.ranges[i].start),
                end: end.max(self.ranges[j - 1].end),
            }
        } else {
            Span { start: offset, end }
        };
        if merged.start > 0 {
            self.splice(i, j, Some(merged));
            return 0;
        }
        // The data reached RCV.NXT (so i == 0): it and everything it joined is in order.
        let advanced = merged.end;
        self.splice(0, j, None);
        for r in &mut self.ranges {
            r.start -= advanced;
            r.end -= advanced;
        }
        self.readable += advanced;
        advanced
    }

    /// Moves in-order bytes into `out`, as many as fit, and returns how many. Called on the
    /// application's receive; the window grows by the amount read, which the receiver may
    /// announce with a window update (RFC 9293 3.8.6.2.2).
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(out);
        self.readable -= n;
        if self.readable == 0 && self.ranges.is_empty() {
            // Nothing held: restarting at index 0 makes the next segments contiguous.
            self.head = 0;
        } else if n > 0 {
            self.head = wrap(self.head + n, self.storage.len());
        }
        n
    }

    /// Copies in-order bytes into `out` like [`RecvBuffer::read`], without consuming them.
    pub fn peek(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.readable);
        if n > 0 {
            ring::read(&self.storage, self.head, &mut out[..n]);
        }
        n
    }

    /// Whether any out-of-order data is held, i.e. there is a hole at RCV.NXT. While this
    /// is true, every arriving segment deserves an immediate ACK (RFC 5681 4.2, RFC 9293
    /// 3.10.7.4).
    pub fn has_out_of_order(&self) -> bool {
        !self.ranges.is_empty()
    }

    /// The out-of-order ranges held, as `(offset from RCV.NXT, length)`, in increasing
    /// order, disjoint and never adjacent. For SACK blocks (RFC 2018) and for RFC 5681 4.2's
    /// immediate ACKs: when out-of-order data arrives, and when data fills all or part of a
    /// hole.
    pub fn out_of_order(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.ranges.iter().map(|r| (r.start, r.end - r.start))
    }

    /// Copies `data` to `offset` bytes past RCV.NXT. The caller keeps it inside the window.
    fn store(&mut self, offset: usize, data: &[u8]) {
        // `insert` reserved room: head < storage.len(), and readable + offset + data.len()
        // fits the storage, so the sum is below 2 * storage.len().
        let at = wrap(self.head + self.readable + offset, self.storage.len());
        ring::write(&mut self.storage, at, data);
    }

    /// Replaces `ranges[i..j]` with `with` (nothing if `None`), keeping the rest in order.
    /// The caller ensures room when `i == j` and `with` is `Some`.
    fn splice(&mut self, i: usize, j: usize, with: Option<Span>) {
        self.ranges.splice(i..j, with);
    }
}

impl fmt::Debug for RecvBuffer {
    /// A summary: the bytes themselves would flood a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvBuffer")
            .field("capacity", &self.capacity())
            .field("readable", &self.readable)
            .field("out_of_order", &self.ranges)
            .finish()
    }
}

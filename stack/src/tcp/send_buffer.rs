//! The send buffer: bytes the application wrote that the peer has not acknowledged yet.
//!
//! Byte 0 of the buffer is always SND.UNA, the oldest unacknowledged byte (RFC 9293 3.3.1,
//! figure 4). Everything held is either sent and unacknowledged (SND.UNA..SND.NXT) or not
//! sent yet (SND.NXT on); the buffer does not know where SND.NXT is, the TCP sender does,
//! and reads what it needs with [`SendBuffer::read_at`].
//!
//! The storage is a ring (see `ring.rs`) that grows as the application writes, up to the
//! capacity, and is given back ([`SendBuffer::take_storage_if_empty`]) once the connection
//! is quiet, so an idle connection holds no send memory. Each call copies with one `copy_from_slice`, two when the ring wraps. No
//! argument makes a method panic: lengths and offsets are clamped.

use core::fmt;

use super::ring::{self, wrap};

/// Unacknowledged and unsent application bytes, starting at SND.UNA.
pub struct SendBuffer {
    /// The ring: empty while nothing is held, grown on demand up to `capacity`.
    storage: Box<[u8]>,
    /// The most bytes held at once.
    capacity: usize,
    /// Index in `storage` of the byte at SND.UNA. Always `< storage.len()` (0 when empty).
    head: usize,
    /// Bytes held from `head` on, wrapping.
    len: usize,
}

impl SendBuffer {
    /// An empty buffer that holds up to `capacity` bytes; it allocates nothing yet. The
    /// capacity bounds how far SND.NXT may run ahead of SND.UNA.
    pub fn new(capacity: usize) -> Self {
        SendBuffer {
            storage: Box::default(),
            capacity,
            head: 0,
            len: 0,
        }
    }

    /// The most bytes the buffer can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the capacity (SO_SNDBUF). Bytes held beyond a smaller capacity stay
    /// until acknowledged; [`SendBuffer::free`] is 0 until they drop below it.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    /// Gives the ring back if nothing is held (`None` if something is, or there is no
    /// ring). The connection calls this once it is quiet, not at every drain.
    pub fn take_storage_if_empty(&mut self) -> Option<Box<[u8]>> {
        if self.len != 0 {
            return None;
        }
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
        self.storage.len()
    }

    /// Bytes held: sent but unacknowledged, plus not yet sent.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether every byte written has been acknowledged.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many more bytes [`SendBuffer::write`] would take now.
    pub fn free(&self) -> usize {
        self.capacity().saturating_sub(self.len)
    }

    /// Appends as much of `data` as fits (up to [`SendBuffer::free`]) after the bytes held,
    /// and returns how many bytes it took. Called on the application's send; the TCP
    /// sender then transmits them when windows allow (RFC 9293 3.10.2, SEND call).
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        if n == 0 {
            return 0;
        }
        let needed = self.len + n;
        ring::reserve(
            &mut self.storage,
            &mut self.head,
            self.len,
            needed,
            self.capacity,
        );
        let tail = wrap(self.head + self.len, self.storage.len());
        ring::write(&mut self.storage, tail, &data[..n]);
        self.len += n;
        n
    }

    /// Copies bytes starting `offset` bytes after SND.UNA into `out`, as many as fit and
    /// are held, and returns how many it copied (0 if `offset >= len()`). Called to fill a
    /// segment: with `offset = SND.NXT - SND.UNA` for new data, or a smaller offset to
    /// retransmit (RFC 9293 3.8.1; offset 0 on a retransmission timeout). Nothing is
    /// removed: bytes stay until [`SendBuffer::consume`] says they were acknowledged.
    pub fn read_at(&self, offset: usize, out: &mut [u8]) -> usize {
        if offset >= self.len {
            return 0;
        }
        let n = out.len().min(self.len - offset);
        let start = wrap(self.head + offset, self.storage.len());
        ring::read(&self.storage, start, &mut out[..n]);
        n
    }

    /// Drops the first `n` bytes (clamped to [`SendBuffer::len`]): they were acknowledged.
    /// Called when an acceptable ACK advances SND.UNA by `n` (RFC 9293 3.10.7.4,
    /// ESTABLISHED: "SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK"); the bytes
    /// after them become byte 0. The caller must not count a SYN or FIN in `n`: they
    /// occupy sequence space but no byte here.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        if self.len == 0 {
            // Restarting at index 0 makes the next writes and reads contiguous.
            self.head = 0;
        } else {
            self.head = wrap(self.head + n, self.storage.len());
        }
    }
}

impl fmt::Debug for SendBuffer {
    /// A summary: the bytes themselves would flood a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBuffer")
            .field("capacity", &self.capacity())
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte `i` of the application's stream, so a misplaced byte shows.
    fn stream(from: usize, len: usize) -> Vec<u8> {
        (from..from + len).map(|i| (i % 251) as u8).collect()
    }

    fn read_all_at(b: &SendBuffer, offset: usize) -> Vec<u8> {
        let mut out = vec![0; b.capacity() + 8];
        let n = b.read_at(offset, &mut out);
        out.truncate(n);
        out
    }

    #[test]
    fn memory_grows_with_use_and_is_given_back_when_all_is_acknowledged() {
        let mut b = SendBuffer::new(256 * 1024);
        assert_eq!(b.allocated(), 0, "a new connection costs nothing");
        b.write(&stream(0, 100));
        assert_eq!(b.allocated(), 4096, "a page for a small write");
        b.write(&stream(100, 10_000));
        assert_eq!(b.allocated(), 16_384, "the next power of two");
        b.consume(5_000);
        b.write(&stream(10_100, 300_000));
        assert_eq!(b.allocated(), 256 * 1024, "never past the capacity");
        assert_eq!(
            read_all_at(&b, 0)[..100],
            stream(5_000, 100)[..],
            "bytes kept in order"
        );
        b.consume(usize::MAX);
        assert!(b.allocated() > 0, "kept while the connection is busy");
        b.release_if_empty();
        assert_eq!(b.allocated(), 0, "quiet: given back");
    }

    #[test]
    fn write_send_acknowledge() {
        let mut b = SendBuffer::new(10);
        assert!(b.is_empty());
        assert_eq!((b.capacity(), b.len(), b.free()), (10, 0, 10));

        assert_eq!(b.write(&stream(0, 6)), 6);
        assert_eq!((b.len(), b.free()), (6, 4));
        // Send the first segment (SND.NXT = SND.UNA + 4), then the rest.
        let mut seg = [0; 4];
        assert_eq!(b.read_at(0, &mut seg), 4);
        assert_eq!(seg.to_vec(), stream(0, 4));
        assert_eq!(read_all_at(&b, 4), stream(4, 2));
        // ACK of the first segment: byte 4 becomes SND.UNA.
        b.consume(4);
        assert_eq!((b.len(), b.free()), (2, 8));
        assert_eq!(read_all_at(&b, 0), stream(4, 2));
        b.consume(2);
        assert!(b.is_empty());
    }

    #[test]
    fn write_takes_only_what_fits() {
        let mut b = SendBuffer::new(8);
        assert_eq!(b.write(&stream(0, 5)), 5);
        assert_eq!(b.write(&stream(5, 5)), 3);
        assert_eq!(b.write(&[1]), 0);
        assert_eq!(read_all_at(&b, 0), stream(0, 8));
        assert_eq!(b.write(&[]), 0);
    }

    #[test]
    fn retransmission_reads_the_same_bytes_again() {
        let mut b = SendBuffer::new(16);
        b.write(&stream(0, 12));
        assert_eq!(read_all_at(&b, 0), stream(0, 12));
        // Partial ACK, then the RTO retransmits from SND.UNA.
        b.consume(5);
        assert_eq!(read_all_at(&b, 0), stream(5, 7));
        assert_eq!(read_all_at(&b, 3), stream(8, 4));
    }

    #[test]
    fn offsets_and_acks_past_the_end_are_clamped() {
        let mut b = SendBuffer::new(8);
        b.write(&stream(0, 5));
        let mut out = [0; 8];
        assert_eq!(b.read_at(5, &mut out), 0);
        assert_eq!(b.read_at(usize::MAX, &mut out), 0);
        assert_eq!(b.read_at(4, &mut []), 0);
        b.consume(usize::MAX);
        assert!(b.is_empty());
        assert_eq!(b.free(), 8);
    }

    #[test]
    fn zero_capacity_holds_nothing_and_does_not_panic() {
        let mut b = SendBuffer::new(0);
        assert_eq!(b.write(&[1, 2, 3]), 0);
        assert_eq!(b.read_at(0, &mut [0; 4]), 0);
        b.consume(3);
        assert_eq!((b.len(), b.free()), (0, 0));
    }

    #[test]
    fn ring_wraps_many_times_over() {
        // Odd sizes so writes, reads and ACKs straddle the end of the ring at varying points.
        let mut b = SendBuffer::new(13);
        let (mut written, mut acked) = (0, 0);
        while acked < 13 * 200 {
            written += b.write(&stream(written, 7));
            assert_eq!(read_all_at(&b, 0), stream(acked, written - acked));
            assert_eq!(read_all_at(&b, 2), stream(acked + 2, written - acked - 2));
            b.consume(5);
            acked = (acked + 5).min(written);
            assert_eq!(b.len(), written - acked);
        }
    }
}

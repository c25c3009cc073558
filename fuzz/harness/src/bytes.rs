//! The byte format every structured input is written in: fixed-width big-endian fields
//! read in order, zeros once the input runs out. It is small enough to write by hand,
//! which is what lets seeds be encoded (`Writer`) as well as decoded (`Reader`), and a
//! unit test proves each input type round-trips.

/// Reads fields from fuzzer bytes; past the end every field reads as zero.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    /// True once every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// Four bytes, big-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

/// Writes fields in the format [`Reader`] reads.
#[derive(Debug, Default)]
pub struct Writer {
    /// The bytes written so far.
    pub out: Vec<u8>,
}

impl Writer {
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    /// Two bytes, big-endian.
    pub fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// Four bytes, big-endian.
    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// Raw bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.out.extend_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_read_zero_past_the_end() {
        let mut w = Writer::default();
        w.u8(7);
        w.u16(0xbeef);
        w.u32(0xdead_0001);
        w.bytes(b"ab");
        let mut r = Reader::new(&w.out);
        assert_eq!((r.u8(), r.u16(), r.u32()), (7, 0xbeef, 0xdead_0001));
        assert_eq!(r.bytes(5), b"ab");
        assert!(r.is_empty());
        assert_eq!((r.u8(), r.u32()), (0, 0));
    }
}

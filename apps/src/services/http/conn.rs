//! One connection's byte stream with a read buffer: request heads are parsed in place
//! from the buffer, and bytes read past a head (the body, or a pipelined request) stay
//! there for whoever reads next.
//!
//! The buffer outlives the stream it is used with: the event-driven service keeps a
//! connection's [`Held`] bytes between events and wraps them around the socket for the
//! length of one event ([`Conn::resume`], [`Conn::suspend`]). It is allocated when
//! first filled and freed when emptied, so an idle connection holds no buffer.

use std::io::{self, Read, Write};

/// Bytes the read buffer holds: room for a head at its size limit and then some.
const BUFFER: usize = 16 * 1024;

/// A stream (the socket for one event in the service, an in-memory one in unit tests)
/// and the bytes read from it that nobody has consumed yet.
pub struct Conn<S> {
    stream: S,
    held: Held,
}

/// The bytes read from a connection and not consumed yet, kept between events.
#[derive(Default)]
pub struct Held {
    /// Empty while nothing is held; [`BUFFER`] bytes otherwise.
    buf: Box<[u8]>,
    /// `buf[start..end]` is read and not yet consumed.
    start: usize,
    end: usize,
}

impl<S: Read + Write> Conn<S> {
    /// Wraps `stream` with an empty buffer.
    #[cfg(test)]
    pub fn new(stream: S) -> Conn<S> {
        Conn::resume(stream, Held::default())
    }

    /// Wraps `stream` around bytes held from earlier reads.
    pub fn resume(stream: S, held: Held) -> Conn<S> {
        Conn { stream, held }
    }

    /// Gives back the held bytes (the buffer freed if there are none) and drops the
    /// stream.
    pub fn suspend(mut self) -> Held {
        if self.held.start == self.held.end {
            self.held = Held::default();
        }
        self.held
    }

    /// The bytes read and not consumed yet.
    pub fn buffered(&self) -> &[u8] {
        &self.held.buf[self.held.start..self.held.end]
    }

    /// Marks the first `n` buffered bytes as used.
    ///
    /// # Panics
    /// If fewer than `n` bytes are buffered (a caller bug).
    pub fn consume(&mut self, n: usize) {
        let held = &mut self.held;
        assert!(
            n <= held.end - held.start,
            "consumed more than was buffered"
        );
        held.start += n;
        if held.start == held.end {
            held.start = 0;
            held.end = 0;
        }
    }

    /// Reads more from the stream after what is buffered; returns how much (0 at end of
    /// stream). Fails with `OutOfMemory` if the buffer is full; callers bound what they
    /// let accumulate well below its size.
    pub fn fill(&mut self) -> io::Result<usize> {
        let held = &mut self.held;
        if held.buf.is_empty() {
            held.buf = vec![0; BUFFER].into_boxed_slice();
        }
        if held.end == held.buf.len() {
            if held.start == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    "connection read buffer full",
                ));
            }
            held.buf.copy_within(held.start..held.end, 0);
            held.end -= held.start;
            held.start = 0;
        }
        let n = retry(|| self.stream.read(&mut held.buf[held.end..]))?;
        held.end += n;
        Ok(n)
    }

    /// Reads into `out`: buffered bytes first; with nothing buffered, straight from the
    /// stream (large body reads skip the copy through the buffer). 0 at end of stream.
    pub fn read_some(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let buffered = self.buffered();
        if buffered.is_empty() {
            return retry(|| self.stream.read(out));
        }
        let n = buffered.len().min(out.len());
        out[..n].copy_from_slice(&buffered[..n]);
        self.consume(n);
        Ok(n)
    }

    /// Writes all of `data` to the stream.
    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.stream.write_all(data)
    }
}

/// Writes go straight to the stream, so responses can be written through the
/// connection.
impl<S: Read + Write> Write for Conn<S> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.stream.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// Runs `op` again while it fails with `Interrupted`.
fn retry(mut op: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// In-memory streams for the unit tests of the HTTP modules.
#[cfg(test)]
pub mod testing {
    use std::io::{self, Read, Write};

    /// Gives out `input` at most `step` bytes per read, then end of stream; keeps what is
    /// written.
    pub struct Scripted {
        pub input: Vec<u8>,
        pub pos: usize,
        pub step: usize,
        pub output: Vec<u8>,
    }

    impl Scripted {
        /// `input` served `step` bytes at a time.
        pub fn new(input: &[u8], step: usize) -> Scripted {
            Scripted {
                input: input.to_vec(),
                pos: 0,
                step,
                output: Vec::new(),
            }
        }
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.input.len() - self.pos);
            buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Scripted;
    use super::*;

    #[test]
    fn buffered_bytes_are_read_before_the_stream() {
        let mut conn = Conn::new(Scripted::new(b"abcdefgh", 3));
        assert_eq!(conn.fill().unwrap(), 3);
        conn.consume(1);
        let mut out = [0u8; 8];
        assert_eq!(conn.read_some(&mut out).unwrap(), 2);
        assert_eq!(&out[..2], b"bc");
        assert_eq!(conn.read_some(&mut out).unwrap(), 3);
        assert_eq!(&out[..3], b"def");
    }

    #[test]
    fn fill_compacts_and_refuses_a_full_buffer() {
        let input = vec![b'x'; BUFFER + 10];
        let mut conn = Conn::new(Scripted::new(&input, BUFFER));
        assert_eq!(conn.fill().unwrap(), BUFFER);
        assert_eq!(conn.fill().unwrap_err().kind(), io::ErrorKind::OutOfMemory);
        conn.consume(5);
        assert_eq!(conn.fill().unwrap(), 5);
        assert_eq!(conn.buffered().len(), BUFFER);
    }
}

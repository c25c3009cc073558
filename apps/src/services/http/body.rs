//! A request body as a `Read`: Content-Length bytes, or the chunked coding (RFC 9112
//! section 7.1) decoded as it streams in. Nothing is buffered beyond the connection's
//! read buffer, so a body may be as large as the client likes.

use std::io::{self, Read, Write};

use super::conn::Conn;
use super::request::{Framing, MAX_HEAD};

/// The longest chunk-size line accepted (size and extensions), and the most trailer
/// bytes in all; longer is malformed.
const MAX_CHUNK_LINE: usize = 4096;

/// What comes next in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// This many bytes of a Content-Length body.
    Length(u64),
    /// A chunk-size line.
    ChunkSize,
    /// This many bytes of chunk data.
    ChunkData(u64),
    /// The CRLF after a chunk's data.
    ChunkEnd,
    /// The trailer section, this many bytes of it so far.
    Trailers(usize),
    /// The end of the body.
    Done,
}

/// The body of the request whose head was just read from the connection.
pub struct Body<'c, S> {
    conn: &'c mut Conn<S>,
    progress: Progress,
}

/// How far a body has been read: kept between events, so that reading can stop when
/// nothing more has arrived (`WouldBlock`) and carry on with [`Body::resume`]. A read
/// that fails with `WouldBlock` leaves it unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    state: State,
    /// `Expect: 100-continue` and no 100 sent yet: it goes out at the first read.
    send_continue: bool,
}

impl Progress {
    /// A body framed as `framing` with nothing read yet; with `expect_continue`, the
    /// interim 100 (Continue) response (RFC 9110 section 15.2.1) is sent when the body
    /// is first read.
    pub fn new(framing: Framing, expect_continue: bool) -> Progress {
        let state = match framing {
            Framing::None | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::ChunkSize,
        };
        Progress {
            send_continue: expect_continue && state != State::Done,
            state,
        }
    }
}

impl<'c, S: Read + Write> Body<'c, S> {
    /// The body framed as `framing`; see [`Progress::new`] for `expect_continue`.
    #[cfg(test)]
    pub fn new(conn: &'c mut Conn<S>, framing: Framing, expect_continue: bool) -> Self {
        Body::resume(conn, Progress::new(framing, expect_continue))
    }

    /// Carries on reading a body from where `progress` says it stopped.
    pub fn resume(conn: &'c mut Conn<S>, progress: Progress) -> Self {
        Body { conn, progress }
    }

    /// How far the body has been read, to resume later.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// True once the whole body, trailers included, has been read.
    #[cfg(test)]
    pub fn is_done(&self) -> bool {
        self.progress.state == State::Done
    }

    /// Reads the next chunk-size line (RFC 9112 section 7.1: hex size, optional
    /// extensions, which are ignored, CRLF).
    fn chunk_size(&mut self) -> io::Result<State> {
        loop {
            match httparse::parse_chunk_size(self.conn.buffered()) {
                Ok(httparse::Status::Complete((used, size))) => {
                    self.conn.consume(used);
                    return Ok(if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::ChunkData(size)
                    });
                }
                Ok(httparse::Status::Partial) if self.conn.buffered().len() < MAX_CHUNK_LINE => {
                    self.fill()?;
                }
                Ok(httparse::Status::Partial) => return Err(malformed("chunk-size line too long")),
                Err(httparse::InvalidChunkSize) => return Err(malformed("bad chunk size")),
            }
        }
    }

    /// Reads the CRLF that ends a chunk's data.
    fn chunk_end(&mut self) -> io::Result<State> {
        while self.conn.buffered().len() < 2 {
            self.fill()?;
        }
        if &self.conn.buffered()[..2] != b"\r\n" {
            return Err(malformed("chunk data not followed by CRLF"));
        }
        self.conn.consume(2);
        Ok(State::ChunkSize)
    }

    /// Reads one trailer line (RFC 9112 section 7.1.2); trailer fields are dropped.
    /// The empty line ends the body.
    fn trailer(&mut self, so_far: usize) -> io::Result<State> {
        loop {
            let buffered = self.conn.buffered();
            if let Some(lf) = buffered.iter().position(|&b| b == b'\n') {
                let empty = matches!(&buffered[..lf], b"" | b"\r");
                self.conn.consume(lf + 1);
                let total = so_far + lf + 1;
                return if empty {
                    Ok(State::Done)
                } else if total > MAX_HEAD {
                    Err(malformed("trailer section too large"))
                } else {
                    Ok(State::Trailers(total))
                };
            }
            if so_far + buffered.len() > MAX_HEAD {
                return Err(malformed("trailer section too large"));
            }
            self.fill()?;
        }
    }

    /// Reads up to `left` bytes of data (a body's or a chunk's) into `out`.
    fn data(&mut self, out: &mut [u8], left: u64) -> io::Result<u64> {
        let want = out.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        match self.conn.read_some(&mut out[..want])? {
            0 => Err(truncated()),
            n => Ok(n as u64),
        }
    }

    /// Reads more into the connection's buffer; the end of the stream here is a
    /// truncated body.
    fn fill(&mut self) -> io::Result<()> {
        match self.conn.fill()? {
            0 => Err(truncated()),
            _ => Ok(()),
        }
    }
}

impl<S: Read + Write> Read for Body<'_, S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.progress.send_continue {
            self.progress.send_continue = false;
            self.conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        loop {
            self.progress.state = match self.progress.state {
                State::Done => return Ok(0),
                State::Length(left) => {
                    let n = self.data(out, left)?;
                    self.progress.state = if n == left {
                        State::Done
                    } else {
                        State::Length(left - n)
                    };
                    return Ok(n as usize);
                }
                State::ChunkData(left) => {
                    let n = self.data(out, left)?;
                    self.progress.state = if n == left {
                        State::ChunkEnd
                    } else {
                        State::ChunkData(left - n)
                    };
                    return Ok(n as usize);
                }
                State::ChunkSize => self.chunk_size()?,
                State::ChunkEnd => self.chunk_end()?,
                State::Trailers(so_far) => self.trailer(so_far)?,
            };
        }
    }
}

/// A body that breaks the framing rules: the request is a 400.
fn malformed(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// A body cut short by the end of the stream.
fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "request body cut short")
}

#[cfg(test)]
mod tests {
    use super::super::conn::testing::Scripted;
    use super::*;

    /// Reads the body framed as `framing` from `input` (served `step` bytes per read,
    /// read `out` bytes at a time); returns it, what follows it, and what was written.
    fn decode(
        input: &[u8],
        framing: Framing,
        step: usize,
        out: usize,
    ) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let mut stream = Scripted::new(input, step);
        let mut conn = Conn::new(&mut stream);
        let mut body = Body::new(&mut conn, framing, false);
        let mut data = Vec::new();
        let mut buf = vec![0u8; out];
        loop {
            match body.read(&mut buf)? {
                0 => break,
                n => data.extend_from_slice(&buf[..n]),
            }
        }
        assert!(body.is_done());
        let mut rest = conn.buffered().to_vec();
        conn.consume(rest.len());
        let mut more = [0u8; 64];
        loop {
            match conn.read_some(&mut more)? {
                0 => break,
                n => rest.extend_from_slice(&more[..n]),
            }
        }
        Ok((data, rest))
    }

    const CHUNKED: &[u8] = b"5;name=value\r\nhello\r\n7\r\n, world\r\n1a ; x\r\n\
        abcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: yes\r\nAnother: one\r\n\r\nGET /next";

    #[test]
    fn chunked_bodies_decode_whatever_the_read_sizes() {
        for step in [1, 2, 3, 5, 16, 1000] {
            for out in [1, 4, 7, 64] {
                let (data, rest) = decode(CHUNKED, Framing::Chunked, step, out).unwrap();
                assert_eq!(
                    data, b"hello, worldabcdefghijklmnopqrstuvwxyz",
                    "{step}/{out}"
                );
                assert_eq!(rest, b"GET /next", "{step}/{out}");
            }
        }
    }

    #[test]
    fn uppercase_hex_and_no_trailers() {
        let (data, rest) = decode(b"A\r\n0123456789\r\n0\r\n\r\n", Framing::Chunked, 3, 4).unwrap();
        assert_eq!(data, b"0123456789");
        assert!(rest.is_empty());
    }

    #[test]
    fn content_length_bodies_stop_at_their_length() {
        let (data, rest) = decode(b"abcdefGET", Framing::Length(6), 4, 5).unwrap();
        assert_eq!(data, b"abcdef");
        assert_eq!(rest, b"GET");
        let (data, _) = decode(b"", Framing::None, 4, 5).unwrap();
        assert!(data.is_empty());
    }

    #[test]
    fn broken_chunking_is_invalid_data() {
        for bad in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhelloXX0\r\n\r\n",
            b"ffffffffffffffffffff\r\n",
        ] {
            let err = decode(bad, Framing::Chunked, 100, 100).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{bad:?}");
        }
        let long_line = [&b"5;"[..], &[b'x'; 2 * MAX_CHUNK_LINE][..], b"\r\n"].concat();
        let err = decode(&long_line, Framing::Chunked, 100, 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let long_trailer = [&b"0\r\nX: "[..], &[b'x'; MAX_HEAD][..], b"\r\n\r\n"].concat();
        let err = decode(&long_trailer, Framing::Chunked, 100, 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn truncated_bodies_are_unexpected_eof() {
        for (bad, framing) in [
            (&b"abc"[..], Framing::Length(4)),
            (b"5\r\nhel", Framing::Chunked),
            (b"5\r\nhello\r\n", Framing::Chunked),
            (b"0\r\nTrailer: x\r\n", Framing::Chunked),
        ] {
            let err = decode(bad, framing, 100, 100).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{bad:?}");
        }
    }

    #[test]
    fn continue_is_sent_once_before_the_first_read() {
        let mut stream = Scripted::new(b"abc", 10);
        let mut conn = Conn::new(&mut stream);
        let mut body = Body::new(&mut conn, Framing::Length(3), true);
        let mut buf = [0u8; 2];
        assert_eq!(body.read(&mut buf).unwrap(), 2);
        assert_eq!(body.read(&mut buf).unwrap(), 1);
        assert_eq!(body.read(&mut buf).unwrap(), 0);
        assert_eq!(stream.output, b"HTTP/1.1 100 Continue\r\n\r\n");
    }
}

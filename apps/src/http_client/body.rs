//! A response body as a [`Read`]er, framed as RFC 9112 section 6.3 says: by
//! `Content-Length`, by the chunked transfer coding (7.1, chunk sizes parsed by
//! `httparse::parse_chunk_size`, trailer fields kept), or by the server closing the
//! connection.
//!
//! A body that ends early is an `UnexpectedEof` error, never a short success: a
//! download cut off after 900 KB of a megabyte must not look complete. Malformed
//! framing is `InvalidData`.

use std::io::{self, BufRead, Read};

use super::response::{headers_of, read_section, Header, ResponseHead, MAX_HEAD, MAX_HEADERS};
use super::Error;

/// The longest chunk-size line accepted (size, extensions and CRLF).
const MAX_CHUNK_LINE: u64 = 4096;

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (1xx, 204, 304).
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Everything until the server closes the connection.
    Close,
}

impl Framing {
    /// The framing of the body that follows `head`, in a response to a GET (RFC 9112
    /// 6.3). A transfer coding other than chunked, or a `Content-Length` that is not
    /// one number, is an error: the body could not be read correctly.
    pub fn of(head: &ResponseHead) -> Result<Framing, Error> {
        if (100..200).contains(&head.status) || head.status == 204 || head.status == 304 {
            return Ok(Framing::Empty);
        }
        // (6.3, 3) Transfer-Encoding overrides Content-Length.
        let mut codings = Vec::new();
        for value in head.values("transfer-encoding") {
            let value = String::from_utf8_lossy(value);
            let listed = value.split(',').map(|c| c.trim().to_ascii_lowercase());
            codings.extend(listed.filter(|c| !c.is_empty()));
        }
        if !codings.is_empty() {
            // We send no TE header, so a server may apply only chunked (RFC 9112 7.4),
            // and only once (7.1).
            if let Some(other) = codings.iter().find(|c| *c != "chunked") {
                return Err(Error::Malformed(format!(
                    "the server used transfer coding {other:?}, which netstack does not decode"
                )));
            }
            if codings.len() > 1 {
                return Err(Error::Malformed("chunked applied more than once".into()));
            }
            return Ok(Framing::Chunked);
        }
        // (6.3, 5) Every Content-Length value, comma lists included, must agree.
        let mut length = None;
        for value in head.values("content-length") {
            for item in value.split(|&b| b == b',') {
                let item = item.trim_ascii();
                let parsed = std::str::from_utf8(item)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok());
                match (parsed, length) {
                    (Some(n), None) => length = Some(n),
                    (Some(n), Some(m)) if n == m => {}
                    _ => {
                        return Err(Error::Malformed(format!(
                            "invalid Content-Length {:?}",
                            String::from_utf8_lossy(value)
                        )))
                    }
                }
            }
        }
        Ok(length.map_or(Framing::Close, Framing::Length))
    }
}

/// A response body: read it to the end to get exactly the bytes the server sent.
#[derive(Debug)]
pub struct Body<R> {
    reader: R,
    state: State,
    /// The length the server announced, if it did.
    length: Option<u64>,
    /// Body bytes returned so far.
    received: u64,
    trailers: Vec<Header>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// `Content-Length`: this many bytes of `total` are still to come.
    Length { remaining: u64, total: u64 },
    /// Chunked: expecting a chunk-size line.
    ChunkSize,
    /// Chunked: inside a chunk's data.
    ChunkData { remaining: u64 },
    /// Chunked: expecting the CRLF after a chunk's data.
    ChunkEnd,
    /// Until the end of the stream.
    Close,
    /// The body is complete.
    Done,
}

impl<R: BufRead> Body<R> {
    /// The body framed by `framing`, from `reader` positioned just after the head.
    pub fn new(reader: R, framing: Framing) -> Body<R> {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(total) => State::Length {
                remaining: total,
                total,
            },
            Framing::Chunked => State::ChunkSize,
            Framing::Close => State::Close,
        };
        let length = match framing {
            Framing::Empty => Some(0),
            Framing::Length(total) => Some(total),
            Framing::Chunked | Framing::Close => None,
        };
        Body {
            reader,
            state,
            length,
            received: 0,
            trailers: Vec::new(),
        }
    }

    /// The body's length when the server announced it (`Content-Length`).
    pub fn announced_len(&self) -> Option<u64> {
        self.length
    }

    /// Whether the body has been read to its end.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes read so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The trailer fields of a chunked body (RFC 9112 7.1.2), once it has been read to
    /// the end.
    pub fn trailers(&self) -> &[Header] {
        &self.trailers
    }

    /// Reads at most `max` bytes of data into `buf`; the stream's end is an error
    /// described by `early`.
    fn read_data(
        &mut self,
        buf: &mut [u8],
        max: u64,
        early: impl FnOnce(u64) -> String,
    ) -> io::Result<usize> {
        let len = buf.len().min(usize::try_from(max).unwrap_or(usize::MAX));
        let n = self.reader.read(&mut buf[..len])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                early(self.received),
            ));
        }
        self.received += n as u64;
        Ok(n)
    }

    /// Reads a chunk-size line and moves to its data, or to the trailers and the end.
    fn read_chunk_size(&mut self) -> io::Result<()> {
        let mut line = Vec::new();
        (&mut self.reader)
            .take(MAX_CHUNK_LINE)
            .read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\n") {
            return Err(if line.len() as u64 >= MAX_CHUNK_LINE {
                invalid("a chunk-size line is too long")
            } else {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection closed before the last chunk",
                )
            });
        }
        // RFC 9112 2.2: a bare LF may end a line; httparse wants CRLF.
        if !line.ends_with(b"\r\n") {
            line.insert(line.len() - 1, b'\r');
        }
        // httparse accepts an empty size ("\r\n") as 0: the grammar wants a hex digit.
        let size = match httparse::parse_chunk_size(&line) {
            Ok(httparse::Status::Complete((_, size))) if line[0].is_ascii_hexdigit() => size,
            _ => {
                return Err(invalid(format!(
                    "invalid chunk-size line {:?}",
                    String::from_utf8_lossy(&line).trim_end()
                )))
            }
        };
        if size > 0 {
            self.state = State::ChunkData { remaining: size };
            return Ok(());
        }
        // The last chunk: then the trailer section, ended by an empty line.
        let section = read_section(&mut self.reader, MAX_HEAD, false, "trailer section")?
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection closed before the end of the chunked body",
                )
            })?;
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::parse_headers(&section, &mut headers) {
            Ok(httparse::Status::Complete((_, fields))) => self.trailers = headers_of(fields),
            _ => return Err(invalid("malformed trailer section")),
        }
        self.state = State::Done;
        Ok(())
    }

    /// Reads the CRLF that ends a chunk's data.
    fn read_chunk_end(&mut self) -> io::Result<()> {
        let mut crlf = Vec::new();
        (&mut self.reader).take(2).read_until(b'\n', &mut crlf)?;
        match crlf.as_slice() {
            b"\r\n" | b"\n" => {
                self.state = State::ChunkSize;
                Ok(())
            }
            [] | b"\r" => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed in the middle of the chunked body",
            )),
            _ => Err(invalid("chunk data is longer than its chunk size")),
        }
    }
}

impl<R: BufRead> Read for Body<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::Close => {
                    let n = self.reader.read(buf)?;
                    if n == 0 {
                        self.state = State::Done;
                    }
                    self.received += n as u64;
                    return Ok(n);
                }
                State::Length { remaining, total } => {
                    let n = self.read_data(buf, remaining, |got| {
                        format!("the connection closed after {got} of {total} body bytes")
                    })?;
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 {
                        State::Done
                    } else {
                        State::Length { remaining, total }
                    };
                    return Ok(n);
                }
                State::ChunkData { remaining } => {
                    let n = self.read_data(buf, remaining, |got| {
                        format!("the connection closed in the middle of a chunk, after {got} body bytes")
                    })?;
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 {
                        State::ChunkEnd
                    } else {
                        State::ChunkData { remaining }
                    };
                    return Ok(n);
                }
                State::ChunkSize => self.read_chunk_size()?,
                State::ChunkEnd => self.read_chunk_end()?,
            }
        }
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: u16, headers: &[(&str, &str)]) -> ResponseHead {
        ResponseHead {
            minor_version: 1,
            status,
            reason: String::new(),
            headers: headers
                .iter()
                .map(|(name, value)| Header {
                    name: name.to_string(),
                    value: value.as_bytes().to_vec(),
                })
                .collect(),
        }
    }

    /// The body of `wire` framed by `framing`, read `piece` bytes at a time through a
    /// small buffer (so every state is entered at awkward boundaries), with what is
    /// left in the stream after it.
    fn read_body(
        wire: &[u8],
        framing: Framing,
        piece: usize,
    ) -> (io::Result<Vec<u8>>, Body<io::BufReader<&[u8]>>) {
        let mut body = Body::new(io::BufReader::with_capacity(5, wire), framing);
        let mut out = Vec::new();
        let mut buf = vec![0; piece];
        loop {
            match body.read(&mut buf) {
                Ok(0) => return (Ok(out), body),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (Err(e), body),
            }
        }
    }

    fn rest(body: Body<io::BufReader<&[u8]>>) -> Vec<u8> {
        let mut rest = Vec::new();
        body.reader.take(u64::MAX).read_to_end(&mut rest).unwrap();
        rest
    }

    #[track_caller]
    fn error(result: io::Result<Vec<u8>>, kind: io::ErrorKind, words: &str) {
        match result {
            Err(e) => {
                assert_eq!(e.kind(), kind, "{e}");
                assert!(e.to_string().contains(words), "{e:?} lacks {words:?}");
            }
            Ok(body) => panic!("read {} bytes instead of failing", body.len()),
        }
    }

    #[test]
    fn framing_follows_rfc_9112_section_6_3() {
        use Framing::*;
        type Fields = &'static [(&'static str, &'static str)];
        let cases: &[(u16, Fields, Framing)] = &[
            (200, &[], Close),
            (200, &[("Content-Length", "10")], Length(10)),
            (200, &[("content-length", "0")], Length(0)),
            (
                200,
                &[("Content-Length", "7, 7"), ("Content-Length", "7")],
                Length(7),
            ),
            (200, &[("Transfer-Encoding", "chunked")], Chunked),
            (
                200,
                &[("Transfer-Encoding", "Chunked"), ("Content-Length", "3")],
                Chunked,
            ),
            (204, &[("Content-Length", "10")], Empty),
            (304, &[("Transfer-Encoding", "chunked")], Empty),
            (404, &[("Content-Length", "9")], Length(9)),
        ];
        for (status, headers, expected) in cases {
            let framing = Framing::of(&head(*status, headers)).unwrap();
            assert_eq!(framing, *expected, "{status} {headers:?}");
        }
        for headers in [
            &[("Content-Length", "7, 8")][..],
            &[("Content-Length", "7"), ("Content-Length", "8")],
            &[("Content-Length", "-1")],
            &[("Content-Length", "+5")],
            &[("Content-Length", "")],
            &[("Content-Length", "99999999999999999999999")],
            &[("Transfer-Encoding", "gzip, chunked")],
            &[("Transfer-Encoding", "chunked, chunked")],
        ] {
            let err = Framing::of(&head(200, headers)).unwrap_err();
            assert!(matches!(err, Error::Malformed(_)), "{headers:?}: {err:?}");
        }
    }

    #[test]
    fn content_length_bodies_stop_at_the_length_and_catch_truncation() {
        for piece in [1, 3, 4096] {
            let (body, rest_of) = read_body(b"0123456789extra", Framing::Length(10), piece);
            assert_eq!(body.unwrap(), b"0123456789");
            assert_eq!(
                rest(rest_of),
                b"extra",
                "the body reads no further than its length"
            );
        }
        let (body, _) = read_body(b"0123", Framing::Length(10), 3);
        error(
            body,
            io::ErrorKind::UnexpectedEof,
            "after 4 of 10 body bytes",
        );
        let (body, reader) = read_body(b"anything", Framing::Empty, 8);
        assert_eq!(body.unwrap(), b"");
        assert_eq!(reader.announced_len(), Some(0));
    }

    #[test]
    fn close_delimited_bodies_run_to_the_end_of_the_stream() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for piece in [1, 7, 65536] {
            let (body, reader) = read_body(&data, Framing::Close, piece);
            assert_eq!(body.unwrap(), data);
            assert!(reader.is_done());
            assert_eq!((reader.received(), reader.announced_len()), (10_000, None));
        }
        let (body, _) = read_body(b"", Framing::Close, 8);
        assert_eq!(body.unwrap(), b"");
    }

    #[test]
    fn chunked_bodies_with_extensions_and_trailers() {
        let wire = b"5\r\nhello\r\n1;name=value\r\n,\r\nA \r\n world!!!!\r\n\
                     00D\r\n twelve bytes\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\nnext";
        for piece in [1, 2, 5, 100] {
            let (body, reader) = read_body(wire, Framing::Chunked, piece);
            assert_eq!(
                body.unwrap(),
                b"hello, world!!!! twelve bytes",
                "piece {piece}"
            );
            assert_eq!(reader.trailers().len(), 2);
            assert_eq!(reader.trailers()[0].name, "X-Checksum");
            assert_eq!(reader.trailers()[0].value, b"abc");
            assert_eq!(
                rest(reader),
                b"next",
                "nothing after the trailers is consumed"
            );
        }
        // No trailers; bare-LF line ends, which RFC 9112 2.2 lets a recipient accept.
        let (body, reader) = read_body(b"3\nabc\n0\n\n", Framing::Chunked, 10);
        assert_eq!(body.unwrap(), b"abc");
        assert!(reader.trailers().is_empty() && reader.is_done());
    }

    #[test]
    fn broken_chunked_bodies_are_errors_not_short_successes() {
        use io::ErrorKind::{InvalidData, UnexpectedEof};
        for (wire, kind, words) in [
            (
                &b"5\r\nhel"[..],
                UnexpectedEof,
                "middle of a chunk, after 3 body bytes",
            ),
            (b"5\r\nhello", UnexpectedEof, "middle of the chunked body"),
            (b"5\r\nhello\r\n", UnexpectedEof, "before the last chunk"),
            (
                b"5\r\nhello\r\n0\r\n",
                UnexpectedEof,
                "before the end of the chunked body",
            ),
            (
                b"5\r\nhello\r\n0\r\nX-A: b\r\n",
                UnexpectedEof,
                "middle of the trailer",
            ),
            (b"", UnexpectedEof, "before the last chunk"),
            (
                b"5\r\nhello!\r\n0\r\n\r\n",
                InvalidData,
                "longer than its chunk size",
            ),
            (
                b"zz\r\nhello\r\n",
                InvalidData,
                "invalid chunk-size line \"zz\"",
            ),
            (b"\r\n", InvalidData, "invalid chunk-size line"),
            (b"-5\r\n", InvalidData, "invalid chunk-size line"),
            (b"5 6\r\n", InvalidData, "invalid chunk-size line"),
            (
                b"11111111111111111\r\n",
                InvalidData,
                "invalid chunk-size line",
            ),
            (
                b"0\r\nBad Trailer\r\n\r\n",
                InvalidData,
                "malformed trailer",
            ),
        ] {
            let (body, _) = read_body(wire, Framing::Chunked, 4);
            error(body, kind, words);
        }
        let long = [&[b'1'; 5000][..], b"\r\n"].concat();
        let (body, _) = read_body(&long, Framing::Chunked, 4);
        error(body, InvalidData, "too long");
    }
}

//! A response's head: the status line and the header fields (RFC 9112 section 4 and
//! 5), read from the connection line by line and parsed by `httparse::Response`.
//!
//! Reading stops exactly at the blank line that ends the head, so what remains in the
//! reader is the body. The head is limited to [`MAX_HEAD`] bytes and [`MAX_HEADERS`]
//! fields; a server that sends more is refused rather than buffered without end.

use std::io::{self, BufRead, Read};

use super::Error;

/// The largest response head accepted, in bytes.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header fields accepted in one head (or one trailer section).
pub const MAX_HEADERS: usize = 128;

/// A status line and its header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The minor version of `HTTP/1.x`.
    pub minor_version: u8,
    /// The status code, 100 to 999.
    pub status: u16,
    /// The reason phrase, possibly empty.
    pub reason: String,
    /// The header fields in the order received.
    pub headers: Vec<Header>,
}

/// One header (or trailer) field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The field name as sent.
    pub name: String,
    /// The field value's bytes (not necessarily UTF-8).
    pub value: Vec<u8>,
}

impl ResponseHead {
    /// The status line as a user would want to see it: `HTTP/1.1 200 OK`.
    pub fn status_line(&self) -> String {
        let mut line = format!("HTTP/1.{} {}", self.minor_version, self.status);
        if !self.reason.is_empty() {
            line.push(' ');
            line.push_str(&self.reason);
        }
        line
    }

    /// Every value of the field `name` (case-insensitive), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    /// The first value of the field `name` as text, if it is UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        let field = self
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))?;
        std::str::from_utf8(&field.value).ok()
    }

    /// Whether the status asks the client to go elsewhere for a GET (RFC 9110 15.4:
    /// 301, 302, 303, 307, 308).
    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }
}

/// Reads one response head from `reader`, leaving the reader at the first byte of the
/// body. Interim 1xx responses (RFC 9110 15.2) are skipped.
pub fn read_head(reader: &mut impl BufRead) -> Result<ResponseHead, Error> {
    loop {
        let head = read_one_head(reader)?;
        // 101 Switching Protocols would change the protocol; we never ask for that.
        if (100..200).contains(&head.status) && head.status != 101 {
            continue;
        }
        return Ok(head);
    }
}

fn read_one_head(reader: &mut impl BufRead) -> Result<ResponseHead, Error> {
    let mut buf = read_section(reader, MAX_HEAD, true, "response head")
        .map_err(Error::Receive)?
        .ok_or_else(|| {
            Error::Malformed("the server closed the connection without a response".into())
        })?;
    // RFC 9112 2.2: tolerate empty lines before the status line.
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    buf.drain(..start);

    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(Error::Malformed("incomplete response head".into()))
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Error::Malformed(format!(
                "more than {MAX_HEADERS} header fields in the response"
            )))
        }
        Err(e) => return Err(Error::Malformed(format!("malformed response head: {e}"))),
    }
    // Complete means httparse found the version, the code and the reason.
    let (Some(minor_version), Some(status)) = (response.version, response.code) else {
        return Err(Error::Malformed("incomplete status line".into()));
    };
    Ok(ResponseHead {
        minor_version,
        status,
        reason: response.reason.unwrap_or_default().to_string(),
        headers: headers_of(response.headers),
    })
}

/// The parsed fields as owned [`Header`]s.
pub(crate) fn headers_of(parsed: &[httparse::Header<'_>]) -> Vec<Header> {
    parsed
        .iter()
        .map(|h| Header {
            name: h.name.to_string(),
            value: h.value.to_vec(),
        })
        .collect()
}

/// Reads lines up to and including the first empty one (`\r\n` or `\n`) and returns
/// every byte read, or `None` if the stream ended before the first byte. With
/// `skip_leading_blank`, empty lines before the first non-empty one do not count (a
/// head); without, the first empty line ends the section (trailers, which may be none).
/// More than `limit` bytes, or an end of stream in the middle, is an error naming `what`.
pub(crate) fn read_section(
    reader: &mut impl BufRead,
    limit: usize,
    skip_leading_blank: bool,
    what: &str,
) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut seen_text = !skip_leading_blank;
    loop {
        let before = buf.len();
        let room = (limit - before) as u64;
        let n = reader.take(room).read_until(b'\n', &mut buf)?;
        if n == 0 && before == 0 {
            return Ok(None);
        }
        if n == 0 || !buf.ends_with(b"\n") {
            return Err(if buf.len() >= limit {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the {what} is longer than {limit} bytes"),
                )
            } else {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the connection closed in the middle of the {what}"),
                )
            });
        }
        let line = &buf[before..];
        let blank = line == b"\r\n" || line == b"\n";
        if blank && seen_text {
            return Ok(Some(buf));
        }
        seen_text |= !blank;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &[u8]) -> Result<(ResponseHead, Vec<u8>), Error> {
        let mut reader = io::BufReader::with_capacity(7, text);
        let head = read_head(&mut reader)?;
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        Ok((head, rest))
    }

    #[test]
    fn status_line_and_headers() {
        let (h, rest) =
            head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Two: a\r\nx-two: b\r\n\r\nhello")
                .unwrap();
        assert_eq!(
            (h.minor_version, h.status, h.reason.as_str()),
            (1, 200, "OK")
        );
        assert_eq!(h.status_line(), "HTTP/1.1 200 OK");
        assert_eq!(h.get("content-length"), Some("5"));
        assert_eq!(h.values("X-TWO").collect::<Vec<_>>(), [&b"a"[..], b"b"]);
        assert_eq!(h.get("missing"), None);
        assert!(!h.is_redirect());
        assert_eq!(rest, b"hello", "the body is left in the reader");
    }

    #[test]
    fn lenient_where_rfc_9112_allows() {
        // Bare LF line endings, an empty reason, a leading blank line, HTTP/1.0.
        let (h, rest) = head(b"\r\nHTTP/1.0 404 \nServer: x\n\nbody").unwrap();
        assert_eq!((h.minor_version, h.status, h.reason.as_str()), (0, 404, ""));
        assert_eq!(h.status_line(), "HTTP/1.0 404");
        assert_eq!(rest, b"body");
        // A redirect, after an interim 100 Continue that is skipped.
        let (h, _) =
            head(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n")
                .unwrap();
        assert_eq!(h.status, 302);
        assert!(h.is_redirect());
        assert_eq!(h.get("location"), Some("/x"));
    }

    #[test]
    fn broken_heads_are_errors_not_panics() {
        let malformed = |text: &[u8]| match head(text) {
            Err(Error::Malformed(why)) => why,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(text)),
        };
        assert!(malformed(b"").contains("without a response"));
        assert!(malformed(b"SSH-2.0-OpenSSH\r\n\r\n").contains("malformed"));
        assert!(malformed(b"HTTP/1.1 2000 OK\r\n\r\n").contains("malformed"));
        assert!(malformed(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n").contains("malformed"));
        let many: Vec<u8> = [&b"HTTP/1.1 200 OK\r\n"[..]]
            .into_iter()
            .chain(std::iter::repeat_n(&b"A: b\r\n"[..], MAX_HEADERS + 1))
            .chain([&b"\r\n"[..]])
            .flatten()
            .copied()
            .collect();
        assert!(malformed(&many).contains("more than"));

        let receive = |text: &[u8]| match head(text) {
            Err(Error::Receive(e)) => e,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(text)),
        };
        let e = receive(b"HTTP/1.1 200 OK\r\nContent-Len");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let huge = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &[b'a'; MAX_HEAD]].concat();
        assert_eq!(receive(&huge).kind(), io::ErrorKind::InvalidData);
    }
}

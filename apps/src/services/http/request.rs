//! Reading a request head (RFC 9112 sections 2-3) from a connection and parsing it with
//! httparse, within limits, into what the service needs to know: method, target,
//! version, how the body is framed (section 6), and whether the connection persists
//! (section 9.3).

#[cfg(test)]
use std::io::{self, Read, Write};

#[cfg(test)]
use super::conn::Conn;
use super::response::Status;

/// The largest head accepted: request line and header fields, with their line ends.
/// A head that does not end within it is 414 (when even the request line does not end)
/// or 431.
pub const MAX_HEAD: usize = 8 * 1024;

/// The most header fields accepted; more is 431.
pub const MAX_HEADERS: usize = 64;

/// How the request's body is framed (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Neither Content-Length nor Transfer-Encoding: no body.
    None,
    /// Content-Length: exactly this many bytes.
    Length(u64),
    /// Transfer-Encoding: chunked.
    Chunked,
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method, case-sensitive ("GET").
    pub method: String,
    /// The request target as sent ("/bytes/10?x=1", or absolute-form).
    pub target: String,
    /// True for HTTP/1.0, false for HTTP/1.1.
    pub http10: bool,
    /// How the body is framed.
    pub framing: Framing,
    /// `Expect: 100-continue` from an HTTP/1.1 client: send 100 before reading the body.
    pub expect_continue: bool,
    /// Whether the client lets the connection persist after the response.
    pub keep_alive: bool,
}

impl Request {
    /// The path of the target, without query: "/bytes/10". For absolute-form
    /// ("http://host/path", RFC 9112 section 3.2.2) the scheme and authority are dropped.
    pub fn path(&self) -> &str {
        let mut target = self.target.as_str();
        if let Some(rest) = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))
        {
            target = rest.find('/').map_or("/", |slash| &rest[slash..]);
        }
        target.split(['?', '#']).next().unwrap_or(target)
    }

    /// Whether a body follows the head (a Content-Length of 0 is no body).
    pub fn has_body(&self) -> bool {
        !matches!(self.framing, Framing::None | Framing::Length(0))
    }
}

/// Looks for a complete request head at the start of `buffered`, without reading.
/// `Ok(Some((len, request)))`: the head is the first `len` bytes. `Ok(None)`: it is not
/// complete yet, read more. `Err(status)`: reject the request with `status`, then close
/// (a malformed head, or none within [`MAX_HEAD`] bytes).
pub fn try_head(buffered: &[u8]) -> Result<Option<(usize, Request)>, Status> {
    let mut from = 0;
    while let Some(end) = find_head_end(buffered, from) {
        if end > MAX_HEAD {
            return Err(too_large(buffered));
        }
        if let Some(found) = parse(&buffered[..end])? {
            return Ok(Some(found));
        }
        // Only empty lines so far (RFC 9112 section 2.2 lets a server skip them before
        // a request line): look further. `end - 1` is past the LF found.
        from = end - 1;
    }
    if buffered.len() >= MAX_HEAD {
        return Err(too_large(buffered));
    }
    Ok(None)
}

/// Whether `buffered` holds nothing but the empty lines a client may send between
/// requests: a connection ending here ends quietly.
pub fn nothing_yet(buffered: &[u8]) -> bool {
    buffered.iter().all(|b| matches!(b, b'\r' | b'\n'))
}

/// Why no request came.
#[cfg(test)]
#[derive(Debug)]
pub enum HeadError {
    /// The head is unacceptable: answer with this status, then close.
    Reject(Status),
    /// The connection failed (reset, timeout in the middle of a head).
    Io(io::Error),
}

/// Reads the next request head from a blocking `conn` and consumes it, leaving any body
/// bytes buffered: the unit tests drive [`try_head`] with it. `Ok(None)` when the client
/// closed or went idle (the read timed out) before sending anything.
#[cfg(test)]
pub fn read_head<S: Read + Write>(conn: &mut Conn<S>) -> Result<Option<Request>, HeadError> {
    loop {
        if let Some((len, request)) = try_head(conn.buffered()).map_err(HeadError::Reject)? {
            conn.consume(len);
            return Ok(Some(request));
        }
        let result = conn.fill();
        match result {
            Ok(0) if nothing_yet(conn.buffered()) => return Ok(None),
            // The client closed in the middle of a head.
            Ok(0) => return Err(HeadError::Reject(Status::BadRequest)),
            Ok(_) => {}
            // The idle timeout between requests.
            Err(e) if is_timeout(&e) && nothing_yet(conn.buffered()) => return Ok(None),
            Err(e) => return Err(HeadError::Io(e)),
        }
    }
}

/// An expired read timeout: `WouldBlock` from the facade (as std on Linux), or `TimedOut`.
#[cfg(test)]
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Where the head ends (just past its empty line, CRLF or bare LF as RFC 9112 section
/// 2.2 allows), looking at line feeds from `buf[from]` on.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(offset) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let lf = i + offset;
        match buf.get(lf + 1..) {
            Some([b'\n', ..]) => return Some(lf + 2),
            Some([b'\r', b'\n', ..]) => return Some(lf + 3),
            _ => i = lf + 1,
        }
    }
    None
}

/// 414 when the request line alone does not end within the limit, 431 otherwise.
fn too_large(buf: &[u8]) -> Status {
    let head = &buf[..buf.len().min(MAX_HEAD)];
    let content = head
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(head.len());
    if head[content..].contains(&b'\n') {
        Status::HeaderFieldsTooLarge
    } else {
        Status::UriTooLong
    }
}

/// Parses a complete head. `Ok(None)` if httparse wants more (only empty lines so far).
fn parse(head: &[u8]) -> Result<Option<(usize, Request)>, Status> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut fields);
    let len = match parsed.parse(head) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Status::HeaderFieldsTooLarge),
        Err(_) => return Err(Status::BadRequest),
    };
    // A complete parse fills these in.
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(Status::BadRequest);
    };
    let http10 = version == 0;
    let fields = Fields::gather(parsed.headers)?;
    // RFC 9112 section 3.2: an HTTP/1.1 request without exactly one Host is a 400.
    if !http10 && fields.hosts != 1 {
        return Err(Status::BadRequest);
    }
    let framing = match (fields.content_length, fields.chunked) {
        // RFC 9112 section 6.3 allows processing by Transfer-Encoding alone, but a
        // request carrying both is a classic request-smuggling vector: refuse it.
        (Some(_), true) => return Err(Status::BadRequest),
        (Some(n), false) => Framing::Length(n),
        (None, true) => Framing::Chunked,
        (None, false) => Framing::None,
    };
    let keep_alive = if http10 {
        fields.keep_alive && !fields.close
    } else {
        !fields.close
    };
    Ok(Some((
        len,
        Request {
            method: method.to_string(),
            target: target.to_string(),
            http10,
            framing,
            // RFC 9110 section 10.1.1: a 100 is never sent to an HTTP/1.0 client.
            expect_continue: fields.expect_continue && !http10,
            keep_alive,
        },
    )))
}

/// What the header fields say, as far as the service cares.
#[derive(Default)]
struct Fields {
    hosts: usize,
    content_length: Option<u64>,
    chunked: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

impl Fields {
    fn gather(headers: &[httparse::Header<'_>]) -> Result<Fields, Status> {
        let mut fields = Fields::default();
        for header in headers {
            let name = header.name;
            let value = std::str::from_utf8(header.value).map_err(|_| Status::BadRequest)?;
            if name.eq_ignore_ascii_case("host") {
                fields.hosts += 1;
            } else if name.eq_ignore_ascii_case("content-length") {
                let n = content_length(value)?;
                // Repeated Content-Length fields must agree (RFC 9112 section 6.3).
                if fields.content_length.is_some_and(|m| m != n) {
                    return Err(Status::BadRequest);
                }
                fields.content_length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                for coding in list(value) {
                    // RFC 9112 section 6.3: chunked must be the final coding, and only once.
                    if fields.chunked {
                        return Err(Status::BadRequest);
                    }
                    if !coding.eq_ignore_ascii_case("chunked") {
                        // RFC 9112 section 6.1: an unknown transfer coding is a 501.
                        return Err(Status::NotImplemented);
                    }
                    fields.chunked = true;
                }
            } else if name.eq_ignore_ascii_case("connection") {
                for option in list(value) {
                    fields.close |= option.eq_ignore_ascii_case("close");
                    fields.keep_alive |= option.eq_ignore_ascii_case("keep-alive");
                }
            } else if name.eq_ignore_ascii_case("expect") {
                // RFC 9110 section 10.1.1: 100-continue is the only expectation defined.
                if !value.trim().eq_ignore_ascii_case("100-continue") {
                    return Err(Status::ExpectationFailed);
                }
                fields.expect_continue = true;
            }
        }
        Ok(fields)
    }
}

/// The non-empty elements of a comma-separated field value.
fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// A Content-Length value: 1*DIGIT (RFC 9110 section 8.6), nothing else.
fn content_length(value: &str) -> Result<u64, Status> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Status::BadRequest);
    }
    value.parse().map_err(|_| Status::BadRequest)
}

#[cfg(test)]
mod tests {
    use super::super::conn::testing::Scripted;
    use super::*;

    /// Reads one head from `input`, served `step` bytes per read.
    fn read(input: &[u8], step: usize) -> Result<Option<Request>, Status> {
        let mut stream = Scripted::new(input, step);
        let mut conn = Conn::new(&mut stream);
        read_head(&mut conn).map_err(|e| match e {
            HeadError::Reject(status) => status,
            HeadError::Io(e) => panic!("i/o error {e}"),
        })
    }

    #[track_caller]
    fn ok(input: &str) -> Request {
        read(input.as_bytes(), 7).unwrap().expect("a request")
    }

    #[track_caller]
    fn rejected(input: &[u8]) -> Status {
        read(input, 1000).expect_err("rejected")
    }

    #[test]
    fn a_get_is_parsed_byte_by_byte_and_the_body_is_left_buffered() {
        let input = b"GET /bytes/5?x=1 HTTP/1.1\r\nHost: a\r\n\r\nBODY";
        let mut stream = Scripted::new(input, 1);
        let mut conn = Conn::new(&mut stream);
        let request = read_head(&mut conn).unwrap().unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.path(), "/bytes/5");
        assert!(!request.http10 && request.keep_alive && !request.has_body());
        let mut rest = conn.buffered().to_vec();
        while conn.fill().unwrap() > 0 {
            rest = conn.buffered().to_vec();
        }
        assert_eq!(rest, b"BODY");
    }

    #[test]
    fn bare_lf_and_leading_empty_lines_are_accepted() {
        let request = ok("\r\n\r\nPOST /sha256 HTTP/1.1\nHost: a\nContent-Length: 3\n\n");
        assert_eq!(request.framing, Framing::Length(3));
        assert_eq!(request.path(), "/sha256");
    }

    #[test]
    fn absolute_form_targets_give_their_path() {
        assert_eq!(
            ok("GET http://10.0.0.2/bytes/1 HTTP/1.1\r\nHost: x\r\n\r\n").path(),
            "/bytes/1"
        );
        assert_eq!(
            ok("GET http://10.0.0.2 HTTP/1.1\r\nHost: x\r\n\r\n").path(),
            "/"
        );
    }

    #[test]
    fn persistence_follows_version_and_connection() {
        assert!(!ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!ok("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(
            ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, keep-alive\r\n\r\n").keep_alive
        );
    }

    #[test]
    fn framing_and_expect() {
        let r = ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-Continue\r\n\r\n");
        assert_eq!(r.framing, Framing::Chunked);
        assert!(r.expect_continue && r.has_body());
        let r = ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n");
        assert!(!r.has_body());
        assert!(!ok("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue);
    }

    #[test]
    fn malformed_heads_are_400() {
        for bad in [
            &b"GET / HTTP/1.1\r\n\r\n"[..], // no Host
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            b"GARBAGE\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHo", // the client closed mid-head
        ] {
            assert_eq!(rejected(bad), Status::BadRequest, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn unknown_codings_and_expectations() {
        let gzip = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        assert_eq!(rejected(gzip), Status::NotImplemented);
        let expect = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n";
        assert_eq!(rejected(expect), Status::ExpectationFailed);
    }

    #[test]
    fn a_head_of_exactly_the_limit_is_accepted_and_one_byte_more_is_431() {
        let head = |len: usize| {
            let start = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
            let pad = len - start.len() - 4;
            format!("{start}{}\r\n\r\n", "p".repeat(pad)).into_bytes()
        };
        assert_eq!(head(MAX_HEAD).len(), MAX_HEAD);
        assert!(read(&head(MAX_HEAD), 1000).unwrap().is_some());
        assert_eq!(rejected(&head(MAX_HEAD + 1)), Status::HeaderFieldsTooLarge);
        // Without its end in sight, the head is refused once the limit is reached.
        let endless = [&head(MAX_HEAD)[..MAX_HEAD - 4], &[b'p'; 20000][..]].concat();
        assert_eq!(rejected(&endless), Status::HeaderFieldsTooLarge);
    }

    #[test]
    fn a_request_line_over_the_limit_is_414() {
        let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(rejected(long.as_bytes()), Status::UriTooLong);
    }

    #[test]
    fn more_than_64_fields_is_431() {
        let fields = |n: usize| {
            let mut head = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
            for i in 1..n {
                head.push_str(&format!("X-{i}: v\r\n"));
            }
            head + "\r\n"
        };
        assert!(read(fields(MAX_HEADERS).as_bytes(), 1000)
            .unwrap()
            .is_some());
        assert_eq!(
            rejected(fields(MAX_HEADERS + 1).as_bytes()),
            Status::HeaderFieldsTooLarge
        );
    }

    #[test]
    fn end_of_stream_before_a_request_is_a_quiet_close() {
        assert_eq!(read(b"", 10), Ok(None));
        assert_eq!(read(b"\r\n", 10), Ok(None));
    }

    #[test]
    fn the_end_of_the_head_is_found_across_reads() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for step in 1..input.len() {
            assert!(read(input, step).unwrap().is_some(), "step {step}");
        }
        for from in 0..input.len() - 2 {
            assert_eq!(find_head_end(input, from), Some(input.len()));
        }
        assert_eq!(find_head_end(b"\n\n\nGET", 0), Some(2));
        assert_eq!(find_head_end(b"\n\n\nGET", 1), Some(3));
        assert_eq!(find_head_end(b"\n\n\nGET", 2), None);
    }
}

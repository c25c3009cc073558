//! `POST /sha256`: the SHA-256 of the request body, in lowercase hex and a newline. The
//! body is hashed as it streams in (in the session, `session.rs`), so its size is not
//! limited. The tests here run a blocking version of the route over an in-memory
//! stream, to check body decoding and the answers.

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|&b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::conn::testing::Scripted;
    use std::io::{self, Read, Write};

    use sha2::{Digest, Sha256};

    use super::super::body::Body;
    use super::super::conn::Conn;
    use super::super::request::{Framing, Request};
    use super::super::response::{self, Head, Persist, Status};
    use super::*;

    /// Bytes read from the body at a time.
    const CHUNK: usize = 64 * 1024;

    /// Answers the POST on a blocking connection, as the session does without blocking.
    /// Returns whether the connection can carry another request: not
    /// after a malformed or truncated body, nor when `persist` says close.
    pub fn serve<S: Read + Write>(
        conn: &mut Conn<S>,
        request: &Request,
        persist: Persist,
    ) -> io::Result<bool> {
        if request.framing == Framing::None {
            // RFC 9110 section 15.5.12: we want the length (or chunked) up front.
            response::send_status(conn, Status::LengthRequired, persist, None, false)?;
            return Ok(persist != Persist::Close);
        }
        let mut body = Body::new(conn, request.framing, request.expect_continue);
        let digest = match hash(&mut body) {
            Ok(digest) => digest,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                response::send_status(conn, Status::BadRequest, Persist::Close, None, false)?;
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let text = format!("{}\n", hex(&digest));
        let head = Head {
            status: Status::Ok,
            content_type: "text/plain; charset=utf-8",
            content_length: text.len() as u64,
            persist,
            allow: None,
        };
        response::send(conn, &head, text.as_bytes(), false)?;
        Ok(persist != Persist::Close)
    }

    /// The SHA-256 of everything `body` yields.
    fn hash(body: &mut impl Read) -> io::Result<[u8; 32]> {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        loop {
            match body.read(&mut buf) {
                Ok(0) => return Ok(hasher.finalize().into()),
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The SHA-256 of "abc" (FIPS 180-2, appendix B.1).
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn post(input: &[u8], framing: Framing) -> (bool, String) {
        let mut stream = Scripted::new(input, 2);
        let request = Request {
            method: "POST".into(),
            target: "/sha256".into(),
            http10: false,
            framing,
            expect_continue: false,
            keep_alive: true,
        };
        let keep = serve(&mut Conn::new(&mut stream), &request, Persist::KeepAlive).unwrap();
        (keep, String::from_utf8(stream.output).unwrap())
    }

    #[test]
    fn hashes_length_and_chunked_bodies() {
        let (keep, out) = post(b"abc", Framing::Length(3));
        assert!(keep && out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.ends_with(&format!("\r\n\r\n{ABC}\n")), "{out}");
        let (keep, out) = post(
            b"1\r\na\r\n2;ext\r\nbc\r\n0\r\nT: 1\r\n\r\n",
            Framing::Chunked,
        );
        assert!(keep && out.ends_with(&format!("\r\n\r\n{ABC}\n")), "{out}");
    }

    #[test]
    fn bad_chunking_is_400_and_no_length_is_411() {
        let (keep, out) = post(b"q\r\n", Framing::Chunked);
        assert!(!keep && out.starts_with("HTTP/1.1 400 "), "{out}");
        assert!(out.contains("\r\nConnection: close\r\n"), "{out}");
        let (keep, out) = post(b"", Framing::None);
        assert!(keep && out.starts_with("HTTP/1.1 411 "), "{out}");
    }
}

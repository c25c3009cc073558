//! `GET /bytes/N`: exactly N bytes of a pattern a client can check without a copy,
//! byte i being i mod 251 (a prime, so the pattern does not line up with any buffer,
//! segment or page size), streamed from one shared buffer.

use std::sync::OnceLock;

/// The largest N served: 10^12 bytes (a terabyte); more is a 400.
pub const MAX_BYTES: u64 = 1_000_000_000_000;

/// The pattern's period.
const PERIOD: usize = 251;

/// Bytes handed to the connection per write.
pub const CHUNK: usize = 64 * 1024;

/// Byte `i` of the pattern.
pub fn pattern_byte(i: u64) -> u8 {
    (i % PERIOD as u64) as u8
}

/// The pattern from byte 0, one period longer than a chunk, so that the chunk starting
/// at any offset is one slice of it.
fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| (0..(CHUNK + PERIOD) as u64).map(pattern_byte).collect())
}

/// The pattern's bytes `offset..offset + len` (`len` at most one chunk).
///
/// # Panics
/// If `len` is over [`CHUNK`] (a caller bug).
pub fn slice(offset: u64, len: usize) -> &'static [u8] {
    assert!(len <= CHUNK, "pattern slices are at most one chunk");
    let start = (offset % PERIOD as u64) as usize;
    &pattern()[start..start + len]
}

/// N from the path's last segment: decimal digits only, at most [`MAX_BYTES`].
pub fn parse_count(segment: &str) -> Option<u64> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok().filter(|&n| n <= MAX_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, Read, Write};

    use super::super::conn::Conn;
    use super::super::response::{self, Head, Persist, Status};

    /// Answers `GET /bytes/<segment>` (or HEAD) on a blocking connection: the pattern, or
    /// 400 for a bad count, as the session does without blocking.
    pub fn serve<S: Read + Write>(
        conn: &mut Conn<S>,
        segment: &str,
        persist: Persist,
        head_only: bool,
    ) -> io::Result<()> {
        let Some(count) = parse_count(segment) else {
            return response::send_status(conn, Status::BadRequest, persist, None, head_only);
        };
        let head = Head {
            status: Status::Ok,
            content_type: "application/octet-stream",
            content_length: count,
            persist,
            allow: None,
        };
        conn.write_all(&head.encode())?;
        if head_only {
            return Ok(());
        }
        stream_pattern(count, |chunk| conn.write_all(chunk))
    }

    /// Hands `count` bytes of the pattern to `write`, one chunk at a time.
    fn stream_pattern(
        count: u64,
        mut write: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut sent = 0;
        while sent < count {
            let len = (count - sent).min(CHUNK as u64) as usize;
            write(slice(sent, len))?;
            sent += len as u64;
        }
        Ok(())
    }

    #[test]
    fn the_pattern_continues_across_chunk_boundaries() {
        let count = 3 * CHUNK as u64 + 1234;
        let mut got = Vec::new();
        let mut chunks = 0;
        stream_pattern(count, |chunk| {
            chunks += 1;
            got.extend_from_slice(chunk);
            Ok(())
        })
        .unwrap();
        assert_eq!(chunks, 4);
        assert_eq!(got.len() as u64, count);
        for (i, &b) in got.iter().enumerate() {
            assert_eq!(b, (i % 251) as u8, "byte {i}");
        }
    }

    #[test]
    fn slices_at_any_offset_match_the_formula() {
        for offset in [0u64, 1, 250, 251, 252, 65_535, 65_536, 10_000_000_000 - 7] {
            let s = slice(offset, CHUNK);
            assert_eq!(s.len(), CHUNK);
            assert!(s
                .iter()
                .enumerate()
                .all(|(i, &b)| b == pattern_byte(offset + i as u64)));
        }
    }

    #[test]
    fn counts_are_digits_up_to_a_terabyte() {
        assert_eq!(parse_count("0"), Some(0));
        assert_eq!(parse_count("10000000000"), Some(10_000_000_000));
        assert_eq!(parse_count("1000000000000"), Some(MAX_BYTES));
        for bad in [
            "",
            "1000000000001",
            "-1",
            "+1",
            "1e6",
            " 1",
            "abc",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_count(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn empty_and_head_responses() {
        use super::super::conn::testing::Scripted;
        let mut stream = Scripted::new(b"", 1);
        serve(&mut Conn::new(&mut stream), "0", Persist::KeepAlive, false).unwrap();
        let text = String::from_utf8(stream.output.clone()).unwrap();
        assert!(text.contains("Content-Length: 0\r\n") && text.ends_with("\r\n\r\n"));
        let mut stream = Scripted::new(b"", 1);
        serve(&mut Conn::new(&mut stream), "100", Persist::KeepAlive, true).unwrap();
        let text = String::from_utf8(stream.output.clone()).unwrap();
        assert!(text.contains("Content-Length: 100\r\n") && text.ends_with("\r\n\r\n"));
        let mut stream = Scripted::new(b"", 1);
        serve(&mut Conn::new(&mut stream), "x", Persist::KeepAlive, false).unwrap();
        assert!(stream.output.starts_with(b"HTTP/1.1 400 "));
    }
}

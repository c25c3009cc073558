//! Writing responses (RFC 9112 section 4 and 6): the status line and the header fields
//! every response carries, then the body. Every response has a Content-Length, so a
//! client always knows where it ends, even on a connection we close.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// The status codes the service answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 200.
    Ok,
    /// 400: the request is malformed.
    BadRequest,
    /// 404: no such path.
    NotFound,
    /// 405: the path exists, the method does not (sent with `Allow`).
    MethodNotAllowed,
    /// 411: a POST without Content-Length or chunked Transfer-Encoding.
    LengthRequired,
    /// 414: the request line alone exceeds the head's size limit.
    UriTooLong,
    /// 417: an Expect other than 100-continue.
    ExpectationFailed,
    /// 431: the header section exceeds the head's size limit, or has too many fields.
    HeaderFieldsTooLarge,
    /// 501: a transfer coding other than chunked.
    NotImplemented,
}

impl Status {
    /// The three-digit code.
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::LengthRequired => 411,
            Status::UriTooLong => 414,
            Status::ExpectationFailed => 417,
            Status::HeaderFieldsTooLarge => 431,
            Status::NotImplemented => 501,
        }
    }

    /// The reason phrase (RFC 9110 section 15; 431 is RFC 6585 section 5).
    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::BadRequest => "Bad Request",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::LengthRequired => "Length Required",
            Status::UriTooLong => "URI Too Long",
            Status::ExpectationFailed => "Expectation Failed",
            Status::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::NotImplemented => "Not Implemented",
        }
    }
}

/// What the response says about the connection (RFC 9112 section 9.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persist {
    /// HTTP/1.1's default: keep the connection, say nothing.
    KeepAlive,
    /// An HTTP/1.0 client that asked for keep-alive: say yes.
    KeepAlive10,
    /// We close the connection after this response: `Connection: close`.
    Close,
}

/// A response head: the status line and header fields, up to the empty line.
pub struct Head<'a> {
    /// The status.
    pub status: Status,
    /// The Content-Type of the body.
    pub content_type: &'a str,
    /// The body's length (also for HEAD, where the body is not sent).
    pub content_length: u64,
    /// Whether the connection stays open.
    pub persist: Persist,
    /// The methods the resource allows, for 405 responses.
    pub allow: Option<&'a str>,
}

impl Head<'_> {
    /// The head as bytes, ending with the empty line.
    pub fn encode(&self) -> Vec<u8> {
        let mut head = String::with_capacity(256);
        // Writing to a String cannot fail.
        let _ = write!(
            head,
            "HTTP/1.1 {} {}\r\nServer: netstack\r\nDate: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            self.status.code(),
            self.status.reason(),
            http_date(SystemTime::now()),
            self.content_type,
            self.content_length,
        );
        match self.persist {
            Persist::KeepAlive => {}
            Persist::KeepAlive10 => head.push_str("Connection: keep-alive\r\n"),
            Persist::Close => head.push_str("Connection: close\r\n"),
        }
        if let Some(allow) = self.allow {
            let _ = write!(head, "Allow: {allow}\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// Sends a response with a body held in memory, head and body in one write (one
/// segment for small responses); for HEAD (`head_only`) the body is left out.
pub fn send(
    conn: &mut impl Write,
    head: &Head<'_>,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    debug_assert_eq!(head.content_length, body.len() as u64);
    let mut out = head.encode();
    if !head_only {
        out.extend_from_slice(body);
    }
    conn.write_all(&out)
}

/// Sends a 200 OK with `body` of `content_type`, as [`send`] does.
pub fn send_ok(
    conn: &mut impl Write,
    content_type: &str,
    body: &[u8],
    persist: Persist,
    head_only: bool,
) -> io::Result<()> {
    let head = Head {
        status: Status::Ok,
        content_type,
        content_length: body.len() as u64,
        persist,
        allow: None,
    };
    send(conn, &head, body, head_only)
}

/// Sends `status` with a one-line text/plain body saying what it is, e.g. "404 Not Found".
pub fn send_status(
    conn: &mut impl Write,
    status: Status,
    persist: Persist,
    allow: Option<&str>,
    head_only: bool,
) -> io::Result<()> {
    let body = format!("{} {}\n", status.code(), status.reason());
    let head = Head {
        status,
        content_type: "text/plain; charset=utf-8",
        content_length: body.len() as u64,
        persist,
        allow,
    };
    send(conn, &head, body.as_bytes(), head_only)
}

/// `time` as an HTTP date, IMF-fixdate (RFC 9110 section 5.6.7):
/// "Sun, 06 Nov 1994 08:49:37 GMT".
pub fn http_date(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days);
    let rest = secs % 86_400;
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize], // 1970-01-01 was a Thursday
        day,
        MONTHS[(month - 1) as usize],
        year,
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The proleptic Gregorian (year, month 1-12, day 1-31) of `days` since 1970-01-01:
/// Howard Hinnant's `civil_from_days`, for days on or after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of the 400-year era
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the March-based year
    let mp = (5 * doy + 2) / 153; // month, March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn dates_are_imf_fixdate() {
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(http_date(at(784_111_777)), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(
            http_date(at(4_133_980_799)),
            "Fri, 31 Dec 2100 23:59:59 GMT"
        );
    }

    #[test]
    fn the_head_names_the_server_length_and_connection() {
        let head = Head {
            status: Status::MethodNotAllowed,
            content_type: "text/plain",
            content_length: 7,
            persist: Persist::Close,
            allow: Some("GET, HEAD"),
        };
        let text = String::from_utf8(head.encode()).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{text}"
        );
        for line in [
            "\r\nServer: netstack\r\n",
            "\r\nContent-Length: 7\r\n",
            "\r\nConnection: close\r\n",
            "\r\nAllow: GET, HEAD\r\n",
            "\r\nDate: ",
        ] {
            assert!(text.contains(line), "{line:?} missing from {text}");
        }
        assert!(text.ends_with("\r\n\r\n"));
    }
}

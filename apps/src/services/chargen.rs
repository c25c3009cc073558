//! Character generator (RFC 864) over TCP: once a client connects, the server sends
//! lines of printable ASCII until the client goes away; whatever the client sends is
//! thrown away. A small state machine on the event-driven [`server`].

use std::io;
use std::sync::OnceLock;

use super::server::{self, Context, Next, Placement, Session};
use super::Service;
use crate::runtime::{Handle, Interest};

/// The character generator port, RFC 864.
pub const PORT: u16 = 19;

/// Characters per line before the CR LF (RFC 864's "popular pattern").
pub const LINE_CHARS: usize = 72;

/// The printable ASCII characters, 32 (space) to 126 (`~`): the ring the lines rotate over.
const RING: usize = 95;

/// Line `k` of the stream (counting from 0): 72 consecutive characters of the ring of
/// the 95 printable ASCII characters, starting at character `k mod 95`, then CR LF.
/// Line 0 begins with a space, as BSD inetd's chargen does.
pub fn chargen_line(k: u64) -> [u8; LINE_CHARS + 2] {
    let first = (k % RING as u64) as usize;
    let mut line = [0u8; LINE_CHARS + 2];
    for (i, byte) in line[..LINE_CHARS].iter_mut().enumerate() {
        // Below 95, so the sum stays within 32..=126.
        *byte = b' ' + ((first + i) % RING) as u8;
    }
    line[LINE_CHARS] = b'\r';
    line[LINE_CHARS + 1] = b'\n';
    line
}

/// Listens on `port` and serves every connection from one thread until the runtime
/// stops.
pub fn start(net: &Handle, port: u16) -> io::Result<Service> {
    server::start(net, port, "chargen", Placement::Loop, |_, _, _| Chargen {
        offset: 0,
        finishing: false,
    })
}

/// After 95 lines the pattern starts over, so one period is all there is to send.
fn period() -> &'static [u8] {
    static PERIOD: OnceLock<Vec<u8>> = OnceLock::new();
    PERIOD.get_or_init(|| (0..RING as u64).flat_map(chargen_line).collect())
}

/// One chargen connection: where in the period the next byte comes from.
pub struct Chargen {
    offset: usize,
    /// The client's FIN came: finish the line under way, then close.
    finishing: bool,
}

impl Session for Chargen {
    /// Fills the send buffer with lines and drops what the client sent. At the client's
    /// FIN it completes the line under way (the stream always ends with a whole line)
    /// and closes too; a reset ends it at once.
    fn drive(&mut self, cx: &mut Context<'_>) -> Next {
        // RFC 864: "Data received is thrown away". Reading also tells us when the
        // client has closed its side.
        while !self.finishing {
            match cx.recv_scratch() {
                Ok(None) => break,
                Ok(Some(0)) => self.finishing = true,
                Ok(Some(_)) => {}
                Err(_) => return Next::Close,
            }
        }
        let period = period();
        let line = LINE_CHARS + 2;
        loop {
            let end = if self.finishing {
                if self.offset % line == 0 {
                    return Next::Close;
                }
                self.offset - self.offset % line + line
            } else {
                period.len()
            };
            match cx.send(&period[self.offset..end]) {
                Ok(0) if self.finishing => return Next::wait(Interest::WRITABLE),
                Ok(0) => return Next::wait(Interest::READABLE | Interest::WRITABLE),
                Ok(n) => self.offset = (self.offset + n) % period.len(),
                Err(_) => return Next::Close,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_zero_starts_with_a_space_and_ends_with_crlf() {
        let line = chargen_line(0);
        assert_eq!(
            &line[..],
            &b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n"[..]
        );
    }

    #[test]
    fn each_line_starts_one_character_later_and_wraps_after_95() {
        let line1 = chargen_line(1);
        assert_eq!(line1[0], b'!');
        assert_eq!(&line1[..LINE_CHARS], &chargen_line(96)[..LINE_CHARS]);
        // Line 30 runs off the end of the ring: ... '}' '~' then back to ' '.
        let line30 = chargen_line(30);
        assert_eq!(line30[0], b'>');
        let tilde = line30.iter().position(|&b| b == b'~').unwrap();
        assert_eq!(line30[tilde + 1], b' ');
        assert_eq!(chargen_line(94)[0], b'~');
        assert_eq!(chargen_line(94)[1], b' ');
        assert_eq!(chargen_line(95), chargen_line(0));
        assert_eq!(chargen_line(u64::MAX)[0], b' ' + (u64::MAX % 95) as u8);
    }

    #[test]
    fn every_line_is_72_printable_characters() {
        for k in 0..200 {
            let line = chargen_line(k);
            assert!(line[..LINE_CHARS].iter().all(|b| (32..=126).contains(b)));
            assert_eq!(&line[LINE_CHARS..], b"\r\n");
        }
    }
}

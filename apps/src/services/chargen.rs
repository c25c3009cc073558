//! Character generator (RFC 864) over TCP: once a client connects, the server sends
//! lines of printable ASCII until the client goes away; whatever the client sends is
//! thrown away. One thread per connection, written as any `std::net` server would be.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::thread;

use log::{debug, warn};

use super::Service;
use crate::net::{TcpListener, TcpStream};
use crate::runtime::Handle;

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

/// Listens on `port` and serves each connection on a thread of its own until the
/// runtime stops.
pub fn start(net: &Handle, port: u16) -> io::Result<Service> {
    let listener = TcpListener::bind(net, ("0.0.0.0", port))?;
    let thread = thread::Builder::new()
        .name(format!("chargen-{port}"))
        .spawn(move || loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    debug!("chargen: connection from {peer}");
                    let spawned = thread::Builder::new()
                        .name(format!("chargen-{peer}"))
                        .spawn(move || match serve(stream) {
                            Ok(()) => debug!("chargen {peer}: the client closed"),
                            Err(e) => debug!("chargen {peer}: {e}"),
                        });
                    if let Err(e) = spawned {
                        warn!("chargen: cannot start a thread for {peer}: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // stack stopped
                Err(e) => warn!("chargen: accept: {e}"),
            }
        })?;
    Ok(Service {
        name: format!("chargen on port {port}"),
        thread,
    })
}

/// Sends lines until the client closes: its FIN ends the session cleanly (we close too),
/// a reset ends it with the write's error.
fn serve(mut stream: TcpStream) -> io::Result<()> {
    // After 95 lines the pattern starts over, so one period is all there is to send.
    let period: Vec<u8> = (0..RING as u64).flat_map(chargen_line).collect();
    let mut discard = [0u8; 4096];
    loop {
        stream.write_all(&period)?;
        // RFC 864: "Data received is thrown away". A look without waiting also tells
        // us when the client has closed its side.
        if client_finished(&mut stream, &mut discard)? {
            stream.shutdown(Shutdown::Write)?;
            return Ok(());
        }
    }
}

/// Reads and drops whatever the client sent, without waiting; true at its FIN.
fn client_finished(stream: &mut TcpStream, discard: &mut [u8]) -> io::Result<bool> {
    stream.set_nonblocking(true)?;
    let result = loop {
        match stream.read(discard) {
            Ok(0) => break Ok(true),
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        }
    };
    stream.set_nonblocking(false)?;
    result
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

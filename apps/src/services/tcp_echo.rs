//! TCP echo (RFC 862) and discard (RFC 863), each a small state machine on the
//! event-driven [`server`]: one thread serves every connection.

use std::io;

use super::server::{self, Context, Next, Placement, Session};
use super::Service;
use crate::runtime::{Handle, Interest};

/// The echo port, RFC 862.
pub const ECHO_PORT: u16 = 7;
/// The discard port, RFC 863.
pub const DISCARD_PORT: u16 = 9;

/// TCP echo on `port`: every byte comes back; at the client's FIN we finish and close.
pub fn start_echo(net: &Handle, port: u16) -> io::Result<Service> {
    server::start(net, port, "tcp echo", Placement::Loop, |_, _, _| {
        Echo::default()
    })
}

/// TCP discard on `port`: every byte is read and dropped; at the client's FIN we close.
pub fn start_discard(net: &Handle, port: u16) -> io::Result<Service> {
    server::start(net, port, "tcp discard", Placement::Loop, |_, _, _| Discard)
}

/// One echo connection: the bytes read that the send buffer has not taken yet.
///
/// Backpressure: while `pending` holds bytes nothing more is read, so a client that
/// sends and never reads fills our send buffer, then our receive window, and stops;
/// `pending` never holds more than one read (the scratch buffer's size). It is freed
/// once drained, so an idle connection holds no buffer here.
#[derive(Default)]
pub struct Echo {
    pending: Vec<u8>,
    /// The client's FIN has been read.
    finished: bool,
}

impl Session for Echo {
    fn drive(&mut self, cx: &mut Context<'_>) -> Next {
        match self.pump(cx) {
            Ok(next) => next,
            Err(e) => {
                log::debug!("echo: {e}");
                Next::Close
            }
        }
    }
}

impl Echo {
    fn pump(&mut self, cx: &mut Context<'_>) -> io::Result<Next> {
        loop {
            if !self.pending.is_empty() {
                let n = cx.send(&self.pending)?;
                self.pending.drain(..n);
                if !self.pending.is_empty() {
                    return Ok(Next::wait(Interest::WRITABLE));
                }
                self.pending = Vec::new();
            }
            if self.finished {
                // All echoed: close our side too (the FIN follows the data).
                return Ok(Next::Close);
            }
            match cx.recv_scratch()? {
                None => return Ok(Next::wait(Interest::READABLE)),
                Some(0) => self.finished = true,
                Some(n) => {
                    let sent = cx.send_scratch(0..n)?;
                    if sent < n {
                        self.pending = cx.scratch[sent..n].to_vec();
                    }
                }
            }
        }
    }
}

/// One discard connection: no state at all.
pub struct Discard;

impl Session for Discard {
    fn drive(&mut self, cx: &mut Context<'_>) -> Next {
        loop {
            match cx.recv_scratch() {
                Ok(None) => return Next::wait(Interest::READABLE),
                Ok(Some(0)) | Err(_) => return Next::Close,
                Ok(Some(_)) => {}
            }
        }
    }
}

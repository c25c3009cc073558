//! The application's side of ping: open an identifier, send echo requests, read the
//! replies. A [`Ping`] is a short-lived view of the stack, from
//! [`Stack::ping`](crate::Stack::ping).

use core::fmt;
use core::net::Ipv4Addr;
use std::collections::VecDeque;

use super::{EchoReply, Icmp, MAX_PINGERS};
use crate::outbound::{Outbound, SendError};
use crate::time::Instant;
use crate::wire::ipv4::protocol;
use crate::wire::{icmp, IcmpRepr};

/// Why a ping identifier could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingError {
    /// Another pinger already uses this identifier.
    InUse(u16),
    /// [`MAX_PINGERS`] identifiers are open already.
    TooMany,
}

impl fmt::Display for PingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PingError::InUse(id) => write!(f, "ICMP identifier {id} is already in use"),
            PingError::TooMany => write!(f, "at most {MAX_PINGERS} pings may run at once"),
        }
    }
}

impl std::error::Error for PingError {}

/// The ping calls, on the stack's ICMP layer.
#[derive(Debug)]
pub struct Ping<'a> {
    icmp: &'a mut Icmp,
    out: &'a mut Outbound,
}

impl<'a> Ping<'a> {
    pub(crate) fn new(icmp: &'a mut Icmp, out: &'a mut Outbound) -> Ping<'a> {
        Ping { icmp, out }
    }

    /// Starts collecting echo replies that carry identifier `ident`.
    pub fn open(&mut self, ident: u16) -> Result<(), PingError> {
        let pingers = &mut self.icmp.pingers;
        if pingers.iter().any(|(id, _)| *id == ident) {
            return Err(PingError::InUse(ident));
        }
        if pingers.len() >= MAX_PINGERS {
            return Err(PingError::TooMany);
        }
        pingers.push((ident, VecDeque::new()));
        Ok(())
    }

    /// Stops collecting replies for `ident` and discards any unread ones.
    pub fn close(&mut self, ident: u16) {
        self.icmp.pingers.retain(|(id, _)| *id != ident);
    }

    /// The oldest unread echo reply for `ident`.
    pub fn poll_reply(&mut self, ident: u16) -> Option<EchoReply> {
        self.icmp
            .pingers
            .iter_mut()
            .find(|(id, _)| *id == ident)?
            .1
            .pop_front()
    }

    /// Sends an echo request (type 8) to `dst`. If the next hop is not resolved yet, the
    /// request waits behind ARP.
    pub fn send_request(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        ident: u16,
        seq: u16,
        payload: &[u8],
    ) -> Result<(), SendError> {
        let len = icmp::HEADER_LEN + payload.len();
        self.out.send_ipv4(now, dst, protocol::ICMP, len, |buf| {
            IcmpRepr::EchoRequest { ident, seq }.emit(payload, buf);
        })?;
        self.icmp.counters.echo_requests_sent += 1;
        Ok(())
    }
}

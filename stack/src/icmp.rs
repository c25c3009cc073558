//! ICMP (RFC 792, RFC 1122 3.2.2): answering echo requests, the ping API, and (in
//! [`errors`]) sending and receiving error messages.

pub mod errors;
mod ratelimit;

use core::fmt;
use core::net::Ipv4Addr;
use std::collections::VecDeque;

use crate::counters::RxDrop;
use crate::iface::{SendError, Stack};
use crate::time::Instant;
use crate::wire::ipv4::protocol;
use crate::wire::{icmp, IcmpRepr, Ipv4Repr, WireError};

/// Identifiers that may listen for echo replies at once.
pub const MAX_PINGERS: usize = 16;
/// Echo replies kept per identifier until the application reads them.
pub const REPLY_QUEUE: usize = 64;

/// An echo reply for an identifier opened with [`Stack::ping_open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EchoReply {
    /// Who answered.
    pub from: Ipv4Addr,
    /// The identifier.
    pub ident: u16,
    /// The sequence number.
    pub seq: u16,
    /// TTL of the reply as it arrived.
    pub ttl: u8,
    /// The echoed data.
    pub payload: Vec<u8>,
    /// When the reply's frame was received.
    pub received_at: Instant,
}

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

/// Open ping identifiers and their reply queues.
#[derive(Debug, Default)]
pub(crate) struct IcmpState {
    pingers: Vec<(u16, VecDeque<EchoReply>)>,
    pub(crate) limiter: ratelimit::IcmpRateLimiter,
}

impl Stack {
    /// Starts collecting echo replies that carry identifier `ident`.
    pub fn ping_open(&mut self, ident: u16) -> Result<(), PingError> {
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
    pub fn ping_close(&mut self, ident: u16) {
        self.icmp.pingers.retain(|(id, _)| *id != ident);
    }

    /// The oldest unread echo reply for `ident`.
    pub fn poll_echo_reply(&mut self, ident: u16) -> Option<EchoReply> {
        self.icmp
            .pingers
            .iter_mut()
            .find(|(id, _)| *id == ident)?
            .1
            .pop_front()
    }

    /// Sends an echo request (type 8) to `dst`. If the next hop is not resolved yet, the
    /// request waits behind ARP.
    pub fn send_echo_request(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        ident: u16,
        seq: u16,
        payload: &[u8],
    ) -> Result<(), SendError> {
        let len = icmp::HEADER_LEN + payload.len();
        self.send_ipv4(now, dst, protocol::ICMP, len, |buf| {
            IcmpRepr::EchoRequest { ident, seq }.emit(payload, buf);
        })?;
        self.counters.icmp_echo_requests_sent += 1;
        Ok(())
    }

    pub(crate) fn process_icmp(
        &mut self,
        now: Instant,
        ip: &Ipv4Repr,
        body: &[u8],
    ) -> Result<(), RxDrop> {
        let (msg, data) = IcmpRepr::parse(body).map_err(|e| match e {
            WireError::BadChecksum => RxDrop::IcmpBadChecksum,
            _ => RxDrop::IcmpMalformed,
        })?;
        match msg {
            IcmpRepr::EchoRequest { ident, seq } => {
                // RFC 1122 3.2.2.6: an echo request to a broadcast address MAY be
                // silently discarded; Linux does (icmp_echo_ignore_broadcasts=1).
                if self.is_broadcast(ip.dst) {
                    return Err(RxDrop::IcmpBroadcastEcho);
                }
                // RFC 792 / RFC 1122 3.2.2.6: reply to the source with the same
                // identifier, sequence number and data, from the address it was sent to.
                let len = icmp::HEADER_LEN + data.len();
                let reply = self.send_ipv4(now, ip.src, protocol::ICMP, len, |buf| {
                    IcmpRepr::EchoReply { ident, seq }.emit(data, buf);
                });
                match reply {
                    Ok(()) => self.counters.icmp_echo_replies_sent += 1,
                    Err(e) => log::debug!("no echo reply to {}: {e}", ip.src),
                }
                Ok(())
            }
            IcmpRepr::EchoReply { ident, seq } => {
                let Some((_, queue)) = self.icmp.pingers.iter_mut().find(|(id, _)| *id == ident)
                else {
                    return Err(RxDrop::IcmpUnsolicitedReply);
                };
                if queue.len() >= REPLY_QUEUE {
                    return Err(RxDrop::IcmpReplyQueueFull);
                }
                queue.push_back(EchoReply {
                    from: ip.src,
                    ident,
                    seq,
                    ttl: ip.ttl,
                    payload: data.to_vec(),
                    received_at: now,
                });
                self.counters.icmp_echo_replies_received += 1;
                Ok(())
            }
            IcmpRepr::DestUnreachable { .. } | IcmpRepr::TimeExceeded { .. } => {
                self.process_icmp_error(now, msg, data)
            }
            IcmpRepr::Other { .. } => Err(RxDrop::IcmpUnhandledType),
        }
    }
}

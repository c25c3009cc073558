//! ICMP (RFC 792, RFC 1122 3.2.2): answering echo requests, collecting echo replies for
//! [`ping`], and reading the errors others send us ([`errors`]). Sending errors is the
//! outbound path's job ([`crate::outbound`]), since every layer may need to.

pub mod errors;
pub mod ping;

use core::net::Ipv4Addr;
use std::collections::VecDeque;

use crate::counters::RxDrop;
use crate::outbound::Outbound;
use crate::time::Instant;
use crate::wire::ipv4::protocol;
use crate::wire::{icmp, IcmpRepr, Ipv4Repr, WireError};
use errors::ErrorReport;

/// Identifiers that may listen for echo replies at once.
pub const MAX_PINGERS: usize = 16;
/// Echo replies kept per identifier until the application reads them.
pub const REPLY_QUEUE: usize = 64;

/// An echo reply for an identifier opened with [`ping::Ping::open`].
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

/// What ICMP counts.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IcmpCounters {
    pub echo_replies_sent: u64,
    pub echo_requests_sent: u64,
    pub echo_replies_received: u64,
    pub errors_delivered: u64,
}

/// The ICMP layer's own state: open ping identifiers and their reply queues.
#[derive(Debug, Default)]
pub(crate) struct Icmp {
    pingers: Vec<(u16, VecDeque<EchoReply>)>,
    pub counters: IcmpCounters,
}

impl Icmp {
    /// Handles a received ICMP message. An error about one of our datagrams goes to
    /// `deliver_error` (the stack hands it to UDP or TCP), which says whether a socket
    /// took it.
    pub fn receive(
        &mut self,
        now: Instant,
        ip: &Ipv4Repr,
        body: &[u8],
        out: &mut Outbound,
        deliver_error: impl FnOnce(ErrorReport, &mut Outbound) -> bool,
    ) -> Result<(), RxDrop> {
        let (msg, data) = IcmpRepr::parse(body).map_err(|e| match e {
            WireError::BadChecksum => RxDrop::IcmpBadChecksum,
            _ => RxDrop::IcmpMalformed,
        })?;
        match msg {
            IcmpRepr::EchoRequest { ident, seq } => {
                // RFC 1122 3.2.2.6: an echo request to a broadcast address MAY be
                // silently discarded; Linux does (icmp_echo_ignore_broadcasts=1).
                if out.is_broadcast(ip.dst) {
                    return Err(RxDrop::IcmpBroadcastEcho);
                }
                // RFC 792 / RFC 1122 3.2.2.6: reply to the source with the same
                // identifier, sequence number and data, from the address it was sent to.
                let len = icmp::HEADER_LEN + data.len();
                let reply = out.send_ipv4(now, ip.src, protocol::ICMP, len, |buf| {
                    IcmpRepr::EchoReply { ident, seq }.emit(data, buf);
                });
                match reply {
                    Ok(()) => self.counters.echo_replies_sent += 1,
                    Err(e) => log::debug!("no echo reply to {}: {e}", ip.src),
                }
                Ok(())
            }
            IcmpRepr::EchoReply { ident, seq } => {
                let Some((_, queue)) = self.pingers.iter_mut().find(|(id, _)| *id == ident) else {
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
                self.counters.echo_replies_received += 1;
                Ok(())
            }
            IcmpRepr::DestUnreachable { .. } | IcmpRepr::TimeExceeded { .. } => {
                let report = errors::parse(msg, data, out.addr())?;
                if !deliver_error(report, out) {
                    return Err(RxDrop::IcmpErrorUnmatched);
                }
                self.counters.errors_delivered += 1;
                Ok(())
            }
            IcmpRepr::Other { .. } => Err(RxDrop::IcmpUnhandledType),
        }
    }
}

//! ICMP error messages: sending them (RFC 792, RFC 1122 3.2.2) and handing received ones
//! to the socket whose datagram caused them (RFC 1122 3.2.2.1, 4.1.3.3).

use core::net::SocketAddrV4;

use crate::counters::{RxDrop, TxDrop};
use crate::iface::Stack;
use crate::time::Instant;
use crate::wire::ipv4::protocol;
use crate::wire::{icmp, ipv4, IcmpRepr, Ipv4Repr};

/// Largest ICMP error datagram we send: 576 bytes, the minimum every host must accept
/// (RFC 1812 4.3.2.3 asks routers to quote as much as fits in it; Linux does the same).
const MAX_ERROR_DATAGRAM: usize = 576;

/// Where a received datagram came from, as needed to answer it with an ICMP error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin<'a> {
    /// It arrived in a link-layer broadcast frame.
    pub link_broadcast: bool,
    /// Its IPv4 header as parsed.
    pub ip: Ipv4Repr,
    /// Its IPv4 header as received (with options), for quoting.
    pub header: &'a [u8],
}

/// What a received ICMP error means for the socket it concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftError {
    /// Port or protocol unreachable: nobody listens there (ECONNREFUSED).
    ConnectionRefused,
    /// Host unreachable, or time exceeded on the way (EHOSTUNREACH).
    HostUnreachable,
    /// Network unreachable (ENETUNREACH).
    NetworkUnreachable,
    /// Fragmentation needed with DF set; carries the next-hop MTU (EMSGSIZE).
    MessageTooBig(u16),
}

impl Stack {
    /// Sends an ICMP error about a datagram we received, unless RFC 1122 3.2.2 forbids it
    /// or the rate limit says no. `body` is the datagram's payload after its header.
    pub(crate) fn send_icmp_error(
        &mut self,
        now: Instant,
        origin: &Origin<'_>,
        body: &[u8],
        msg: IcmpRepr,
    ) {
        let ip = &origin.ip;
        // RFC 1122 3.2.2: never in response to an ICMP error, a datagram sent to a
        // broadcast or multicast address or as a link broadcast, a non-initial fragment,
        // or one whose source is not a single host.
        let about_icmp_error = ip.protocol == protocol::ICMP
            && body
                .first()
                .is_some_and(|&t| !matches!(t, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18));
        if about_icmp_error
            || origin.link_broadcast
            || self.is_broadcast(ip.dst)
            || ip.dst.is_multicast()
            || ip.frag_offset != 0
            || !crate::iface::is_host_address(&self.config, ip.src)
        {
            return;
        }
        if !self.icmp.limiter.allow(now, ip.src) {
            self.counters.count_tx_drop(TxDrop::IcmpRateLimited);
            return;
        }
        let room = MAX_ERROR_DATAGRAM - ipv4::HEADER_LEN - icmp::HEADER_LEN;
        let header_len = origin.header.len().min(room);
        let body_len = body.len().min(room - header_len);
        let mut quote = self.tx.buffer();
        quote.extend_from_slice(&origin.header[..header_len]);
        quote.extend_from_slice(&body[..body_len]);
        let len = icmp::HEADER_LEN + quote.len();
        let sent = self.send_ipv4(now, ip.src, protocol::ICMP, len, |buf| {
            msg.emit(&quote, buf);
        });
        self.tx.recycle(quote);
        if sent.is_ok() {
            self.counters.icmp_errors_sent += 1;
        }
    }

    /// Handles a received Destination Unreachable or Time Exceeded: finds the socket whose
    /// datagram is quoted and records the error there.
    pub(crate) fn process_icmp_error(
        &mut self,
        now: Instant,
        msg: IcmpRepr,
        quoted: &[u8],
    ) -> Result<(), RxDrop> {
        let (inner, transport) =
            Ipv4Repr::parse_quoted(quoted).map_err(|_| RxDrop::IcmpMalformed)?;
        // Only datagrams we sent can concern us, and their ports are in the first 4 bytes.
        if inner.src != self.config.addr || transport.len() < 4 || inner.frag_offset != 0 {
            return Err(RxDrop::IcmpErrorUnmatched);
        }
        let local = SocketAddrV4::new(inner.src, u16::from_be_bytes([transport[0], transport[1]]));
        let remote = SocketAddrV4::new(inner.dst, u16::from_be_bytes([transport[2], transport[3]]));
        let error = match msg {
            // RFC 1122 3.2.2.1: codes 2 (protocol), 3 (port) are hard errors for the
            // transport; 4 (fragmentation needed) feeds path MTU discovery (RFC 1191).
            IcmpRepr::DestUnreachable { code: 2 | 3, .. } => SoftError::ConnectionRefused,
            IcmpRepr::DestUnreachable {
                code: 4,
                next_hop_mtu,
            } => SoftError::MessageTooBig(next_hop_mtu),
            IcmpRepr::DestUnreachable {
                code: 0 | 6 | 9 | 11,
                ..
            } => SoftError::NetworkUnreachable,
            IcmpRepr::DestUnreachable { .. } | IcmpRepr::TimeExceeded { .. } => {
                SoftError::HostUnreachable
            }
            _ => return Err(RxDrop::IcmpUnhandledType),
        };
        let delivered = match inner.protocol {
            protocol::UDP => self.udp_icmp_error(local, remote, error),
            protocol::TCP => {
                // The quoted TCP header's sequence number, when the quote reaches it.
                let seq = transport
                    .get(4..8)
                    .map(|b| crate::tcp::seq::Seq(u32::from_be_bytes([b[0], b[1], b[2], b[3]])));
                self.tcp_icmp_error(now, local, remote, error, seq)
            }
            _ => false,
        };
        if delivered {
            self.counters.icmp_errors_delivered += 1;
            Ok(())
        } else {
            Err(RxDrop::IcmpErrorUnmatched)
        }
    }
}

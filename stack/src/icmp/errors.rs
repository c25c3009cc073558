//! Received ICMP errors (RFC 1122 3.2.2.1, 4.1.3.3, RFC 5927): what the quoted datagram
//! says about which of our sockets sent it, and what the error means for that socket.
//! Sending errors is the outbound path's job ([`crate::outbound`]).

use core::net::SocketAddrV4;

use crate::counters::RxDrop;
use crate::wire::seq::Seq;
use crate::wire::{IcmpRepr, Ipv4Repr};

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

/// An ICMP error about a datagram we sent, for the transport layer to deliver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorReport {
    /// The quoted datagram's protocol (UDP or TCP; others are delivered to nobody).
    pub protocol: u8,
    /// Our address and port in the quoted datagram.
    pub local: SocketAddrV4,
    /// The peer's address and port in the quoted datagram.
    pub remote: SocketAddrV4,
    /// What the error means.
    pub error: SoftError,
    /// The quoted TCP header's sequence number, when the quote reaches it.
    pub seq: Option<Seq>,
}

/// Reads a Destination Unreachable or Time Exceeded whose data quotes one of our
/// datagrams (`quoted`: its IP header and at least 8 bytes after it).
pub(crate) fn parse(
    msg: IcmpRepr,
    quoted: &[u8],
    our_addr: core::net::Ipv4Addr,
) -> Result<ErrorReport, RxDrop> {
    let (inner, transport) = Ipv4Repr::parse_quoted(quoted).map_err(|_| RxDrop::IcmpMalformed)?;
    // Only datagrams we sent can concern us, and their ports are in the first 4 bytes.
    if inner.src != our_addr || transport.len() < 4 || inner.frag_offset != 0 {
        return Err(RxDrop::IcmpErrorUnmatched);
    }
    let port = |i: usize| u16::from_be_bytes([transport[i], transport[i + 1]]);
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
    Ok(ErrorReport {
        protocol: inner.protocol,
        local: SocketAddrV4::new(inner.src, port(0)),
        remote: SocketAddrV4::new(inner.dst, port(2)),
        error,
        seq: transport
            .get(4..8)
            .map(|b| Seq(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
    })
}

//! Ethernet frames as the tests look at them, parsed with etherparse (not the stack's
//! own parser), checksums verified here.

use std::net::Ipv4Addr;

use etherparse::{LinkSlice, NetSlice, SlicedPacket, TransportSlice};
use netstack_core::MacAddr;

use super::internet_checksum;

/// What a frame carries, as far as these tests care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// An Ethernet/IPv4 ARP packet.
    Arp {
        eth: (MacAddr, MacAddr),
        /// 1 request, 2 reply.
        op: u16,
        sender: (MacAddr, Ipv4Addr),
        target: (MacAddr, Ipv4Addr),
    },
    /// An ICMP echo request (type 8) or reply (type 0) in IPv4.
    Echo {
        eth: (MacAddr, MacAddr),
        ip: (Ipv4Addr, Ipv4Addr),
        icmp_type: u8,
        ident: u16,
        seq: u16,
        payload: Vec<u8>,
    },
    /// Anything else, described.
    Other(String),
}

/// `(source, destination)`, the order the tests read them in.
fn macs(link: &Option<LinkSlice<'_>>) -> Option<(MacAddr, MacAddr)> {
    match link {
        Some(LinkSlice::Ethernet2(eth)) => {
            Some((MacAddr(eth.source()), MacAddr(eth.destination())))
        }
        _ => None,
    }
}

/// Parses `frame`, failing the test on a bad IPv4 or ICMP checksum.
#[track_caller]
pub fn parse(frame: &[u8]) -> Frame {
    let packet = match SlicedPacket::from_ethernet(frame) {
        Ok(p) => p,
        Err(e) => return Frame::Other(format!("unparseable ({e}): {frame:02x?}")),
    };
    let Some(eth) = macs(&packet.link) else {
        return Frame::Other("not Ethernet II".into());
    };
    match (&packet.net, &packet.transport) {
        (Some(NetSlice::Arp(arp)), _) => {
            let ip = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            let mac = |b: &[u8]| MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]]);
            assert_eq!(
                (arp.hw_addr_size(), arp.proto_addr_size()),
                (6, 4),
                "ARP that is not Ethernet/IPv4"
            );
            Frame::Arp {
                eth,
                op: arp.operation().0,
                sender: (mac(arp.sender_hw_addr()), ip(arp.sender_protocol_addr())),
                target: (mac(arp.target_hw_addr()), ip(arp.target_protocol_addr())),
            }
        }
        (Some(NetSlice::Ipv4(ipv4)), Some(TransportSlice::Icmpv4(icmp)))
            if matches!(icmp.type_u8(), 0 | 8) =>
        {
            let header = ipv4.header();
            assert_eq!(
                internet_checksum(header.slice()),
                0,
                "bad IPv4 header checksum in {frame:02x?}"
            );
            assert_eq!(
                internet_checksum(icmp.slice()),
                0,
                "bad ICMP checksum in {frame:02x?}"
            );
            let rest = icmp.bytes5to8();
            Frame::Echo {
                eth,
                ip: (header.source_addr(), header.destination_addr()),
                icmp_type: icmp.type_u8(),
                ident: u16::from_be_bytes([rest[0], rest[1]]),
                seq: u16::from_be_bytes([rest[2], rest[3]]),
                payload: icmp.payload().to_vec(),
            }
        }
        _ => Frame::Other(format!(
            "{:?}",
            netstack_core::wire::describe::describe(frame)
        )),
    }
}

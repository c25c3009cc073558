//! ARP packets for Ethernet and IPv4 (RFC 826).
//!
//! Layout (28 bytes): hardware type 1, protocol type 0x0800, hardware length 6, protocol
//! length 4, operation (1 request, 2 reply), sender MAC, sender IP, target MAC, target IP.
//! Anything else is [`WireError::Unsupported`]; a buffer shorter than its declared address
//! lengths is [`WireError::Truncated`]. Trailing bytes (Ethernet padding) are ignored.

use core::net::Ipv4Addr;

use etherparse::{ArpEthIpv4Packet, ArpHardwareId, ArpPacketSlice};

use super::{MacAddr, WireError};

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = ArpEthIpv4Packet::LEN;

/// The ARP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpOperation {
    /// "Who has target IP? Tell sender."
    Request,
    /// "Sender IP is at sender MAC."
    Reply,
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    /// Request or reply.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (zero in requests).
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// Parses an ARP packet (the Ethernet payload).
    pub fn parse(buf: &[u8]) -> Result<ArpRepr, WireError> {
        let packet = ArpPacketSlice::from_slice(buf).map_err(|_| WireError::Truncated)?;
        if packet.hw_addr_type() != ArpHardwareId::ETHERNET
            || packet.proto_addr_type() != etherparse::EtherType::IPV4
            || packet.hw_addr_size() != 6
            || packet.proto_addr_size() != 4
        {
            return Err(WireError::Unsupported);
        }
        let operation = match packet.operation().0 {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            _ => return Err(WireError::Unsupported),
        };
        // Sizes were checked to be 6 and 4 above, and from_slice checked the buffer holds them.
        let mac = |s: &[u8]| MacAddr([s[0], s[1], s[2], s[3], s[4], s[5]]);
        let ip = |s: &[u8]| Ipv4Addr::new(s[0], s[1], s[2], s[3]);
        Ok(ArpRepr {
            operation,
            sender_mac: mac(packet.sender_hw_addr()),
            sender_ip: ip(packet.sender_protocol_addr()),
            target_mac: mac(packet.target_hw_addr()),
            target_ip: ip(packet.target_protocol_addr()),
        })
    }

    /// Writes the packet into the first [`PACKET_LEN`] bytes of `buf`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`PACKET_LEN`].
    pub fn emit(&self, buf: &mut [u8]) {
        let packet = ArpEthIpv4Packet {
            operation: match self.operation {
                ArpOperation::Request => etherparse::ArpOperation::REQUEST,
                ArpOperation::Reply => etherparse::ArpOperation::REPLY,
            },
            sender_mac: self.sender_mac.0,
            sender_ipv4: self.sender_ip.octets(),
            target_mac: self.target_mac.0,
            target_ipv4: self.target_ip.octets(),
        };
        buf[..PACKET_LEN].copy_from_slice(&packet.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // "Who has 10.0.0.2? Tell 10.0.0.1", as Linux sends it.
    const REQUEST: [u8; 28] = [
        0x00, 0x01, // hardware type: Ethernet
        0x08, 0x00, // protocol type: IPv4
        6, 4, // address lengths
        0x00, 0x01, // operation: request
        0x22, 0x12, 0x0f, 0x58, 0x80, 0xdb, // sender MAC
        10, 0, 0, 1, // sender IP
        0, 0, 0, 0, 0, 0, // target MAC: unknown
        10, 0, 0, 2, // target IP
    ];

    fn request() -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            sender_mac: MacAddr([0x22, 0x12, 0x0f, 0x58, 0x80, 0xdb]),
            sender_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_mac: MacAddr::ZERO,
            target_ip: Ipv4Addr::new(10, 0, 0, 2),
        }
    }

    #[test]
    fn parses_a_request() {
        assert_eq!(ArpRepr::parse(&REQUEST), Ok(request()));
    }

    #[test]
    fn emits_byte_exact() {
        let mut buf = [0u8; PACKET_LEN];
        request().emit(&mut buf);
        assert_eq!(buf, REQUEST);
    }

    #[test]
    fn padding_after_the_packet_is_ignored() {
        let mut padded = REQUEST.to_vec();
        padded.extend_from_slice(&[0; 18]);
        assert_eq!(ArpRepr::parse(&padded), Ok(request()));
    }

    #[test]
    fn truncated_and_foreign_packets_are_errors() {
        for len in 0..PACKET_LEN {
            assert!(ArpRepr::parse(&REQUEST[..len]).is_err(), "len {len}");
        }
        let mut foreign = REQUEST;
        foreign[3] = 0xdd; // protocol 0x08dd
        assert_eq!(ArpRepr::parse(&foreign), Err(WireError::Unsupported));
        let mut bad_op = REQUEST;
        bad_op[7] = 9;
        assert_eq!(ArpRepr::parse(&bad_op), Err(WireError::Unsupported));
    }
}

//! Completing checksums the kernel left for "hardware" to fill in.
//!
//! With checksum offload, the kernel hands a UDP or TCP packet to a virtual device with
//! only the pseudo-header sum in the checksum field (`CHECKSUM_PARTIAL`), expecting the
//! NIC to finish the job. A packet socket on a veth receives such packets before any NIC
//! has seen them; the kernel says so in `PACKET_AUXDATA` (`TP_STATUS_CSUMNOTREADY`).
//! [`complete_checksum`] does what the NIC would have done, so the stack sees an ordinary
//! frame and keeps verifying every checksum it receives.

use netstack_core::wire::checksum;

const ETH_LEN: usize = 14;

/// Recomputes the TCP or UDP checksum of an IPv4 frame in place. Returns false (and
/// leaves the frame alone) when it is not an unfragmented IPv4 TCP/UDP packet that fits
/// the buffer; the stack then judges it as usual.
pub(crate) fn complete_checksum(frame: &mut [u8]) -> bool {
    if frame.len() < ETH_LEN + 20 || frame[12..14] != [0x08, 0x00] {
        return false;
    }
    let ip = &frame[ETH_LEN..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let fragmented = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
    if ip[0] >> 4 != 4 || ihl < 20 || total < ihl || total > ip.len() || fragmented {
        return false;
    }
    let protocol = ip[9];
    let field = match protocol {
        6 => 16, // TCP checksum offset (RFC 9293 3.1)
        17 => 6, // UDP checksum offset (RFC 768)
        _ => return false,
    };
    let src = std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = std::net::Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let start = ETH_LEN + ihl;
    let end = ETH_LEN + total;
    if end - start < field + 2 {
        return false;
    }
    let segment = &mut frame[start..end];
    segment[field..field + 2].fill(0);
    let len = segment.len() as u16;
    let sum = checksum::finish(checksum::accumulate(
        checksum::pseudo_header(src, dst, protocol, len),
        segment,
    ));
    // RFC 768: a computed UDP checksum of zero is sent as all ones.
    let sum = if protocol == 17 && sum == 0 {
        0xffff
    } else {
        sum
    };
    segment[field..field + 2].copy_from_slice(&sum.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use netstack_core::wire::{ethernet, EtherType, EthernetRepr, Ipv4Repr, MacAddr, UdpRepr};

    fn udp_frame() -> Vec<u8> {
        let src = "10.0.0.1".parse().unwrap();
        let dst = "10.0.0.2".parse().unwrap();
        let mut udp = vec![0; 8 + 5];
        UdpRepr {
            src_port: 1000,
            dst_port: 7,
        }
        .emit(src, dst, b"hello", &mut udp);
        let mut f = vec![0; ethernet::HEADER_LEN + 20];
        EthernetRepr {
            dst: MacAddr([2, 0, 0, 0, 0, 2]),
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            ethertype: EtherType::Ipv4,
        }
        .emit(&mut f);
        Ipv4Repr {
            src,
            dst,
            protocol: 17,
            ttl: 64,
            ident: 1,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            payload_len: udp.len(),
        }
        .emit(&mut f[ethernet::HEADER_LEN..]);
        f.extend_from_slice(&udp);
        f
    }

    #[test]
    fn a_partial_udp_checksum_is_completed() {
        let good = udp_frame();
        let mut partial = good.clone();
        // What the kernel leaves: some other value (the pseudo-header sum) in the field.
        partial[34 + 6] = 0x12;
        partial[34 + 7] = 0x34;
        assert!(complete_checksum(&mut partial));
        assert_eq!(partial, good);
    }

    #[test]
    fn other_frames_are_left_alone() {
        let mut arp = vec![0xff; 42];
        arp[12] = 0x08;
        arp[13] = 0x06;
        let before = arp.clone();
        assert!(!complete_checksum(&mut arp));
        assert_eq!(arp, before);
        let mut short = udp_frame();
        short.truncate(36);
        assert!(!complete_checksum(&mut short));
    }
}

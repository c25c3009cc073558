//! One readable line per frame, in tcpdump's spirit, for traces and teaching.
//!
//! `describe` never fails: whatever it cannot parse it names as such, so a tracer can
//! print hostile traffic too.

use core::fmt::Write;

use super::ipv4::protocol;
use super::{ArpOperation, ArpRepr, EtherType, EthernetRepr, IcmpRepr, Ipv4Repr};

/// Summarises an Ethernet frame as `tcpdump -e` does: link addresses, EtherType and
/// frame length, then the packet, e.g.
/// `02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff, ARP, length 42: Request who-has 10.0.0.1 tell 10.0.0.2`
/// or `02:00:00:00:00:03 > 02:00:00:00:00:02, IPv4, length 98: 10.0.0.3 > 10.0.0.2: ICMP echo request, id 7, seq 1, length 64, ttl 64`.
pub fn describe(frame: &[u8]) -> String {
    let mut out = String::with_capacity(120);
    let (eth, payload) = match EthernetRepr::parse(frame) {
        Ok(x) => x,
        Err(e) => return format!("ethernet {e}, length {}", frame.len()),
    };
    let _ = write!(out, "{} > {}, ", eth.src, eth.dst);
    let name = match eth.ethertype {
        EtherType::Arp => "ARP",
        EtherType::Ipv4 => "IPv4",
        EtherType::Other(0x86dd) => "IPv6",
        EtherType::Other(0x8100) => "802.1Q",
        EtherType::Other(0x88cc) => "LLDP",
        EtherType::Other(_) => "ethertype",
    };
    let _ = write!(out, "{name}");
    if let EtherType::Other(t) = eth.ethertype {
        let _ = write!(out, " (0x{t:04x})");
    }
    let _ = write!(out, ", length {}", frame.len());
    match eth.ethertype {
        EtherType::Arp => describe_arp(&mut out, payload),
        EtherType::Ipv4 => describe_ipv4(&mut out, payload),
        EtherType::Other(_) => {}
    }
    out
}

fn describe_arp(out: &mut String, payload: &[u8]) {
    match ArpRepr::parse(payload) {
        Ok(arp) => {
            let _ = match arp.operation {
                ArpOperation::Request => write!(
                    out,
                    ": Request who-has {} tell {}",
                    arp.target_ip, arp.sender_ip
                ),
                ArpOperation::Reply => {
                    write!(out, ": Reply {} is-at {}", arp.sender_ip, arp.sender_mac)
                }
            };
        }
        Err(e) => {
            let _ = write!(out, ": {e}");
        }
    }
}

fn describe_ipv4(out: &mut String, payload: &[u8]) {
    let (ip, body) = match Ipv4Repr::parse(payload) {
        Ok(x) => x,
        Err(e) => {
            let _ = write!(out, ": {e}");
            return;
        }
    };
    let _ = write!(out, ": {} > {}: ", ip.src, ip.dst);
    if ip.is_fragment() {
        let _ = write!(
            out,
            "fragment id {}, offset {}, {}proto {}, ttl {}",
            ip.ident,
            ip.frag_offset,
            if ip.more_frags { "MF, " } else { "" },
            ip.protocol,
            ip.ttl
        );
        return;
    }
    match ip.protocol {
        protocol::ICMP => match IcmpRepr::parse(body) {
            Ok((icmp, data)) => {
                let _ = match icmp {
                    IcmpRepr::EchoRequest { ident, seq } => {
                        write!(
                            out,
                            "ICMP echo request, id {ident}, seq {seq}, length {}",
                            data.len() + 8
                        )
                    }
                    IcmpRepr::EchoReply { ident, seq } => {
                        write!(
                            out,
                            "ICMP echo reply, id {ident}, seq {seq}, length {}",
                            data.len() + 8
                        )
                    }
                    IcmpRepr::DestUnreachable { code, .. } => {
                        write!(out, "ICMP {} unreachable", unreachable_name(code))
                    }
                    IcmpRepr::TimeExceeded { code } => {
                        write!(out, "ICMP time exceeded, code {code}")
                    }
                    IcmpRepr::Other { icmp_type, code } => {
                        write!(out, "ICMP type {icmp_type}, code {code}")
                    }
                };
            }
            Err(e) => {
                let _ = write!(out, "ICMP, {e}");
            }
        },
        protocol::UDP => {
            let _ = match super::UdpRepr::parse(ip.src, ip.dst, body) {
                Ok((udp, data)) => write!(
                    out,
                    "UDP, {} > {}, length {}",
                    udp.src_port,
                    udp.dst_port,
                    data.len()
                ),
                Err(e) => write!(out, "UDP, {e}"),
            };
        }
        protocol::TCP => {
            let _ = match super::TcpRepr::parse(ip.src, ip.dst, body) {
                Ok((tcp, data)) => {
                    let _ = write!(
                        out,
                        "TCP, {} > {}, Flags [{}], seq {}",
                        tcp.src_port, tcp.dst_port, tcp.flags, tcp.seq
                    );
                    if tcp.flags.has(super::tcp::Flags::ACK) {
                        let _ = write!(out, ", ack {}", tcp.ack);
                    }
                    write!(out, ", win {}, length {}", tcp.window, data.len())
                }
                Err(e) => write!(out, "TCP, {e}"),
            };
        }
        p => {
            let _ = write!(out, "ip-proto-{p} {}", body.len());
        }
    }
    let _ = write!(out, ", ttl {}", ip.ttl);
}

fn unreachable_name(code: u8) -> &'static str {
    match code {
        0 => "net",
        1 => "host",
        2 => "protocol",
        3 => "port",
        4 => "need-to-frag",
        _ => "destination",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_an_arp_request() {
        let mut frame = vec![0xff; 6];
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 2, 0x08, 0x06]);
        frame.extend_from_slice(&[
            0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1,
        ]);
        assert_eq!(
            describe(&frame),
            "02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff, ARP, length 42: Request who-has 10.0.0.1 tell 10.0.0.2"
        );
    }

    #[test]
    fn garbage_is_described_not_panicked_on() {
        assert_eq!(describe(&[1, 2, 3]), "ethernet truncated, length 3");
        let mut frame = vec![0xff; 12];
        frame.extend_from_slice(&[0x08, 0x00, 0x45]);
        assert_eq!(
            describe(&frame),
            "ff:ff:ff:ff:ff:ff > ff:ff:ff:ff:ff:ff, IPv4, length 15: truncated"
        );
    }
}

//! One readable line per frame, in tcpdump's conventions, for traces and teaching.
//!
//! `describe` never fails: whatever it cannot parse it names as such, so a tracer can
//! print hostile traffic too.
//!
//! # The format
//!
//! | frame | line |
//! |---|---|
//! | ARP (with link addresses, as `tcpdump -e`) | `02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff, ARP, length 42: Request who-has 10.0.0.1 tell 10.0.0.2` |
//! | | `02:00:00:00:00:01 > 02:00:00:00:00:02, ARP, length 42: Reply 10.0.0.1 is-at 02:00:00:00:00:01` |
//! | TCP | `10.0.0.1.51234 > 10.0.0.2.7: Flags [S], seq 123, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0` |
//! | TCP with data | `10.0.0.2.7 > 10.0.0.1.51234: Flags [P.], seq 5001:5007, ack 130, win 502, options [nop,nop,TS val 9 ecr 3], length 6` |
//! | UDP | `10.0.0.1.40000 > 10.0.0.2.7: UDP, length 5` |
//! | ICMP | `10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 1, length 64` |
//! | | `10.0.0.2 > 10.0.0.1: ICMP 10.0.0.2 udp port 9999 unreachable, length 36` |
//! | IPv4 fragments | `10.0.0.1 > 10.0.0.2: ICMP first fragment, id 4660, length 1480, MF` then `... ICMP fragment, id 4660, offset 1480, length 1480, MF` (offsets in bytes) |
//!
//! As in tcpdump: TCP flags are `S` SYN, `F` FIN, `R` RST, `P` PSH, `.` ACK; `seq a:b`
//! covers the data's bytes, `a` up to but not including `b`; `win` is the window field
//! as sent (before window scaling); options are listed in the order they are on the
//! wire. Unlike tcpdump's default, sequence numbers are absolute (its `-S`), and no
//! `IP` word leads IPv4 lines.

use core::fmt::Write;

use super::ipv4::protocol;
use super::{ArpOperation, ArpRepr, EtherType, EthernetRepr, IcmpRepr, Ipv4Repr};

/// Summarises an Ethernet frame in tcpdump's conventions (see the module docs):
/// ARP with the link addresses, as `tcpdump -e` prints it,
/// `02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff, ARP, length 42: Request who-has 10.0.0.1 tell 10.0.0.2`;
/// IPv4 as `tcpdump -S` prints it (absolute sequence numbers), e.g.
/// `10.0.0.1.51234 > 10.0.0.2.7: Flags [S], seq 123, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0`
/// or `10.0.0.3 > 10.0.0.2: ICMP echo request, id 7, seq 1, length 64`.
pub fn describe(frame: &[u8]) -> String {
    let mut out = String::with_capacity(120);
    let (eth, payload) = match EthernetRepr::parse(frame) {
        Ok(x) => x,
        Err(e) => return format!("ethernet {e}, length {}", frame.len()),
    };
    if eth.ethertype == EtherType::Ipv4 {
        describe_ipv4(&mut out, payload);
        return out;
    }
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
    if eth.ethertype == EtherType::Arp {
        describe_arp(&mut out, payload);
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
            let _ = write!(out, "IPv4, {e}");
            return;
        }
    };
    if ip.is_fragment() && ip.frag_offset != 0 {
        // Only the first fragment carries the transport header.
        let _ = write!(
            out,
            "{} > {}: {} fragment, id {}, offset {}, length {}{}",
            ip.src,
            ip.dst,
            protocol_name(ip.protocol),
            ip.ident,
            ip.frag_offset,
            body.len(),
            if ip.more_frags { ", MF" } else { "" },
        );
        return;
    }
    if ip.is_fragment() {
        let _ = write!(
            out,
            "{} > {}: {} first fragment, id {}, length {}, MF",
            ip.src,
            ip.dst,
            protocol_name(ip.protocol),
            ip.ident,
            body.len(),
        );
        return;
    }
    match ip.protocol {
        protocol::ICMP => {
            let _ = write!(out, "{} > {}: ", ip.src, ip.dst);
            describe_icmp(out, body);
        }
        protocol::UDP => {
            let _ = match super::UdpRepr::parse(ip.src, ip.dst, body) {
                Ok((udp, data)) => write!(
                    out,
                    "{}.{} > {}.{}: UDP, length {}",
                    ip.src,
                    udp.src_port,
                    ip.dst,
                    udp.dst_port,
                    data.len()
                ),
                Err(e) => write!(out, "{} > {}: UDP, {e}", ip.src, ip.dst),
            };
        }
        protocol::TCP => match super::TcpRepr::parse(ip.src, ip.dst, body) {
            Ok((tcp, data)) => {
                let _ = write!(
                    out,
                    "{}.{} > {}.{}: Flags [{}], seq {}",
                    ip.src, tcp.src_port, ip.dst, tcp.dst_port, tcp.flags, tcp.seq
                );
                if !data.is_empty() {
                    let _ = write!(out, ":{}", tcp.seq + data.len());
                }
                if tcp.flags.has(super::tcp::Flags::ACK) {
                    let _ = write!(out, ", ack {}", tcp.ack);
                }
                let _ = write!(out, ", win {}", tcp.window);
                describe_tcp_options(out, body);
                let _ = write!(out, ", length {}", data.len());
            }
            Err(e) => {
                let _ = write!(out, "{} > {}: TCP, {e}", ip.src, ip.dst);
            }
        },
        p => {
            let _ = write!(out, "{} > {}: ip-proto-{p} {}", ip.src, ip.dst, body.len());
        }
    }
}

fn protocol_name(p: u8) -> String {
    match p {
        protocol::ICMP => "ICMP".to_string(),
        protocol::UDP => "UDP".to_string(),
        protocol::TCP => "TCP".to_string(),
        p => format!("ip-proto-{p}"),
    }
}

fn describe_icmp(out: &mut String, body: &[u8]) {
    let (icmp, data) = match IcmpRepr::parse(body) {
        Ok(x) => x,
        Err(e) => {
            let _ = write!(out, "ICMP, {e}");
            return;
        }
    };
    let len = data.len() + 8;
    let _ = match icmp {
        IcmpRepr::EchoRequest { ident, seq } => {
            write!(
                out,
                "ICMP echo request, id {ident}, seq {seq}, length {len}"
            )
        }
        IcmpRepr::EchoReply { ident, seq } => {
            write!(out, "ICMP echo reply, id {ident}, seq {seq}, length {len}")
        }
        IcmpRepr::DestUnreachable { code, .. } => {
            // tcpdump names what was unreachable from the quoted datagram:
            // "ICMP 10.0.0.1 udp port 9999 unreachable".
            match (code, Ipv4Repr::parse_quoted(data)) {
                (3, Ok((quoted, rest))) if rest.len() >= 4 => {
                    let port = u16::from_be_bytes([rest[2], rest[3]]);
                    let proto = match quoted.protocol {
                        protocol::UDP => "udp",
                        protocol::TCP => "tcp",
                        _ => "ip",
                    };
                    write!(
                        out,
                        "ICMP {} {proto} port {port} unreachable, length {len}",
                        quoted.dst
                    )
                }
                (_, Ok((quoted, _))) => write!(
                    out,
                    "ICMP {} {} unreachable, length {len}",
                    quoted.dst,
                    unreachable_name(code)
                ),
                _ => write!(
                    out,
                    "ICMP {} unreachable, length {len}",
                    unreachable_name(code)
                ),
            }
        }
        IcmpRepr::TimeExceeded { code } => {
            write!(out, "ICMP time exceeded, code {code}, length {len}")
        }
        IcmpRepr::Other { icmp_type, code } => {
            write!(out, "ICMP type {icmp_type}, code {code}, length {len}")
        }
    };
}

/// tcpdump's `options [...]`, in wire order, straight from the header's option bytes:
/// `mss 1460`, `sackOK`, `TS val 1 ecr 0`, `nop`, `wscale 7`, `sack 1 {a:b}`, `eol`.
/// Nothing when the header has no options; `bad opts` where they stop making sense.
fn describe_tcp_options(out: &mut String, segment: &[u8]) {
    let Some(&offset) = segment.get(12) else {
        return;
    };
    let header_len = usize::from(offset >> 4) * 4;
    let Some(mut raw) = segment.get(20..header_len) else {
        return;
    };
    if raw.is_empty() {
        return;
    }
    let mut parts: Vec<String> = Vec::new();
    while let Some(&kind) = raw.first() {
        match kind {
            0 => {
                parts.push("eol".to_string());
                break;
            }
            1 => {
                parts.push("nop".to_string());
                raw = &raw[1..];
                continue;
            }
            _ => {}
        }
        let len = raw.get(1).map_or(0, |&l| usize::from(l));
        let Some(body) = raw.get(2..len.max(2)).filter(|_| len >= 2) else {
            parts.push("bad opts".to_string());
            break;
        };
        let be16 = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        parts.push(match (kind, body.len()) {
            (2, 2) => format!("mss {}", be16(body)),
            (3, 1) => format!("wscale {}", body[0]),
            (4, 0) => "sackOK".to_string(),
            (5, n) if n % 8 == 0 => {
                let blocks: String = body
                    .chunks(8)
                    .map(|b| format!("{{{}:{}}}", be32(&b[..4]), be32(&b[4..])))
                    .collect();
                format!("sack {} {blocks}", n / 8)
            }
            (8, 8) => format!("TS val {} ecr {}", be32(&body[..4]), be32(&body[4..])),
            (k, _) => format!("opt-{k}"),
        });
        raw = &raw[len..];
    }
    let _ = write!(out, ", options [{}]", parts.join(","));
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
        assert_eq!(describe(&frame), "IPv4, truncated");
    }

    /// A SYN as Linux sends it: the options in its order, with the padding nop.
    #[test]
    fn describes_a_syn_with_its_options_as_tcpdump_does() {
        use crate::wire::seq::Seq;
        use crate::wire::tcp::{Flags, Options, TcpRepr};
        let (src, dst) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let syn = TcpRepr {
            src_port: 51234,
            dst_port: 7,
            seq: Seq(123),
            flags: Flags::SYN,
            window: 64240,
            options: Options {
                mss: Some(1460),
                sack_permitted: true,
                timestamps: Some((1, 0)),
                window_scale: Some(7),
                ..Options::default()
            },
            ..TcpRepr::default()
        };
        let mut tcp = vec![0; syn.header_len()];
        syn.emit(src, dst, &[], &mut tcp);
        let frame = frame_of(src, dst, &tcp);
        let line = describe(&frame);
        assert!(
            line.starts_with(
                "10.0.0.1.51234 > 10.0.0.2.7: Flags [S], seq 123, win 64240, options [mss 1460,"
            ),
            "{line}"
        );
        for option in ["sackOK", "TS val 1 ecr 0", "wscale 7"] {
            assert!(line.contains(option), "{line}");
        }
        assert!(line.ends_with("], length 0"), "{line}");

        let data = TcpRepr {
            flags: Flags::ACK | Flags::PSH,
            seq: Seq(124),
            ack: Seq(900),
            options: Options::default(),
            ..syn
        };
        let mut tcp = vec![0; data.header_len() + 5];
        data.emit(src, dst, b"hello", &mut tcp);
        assert_eq!(
            describe(&frame_of(src, dst, &tcp)),
            "10.0.0.1.51234 > 10.0.0.2.7: Flags [P.], seq 124:129, ack 900, win 64240, length 5"
        );
    }

    /// An Ethernet frame carrying `tcp` in IPv4 from `src` to `dst`.
    fn frame_of(src: core::net::Ipv4Addr, dst: core::net::Ipv4Addr, tcp: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = (20 + tcp.len()) as u16;
        let mut ip = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ];
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let sum = crate::wire::checksum::checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(tcp);
        f
    }
}

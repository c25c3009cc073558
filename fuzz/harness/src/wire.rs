//! The `wire` target: every header parser on arbitrary bytes, and parse, emit, parse
//! again where a parser has an emitter: the second parse must give the first's result.
//! The first input byte picks the parser; for TCP and UDP, whose parsers verify the
//! checksum, its top bit asks for the checksum to be fixed first, so the fuzzer gets
//! past that check.

use std::net::Ipv4Addr;

use netstack_core::wire::checksum;
use netstack_core::wire::ipv4::protocol;
use netstack_core::wire::{ArpRepr, EthernetRepr, IcmpRepr, Ipv4Repr, TcpRepr, UdpRepr};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Writes the right checksum for `src` to `dst` at `at` (TCP 16, UDP 6) into a
/// segment, if it is long enough to have one.
pub fn fix_l4_checksum(buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, proto: u8, at: usize) {
    let Ok(len) = u16::try_from(buf.len()) else {
        return;
    };
    if buf.len() < at + 2 {
        return;
    }
    buf[at..at + 2].fill(0);
    let acc = checksum::pseudo_header(src, dst, proto, len);
    let mut sum = checksum::finish(checksum::accumulate(acc, buf));
    if proto == protocol::UDP && sum == 0 {
        sum = 0xffff; // RFC 768: a computed zero is sent as all ones
    }
    buf[at..at + 2].copy_from_slice(&sum.to_be_bytes());
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, a: T, b: T) -> Result<(), String> {
    if a == b {
        Ok(())
    } else {
        Err(format!(
            "{what}: parse, emit, parse changed {a:?} into {b:?}"
        ))
    }
}

/// Runs one input; `Err` when a round trip changed something.
pub fn run(data: &[u8]) -> Result<(), String> {
    let Some((&sel, rest)) = data.split_first() else {
        return Ok(());
    };
    let _ = netstack_core::wire::describe::describe(rest);
    match sel % 8 {
        0 => {
            if let Ok((repr, _)) = EthernetRepr::parse(rest) {
                let mut buf = [0; 14];
                repr.emit(&mut buf);
                same("ethernet", Ok(repr), EthernetRepr::parse(&buf).map(|r| r.0))?;
            }
        }
        1 => {
            if let Ok(repr) = ArpRepr::parse(rest) {
                let mut buf = [0; 28];
                repr.emit(&mut buf);
                same("arp", Ok(repr), ArpRepr::parse(&buf))?;
            }
        }
        2 => {
            if let Ok((repr, payload)) = Ipv4Repr::parse(rest) {
                let mut buf = vec![0; 20 + payload.len()];
                let repr = Ipv4Repr {
                    payload_len: payload.len(),
                    ..repr
                };
                repr.emit(&mut buf);
                buf[20..].copy_from_slice(payload);
                same("ipv4", Ok((repr, payload)), Ipv4Repr::parse(&buf))?;
            }
            let _ = Ipv4Repr::parse_quoted(rest);
        }
        3 => {
            if let Ok((repr, payload)) = IcmpRepr::parse(rest) {
                let mut buf = vec![0; 8 + payload.len()];
                let n = repr.emit(payload, &mut buf);
                same("icmp", Ok((repr, payload)), IcmpRepr::parse(&buf[..n]))?;
            }
        }
        4 | 5 => {
            let mut seg = rest.to_vec();
            if sel & 0x80 != 0 {
                fix_l4_checksum(&mut seg, SRC, DST, protocol::TCP, 16);
            }
            if let Ok((repr, payload)) = TcpRepr::parse(SRC, DST, &seg) {
                let mut buf = vec![0; repr.header_len() + payload.len()];
                let n = repr.emit(SRC, DST, payload, &mut buf);
                let (back, data) = TcpRepr::parse(SRC, DST, &buf[..n])
                    .map_err(|e| format!("tcp: emitted header does not parse: {e:?}"))?;
                // Options that do not fit the 40 bytes laid out as Linux lays them out
                // (MSS, timestamps and three SACK blocks, say: never sent together) are
                // not written at all rather than truncated (`Options::write`).
                let mut want = repr;
                if repr.header_len() == netstack_core::wire::tcp::HEADER_LEN {
                    want.options = netstack_core::wire::tcp::Options::default();
                }
                same("tcp", (want, payload), (back, data))?;
            }
        }
        _ => {
            let mut seg = rest.to_vec();
            if sel & 0x80 != 0 {
                fix_l4_checksum(&mut seg, SRC, DST, protocol::UDP, 6);
            }
            if let Ok((repr, payload)) = UdpRepr::parse(SRC, DST, &seg) {
                let mut buf = vec![0; 8 + payload.len()];
                let n = repr.emit(SRC, DST, payload, &mut buf);
                same(
                    "udp",
                    Ok((repr, payload)),
                    UdpRepr::parse(SRC, DST, &buf[..n]),
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_tcp_header_round_trips() {
        let mut input = vec![0x84];
        let mut seg = vec![0; 24];
        seg[12] = 6 << 4; // data offset 6: four bytes of options
        seg[13] = 0x12;
        seg[20..24].copy_from_slice(&[2, 4, 5, 0xb4]); // MSS 1460
        input.extend_from_slice(&seg);
        assert_eq!(run(&input), Ok(()));
        let mut fixed = seg.clone();
        fix_l4_checksum(&mut fixed, SRC, DST, protocol::TCP, 16);
        let (repr, _) = TcpRepr::parse(SRC, DST, &fixed).unwrap();
        assert_eq!(repr.options.mss, Some(1460));
    }
}

//! ICMP messages (RFC 792).
//!
//! Every message starts with type (1), code (1), checksum (2) and four type-specific
//! bytes; the checksum covers the whole message. Parsing verifies it (RFC 1122 3.2.2:
//! a message with a bad checksum is silently discarded).

use etherparse::{IcmpEchoHeader, Icmpv4Header, Icmpv4Slice, Icmpv4Type};

use super::{checksum, WireError};

/// Length of the ICMP header (type, code, checksum, four bytes).
pub const HEADER_LEN: usize = 8;

/// The ICMP messages the stack distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpRepr {
    /// Type 8: echo request.
    EchoRequest {
        /// Identifier chosen by the sender.
        ident: u16,
        /// Sequence number.
        seq: u16,
    },
    /// Type 0: echo reply.
    EchoReply {
        /// Identifier copied from the request.
        ident: u16,
        /// Sequence number copied from the request.
        seq: u16,
    },
    /// Type 3: destination unreachable; the payload quotes the offending IP header.
    DestUnreachable {
        /// 0 net, 1 host, 2 protocol, 3 port, 4 fragmentation needed and DF set, ...
        code: u8,
        /// Next-hop MTU for code 4 (RFC 1191), else 0.
        next_hop_mtu: u16,
    },
    /// Type 11: time exceeded.
    TimeExceeded {
        /// 0 in transit, 1 reassembly.
        code: u8,
    },
    /// Any other type.
    Other {
        /// The type field.
        icmp_type: u8,
        /// The code field.
        code: u8,
    },
}

impl IcmpRepr {
    /// Parses a message, verifying its checksum, and returns it with its payload.
    pub fn parse(buf: &[u8]) -> Result<(IcmpRepr, &[u8]), WireError> {
        let slice = Icmpv4Slice::from_slice(buf).map_err(|_| WireError::Truncated)?;
        if checksum::checksum(buf) != 0 {
            return Err(WireError::BadChecksum);
        }
        let rest = slice.bytes5to8();
        let hi = u16::from_be_bytes([rest[0], rest[1]]);
        let lo = u16::from_be_bytes([rest[2], rest[3]]);
        let code = slice.code_u8();
        let repr = match slice.type_u8() {
            8 if code == 0 => IcmpRepr::EchoRequest { ident: hi, seq: lo },
            0 if code == 0 => IcmpRepr::EchoReply { ident: hi, seq: lo },
            3 => IcmpRepr::DestUnreachable {
                code,
                next_hop_mtu: if code == 4 { lo } else { 0 },
            },
            11 => IcmpRepr::TimeExceeded { code },
            t => IcmpRepr::Other { icmp_type: t, code },
        };
        Ok((repr, &buf[HEADER_LEN..]))
    }

    /// Writes the message header followed by `payload` into `buf`, with its checksum.
    /// Returns the number of bytes written (`HEADER_LEN + payload.len()`).
    ///
    /// # Panics
    /// If `buf` is shorter than `HEADER_LEN + payload.len()`.
    pub fn emit(&self, payload: &[u8], buf: &mut [u8]) -> usize {
        let icmp_type = match *self {
            IcmpRepr::EchoRequest { ident, seq } => {
                Icmpv4Type::EchoRequest(IcmpEchoHeader { id: ident, seq })
            }
            IcmpRepr::EchoReply { ident, seq } => {
                Icmpv4Type::EchoReply(IcmpEchoHeader { id: ident, seq })
            }
            IcmpRepr::DestUnreachable { code, next_hop_mtu } => {
                let bytes5to8 = [0, 0, (next_hop_mtu >> 8) as u8, next_hop_mtu as u8];
                Icmpv4Type::Unknown {
                    type_u8: 3,
                    code_u8: code,
                    bytes5to8,
                }
            }
            IcmpRepr::TimeExceeded { code } => Icmpv4Type::Unknown {
                type_u8: 11,
                code_u8: code,
                bytes5to8: [0; 4],
            },
            IcmpRepr::Other { icmp_type, code } => Icmpv4Type::Unknown {
                type_u8: icmp_type,
                code_u8: code,
                bytes5to8: [0; 4],
            },
        };
        let header = Icmpv4Header::with_checksum(icmp_type, payload);
        let bytes = header.to_bytes();
        let end = HEADER_LEN + payload.len();
        buf[..HEADER_LEN].copy_from_slice(&bytes[..HEADER_LEN]);
        buf[HEADER_LEN..end].copy_from_slice(payload);
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An echo request (id 0x0007, seq 1) with 4 payload bytes.
    const ECHO: [u8; 12] = [
        0x08, 0x00, 0x5a, 0x5a, // type 8 code 0, checksum
        0x00, 0x07, 0x00, 0x01, // id 7, seq 1
        0xde, 0xad, 0xbe, 0xef, // payload
    ];

    #[test]
    fn parses_echo_request() {
        let (repr, payload) = IcmpRepr::parse(&ECHO).unwrap();
        assert_eq!(repr, IcmpRepr::EchoRequest { ident: 7, seq: 1 });
        assert_eq!(payload, &[0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn emits_byte_exact() {
        let mut buf = [0u8; 12];
        let n =
            IcmpRepr::EchoRequest { ident: 7, seq: 1 }.emit(&[0xde, 0xad, 0xbe, 0xef], &mut buf);
        assert_eq!(n, 12);
        assert_eq!(buf, ECHO);
    }

    #[test]
    fn reply_round_trips_and_checks_checksum() {
        let mut buf = [0u8; 12];
        IcmpRepr::EchoReply { ident: 7, seq: 1 }.emit(&ECHO[8..], &mut buf);
        assert_eq!(
            IcmpRepr::parse(&buf).unwrap().0,
            IcmpRepr::EchoReply { ident: 7, seq: 1 }
        );
        buf[11] ^= 1;
        assert_eq!(IcmpRepr::parse(&buf), Err(WireError::BadChecksum));
        assert_eq!(IcmpRepr::parse(&ECHO[..7]), Err(WireError::Truncated));
    }

    #[test]
    fn unreachable_carries_the_mtu_for_frag_needed() {
        let mut buf = [0u8; 8];
        IcmpRepr::DestUnreachable {
            code: 4,
            next_hop_mtu: 1400,
        }
        .emit(&[], &mut buf);
        assert_eq!(
            IcmpRepr::parse(&buf).unwrap().0,
            IcmpRepr::DestUnreachable {
                code: 4,
                next_hop_mtu: 1400
            }
        );
    }
}

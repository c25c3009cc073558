//! The IPv4 header (RFC 791 section 3.1).
//!
//! Parsing checks, in RFC 1122 3.2.1.1-3.2.1.2 order: the buffer holds 20 bytes, the
//! version is 4, IHL is at least 5 and fits, total length covers the header and fits in
//! the buffer, and the header checksum verifies. Bytes past total length (Ethernet padding)
//! are trimmed. Options are length-checked by IHL and skipped: we act on none of them,
//! which RFC 1122 3.2.1.8 permits for a host that does not source-route.

use core::net::Ipv4Addr;

use etherparse::{IpFragOffset, IpNumber, Ipv4Header, Ipv4HeaderSlice};

use super::{checksum, WireError};

/// Length of a header without options, which is all we emit.
pub const HEADER_LEN: usize = 20;

/// IP protocol numbers the stack dispatches on.
pub mod protocol {
    /// ICMP, RFC 792.
    pub const ICMP: u8 = 1;
    /// TCP, RFC 9293.
    pub const TCP: u8 = 6;
    /// UDP, RFC 768.
    pub const UDP: u8 = 17;
}

/// The fields of an IPv4 header the stack acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Upper-layer protocol number.
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// Identification, for reassembly.
    pub ident: u16,
    /// DF: do not fragment.
    pub dont_frag: bool,
    /// MF: more fragments follow.
    pub more_frags: bool,
    /// Fragment offset in bytes (a multiple of 8).
    pub frag_offset: u16,
    /// Bytes of payload after the header.
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Parses a header, verifying its checksum, and returns it with the payload.
    ///
    /// Errors: [`WireError::Unsupported`] for a version other than 4,
    /// [`WireError::Malformed`] for an IHL below 5 or a total length shorter than the
    /// header, [`WireError::Truncated`] when the buffer is shorter than the header or the
    /// total length, [`WireError::BadChecksum`] when the header checksum fails.
    pub fn parse(buf: &[u8]) -> Result<(Ipv4Repr, &[u8]), WireError> {
        if buf.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if buf[0] >> 4 != 4 {
            return Err(WireError::Unsupported);
        }
        let header = Ipv4HeaderSlice::from_slice(buf).map_err(|e| match e {
            etherparse::err::ipv4::HeaderSliceError::Len(_) => WireError::Truncated,
            etherparse::err::ipv4::HeaderSliceError::Content(_) => WireError::Malformed,
        })?;
        let header_len = header.slice().len();
        let total_len = usize::from(header.total_len());
        if total_len < header_len {
            return Err(WireError::Malformed);
        }
        if total_len > buf.len() {
            return Err(WireError::Truncated);
        }
        // RFC 1122 3.2.1.2: a host MUST verify the header checksum and silently discard on failure.
        if checksum::checksum(header.slice()) != 0 {
            return Err(WireError::BadChecksum);
        }
        Ok((
            Ipv4Repr::from_header(&header, total_len - header_len),
            &buf[header_len..total_len],
        ))
    }

    /// Parses the header of a datagram quoted in an ICMP error (RFC 792: the original
    /// header plus at least 8 bytes of its data). The quote is usually cut short, so the
    /// total length and the checksum are not checked; version and IHL are. Returns the
    /// header and whatever data bytes were quoted.
    pub fn parse_quoted(buf: &[u8]) -> Result<(Ipv4Repr, &[u8]), WireError> {
        if buf.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if buf[0] >> 4 != 4 {
            return Err(WireError::Unsupported);
        }
        let header = Ipv4HeaderSlice::from_slice(buf).map_err(|_| WireError::Malformed)?;
        let header_len = header.slice().len();
        let payload_len = usize::from(header.total_len()).saturating_sub(header_len);
        Ok((
            Ipv4Repr::from_header(&header, payload_len),
            &buf[header_len..],
        ))
    }

    fn from_header(header: &Ipv4HeaderSlice<'_>, payload_len: usize) -> Ipv4Repr {
        Ipv4Repr {
            src: header.source_addr(),
            dst: header.destination_addr(),
            protocol: header.protocol().0,
            ttl: header.ttl(),
            ident: header.identification(),
            dont_frag: header.dont_fragment(),
            more_frags: header.more_fragments(),
            frag_offset: header.fragments_offset().value() * 8,
            payload_len,
        }
    }

    /// True when this datagram is a fragment of a larger one (RFC 791: MF set or offset > 0).
    pub fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }

    /// Writes a 20-byte header (no options) with a correct checksum into `buf`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`HEADER_LEN`], or `payload_len` exceeds 65515 bytes or
    /// `frag_offset` is not a multiple of 8 below 65536 (caller bugs).
    pub fn emit(&self, buf: &mut [u8]) {
        let payload_len = u16::try_from(self.payload_len).expect("IPv4 payload over 65515 bytes");
        let mut header = Ipv4Header::new(
            payload_len,
            self.ttl,
            IpNumber(self.protocol),
            self.src.octets(),
            self.dst.octets(),
        )
        .expect("IPv4 payload over 65515 bytes");
        header.identification = self.ident;
        header.dont_fragment = self.dont_frag;
        header.more_fragments = self.more_frags;
        header.fragment_offset =
            IpFragOffset::try_new(self.frag_offset / 8).expect("fragment offset over 65535");
        header.header_checksum = header.calc_header_checksum();
        buf[..HEADER_LEN].copy_from_slice(&header.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An ICMP echo request header from 10.0.0.1 to 10.0.0.2 (84 bytes total), as ping sends it.
    const HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x54, // version 4, IHL 5, TOS 0, total length 84
        0x12, 0x34, 0x40, 0x00, // ident 0x1234, DF, offset 0
        0x40, 0x01, 0x14, 0x73, // TTL 64, protocol ICMP, checksum
        10, 0, 0, 1, // src
        10, 0, 0, 2, // dst
    ];

    fn datagram() -> Vec<u8> {
        let mut d = HEADER.to_vec();
        d.extend(std::iter::repeat_n(0xab, 64));
        d
    }

    fn repr() -> Ipv4Repr {
        Ipv4Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: protocol::ICMP,
            ttl: 64,
            ident: 0x1234,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            payload_len: 64,
        }
    }

    #[test]
    fn parses_header_and_trims_padding() {
        let mut d = datagram();
        d.extend_from_slice(&[0; 6]); // Ethernet padding
        let (r, payload) = Ipv4Repr::parse(&d).unwrap();
        assert_eq!(r, repr());
        assert_eq!(payload.len(), 64);
    }

    #[test]
    fn emits_byte_exact() {
        let mut buf = [0u8; HEADER_LEN];
        repr().emit(&mut buf);
        assert_eq!(buf, HEADER);
    }

    #[test]
    fn options_are_skipped() {
        let mut d = vec![
            0x46, 0x00, 0x00, 0x20, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 1, 1, 0,
        ];
        d.extend_from_slice(&[9; 8]);
        let c = checksum::checksum(&d[..24]);
        d[10..12].copy_from_slice(&c.to_be_bytes());
        let (r, payload) = Ipv4Repr::parse(&d).unwrap();
        assert_eq!(r.payload_len, 8);
        assert_eq!(payload, &[9; 8]);
    }

    #[test]
    fn every_bad_field_is_an_error_not_a_panic() {
        let good = datagram();
        let mut bad_version = good.clone();
        bad_version[0] = 0x65;
        assert_eq!(Ipv4Repr::parse(&bad_version), Err(WireError::Unsupported));
        let mut small_ihl = good.clone();
        small_ihl[0] = 0x44;
        assert_eq!(Ipv4Repr::parse(&small_ihl), Err(WireError::Malformed));
        let mut huge_ihl = good.clone();
        huge_ihl[0] = 0x4f;
        huge_ihl.truncate(40);
        assert_eq!(Ipv4Repr::parse(&huge_ihl), Err(WireError::Truncated));
        let mut short_total = good.clone();
        short_total[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert_eq!(Ipv4Repr::parse(&short_total), Err(WireError::Malformed));
        let mut long_total = good.clone();
        long_total[2..4].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(Ipv4Repr::parse(&long_total), Err(WireError::Truncated));
        let mut bad_sum = good.clone();
        bad_sum[8] = 63; // TTL changed, checksum not updated
        assert_eq!(Ipv4Repr::parse(&bad_sum), Err(WireError::BadChecksum));
        for len in 0..HEADER_LEN {
            assert_eq!(Ipv4Repr::parse(&good[..len]), Err(WireError::Truncated));
        }
    }

    #[test]
    fn fragment_fields_round_trip() {
        let r = Ipv4Repr {
            more_frags: true,
            frag_offset: 1480,
            dont_frag: false,
            ..repr()
        };
        let mut buf = vec![0u8; HEADER_LEN + 64];
        r.emit(&mut buf);
        let (parsed, _) = Ipv4Repr::parse(&buf).unwrap();
        assert_eq!(parsed, r);
        assert!(parsed.is_fragment());
    }
}

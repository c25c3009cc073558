//! Ethernet II framing (IEEE 802.3 with an EtherType, RFC 894 for IPv4 over it).
//!
//! Layout: destination MAC (6), source MAC (6), EtherType (2), payload. The FCS is
//! stripped by the device; frames shorter than 60 bytes are legal on TAP devices and we
//! neither require nor add padding.

use etherparse::Ethernet2HeaderSlice;

use super::{MacAddr, WireError};

/// Length of the Ethernet II header.
pub const HEADER_LEN: usize = 14;

/// The EtherTypes the stack dispatches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtherType {
    /// 0x0800, RFC 894.
    Ipv4,
    /// 0x0806, RFC 826.
    Arp,
    /// Anything else, kept so it can be counted and traced.
    Other(u16),
}

impl EtherType {
    /// The value on the wire.
    pub fn value(self) -> u16 {
        match self {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Other(v) => v,
        }
    }
}

impl From<u16> for EtherType {
    fn from(v: u16) -> EtherType {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            other => EtherType::Other(other),
        }
    }
}

/// The fields of an Ethernet II header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination address.
    pub dst: MacAddr,
    /// Source address.
    pub src: MacAddr,
    /// What the payload is.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Splits a frame into its header and payload.
    pub fn parse(frame: &[u8]) -> Result<(EthernetRepr, &[u8]), WireError> {
        let header = Ethernet2HeaderSlice::from_slice(frame).map_err(|_| WireError::Truncated)?;
        let repr = EthernetRepr {
            dst: MacAddr(header.destination()),
            src: MacAddr(header.source()),
            ethertype: EtherType::from(header.ether_type().0),
        };
        Ok((repr, &frame[HEADER_LEN..]))
    }

    /// Writes the header into the first [`HEADER_LEN`] bytes of `buf`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`HEADER_LEN`].
    pub fn emit(&self, buf: &mut [u8]) {
        let header = etherparse::Ethernet2Header {
            destination: self.dst.0,
            source: self.src.0,
            ether_type: etherparse::EtherType(self.ethertype.value()),
        };
        buf[..HEADER_LEN].copy_from_slice(&header.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A broadcast ARP frame as Linux puts it on tap0 (header only, then 2 payload bytes).
    const FRAME: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst: broadcast
        0x22, 0x12, 0x0f, 0x58, 0x80, 0xdb, // src
        0x08, 0x06, // EtherType: ARP
        0xaa, 0xbb, // payload
    ];

    #[test]
    fn parses_header_and_payload() {
        let (repr, payload) = EthernetRepr::parse(&FRAME).unwrap();
        assert_eq!(repr.dst, MacAddr::BROADCAST);
        assert_eq!(repr.src, MacAddr([0x22, 0x12, 0x0f, 0x58, 0x80, 0xdb]));
        assert_eq!(repr.ethertype, EtherType::Arp);
        assert_eq!(payload, &[0xaa, 0xbb]);
    }

    #[test]
    fn emits_byte_exact() {
        let (repr, _) = EthernetRepr::parse(&FRAME).unwrap();
        let mut buf = [0u8; HEADER_LEN];
        repr.emit(&mut buf);
        assert_eq!(buf, FRAME[..HEADER_LEN]);
    }

    #[test]
    fn short_frames_are_errors() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                EthernetRepr::parse(&FRAME[..len]),
                Err(WireError::Truncated)
            );
        }
    }
}

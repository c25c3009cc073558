//! The UDP header (RFC 768).
//!
//! Layout (8 bytes): source port, destination port, length (header + data), checksum.
//! The checksum covers the IPv4 pseudo-header, the header and the data. A transmitted
//! checksum of zero means "none computed" (RFC 768; RFC 1122 4.1.3.4 lets a receiver
//! accept it); a computed checksum of zero is sent as 0xffff.

use core::net::Ipv4Addr;

use etherparse::{UdpHeader, UdpHeaderSlice};

use super::checksum;
use super::ipv4::protocol;
use super::WireError;

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

/// The fields of a UDP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

impl UdpRepr {
    /// Parses a UDP datagram carried from `src` to `dst`, verifying its length field and
    /// (unless it is zero) its checksum, and returns the header with the data.
    ///
    /// The length field must cover the header and fit the IP payload; bytes past it are
    /// ignored (RFC 768 defines the datagram by its length field). Destination port 0 is
    /// reserved and refused as [`WireError::Malformed`].
    pub fn parse(src: Ipv4Addr, dst: Ipv4Addr, buf: &[u8]) -> Result<(UdpRepr, &[u8]), WireError> {
        UdpRepr::parse_checking(src, dst, buf, true)
    }

    /// Like [`parse`](UdpRepr::parse) for a datagram whose checksum the link vouched for
    /// (receive checksum offload): the checksum is not summed again.
    pub fn parse_verified(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        buf: &[u8],
    ) -> Result<(UdpRepr, &[u8]), WireError> {
        UdpRepr::parse_checking(src, dst, buf, false)
    }

    fn parse_checking(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        buf: &[u8],
        verify: bool,
    ) -> Result<(UdpRepr, &[u8]), WireError> {
        let header = UdpHeaderSlice::from_slice(buf).map_err(|_| WireError::Truncated)?;
        let len = usize::from(header.length());
        if len < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if len > buf.len() {
            return Err(WireError::Truncated);
        }
        let datagram = &buf[..len];
        if verify && header.checksum() != 0 {
            let acc = checksum::pseudo_header(src, dst, protocol::UDP, len as u16);
            if checksum::finish(checksum::accumulate(acc, datagram)) != 0 {
                return Err(WireError::BadChecksum);
            }
        }
        if header.destination_port() == 0 {
            return Err(WireError::Malformed);
        }
        let repr = UdpRepr {
            src_port: header.source_port(),
            dst_port: header.destination_port(),
        };
        Ok((repr, &datagram[HEADER_LEN..]))
    }

    /// Writes the header and `data` into `buf`, with the checksum computed for `src` to
    /// `dst`. Returns the bytes written.
    ///
    /// # Panics
    /// If `buf` is shorter than `HEADER_LEN + data.len()` or that exceeds 65535.
    pub fn emit(&self, src: Ipv4Addr, dst: Ipv4Addr, data: &[u8], buf: &mut [u8]) -> usize {
        let len = HEADER_LEN + data.len();
        let len16 = u16::try_from(len).expect("UDP datagram over 65535 bytes");
        buf[HEADER_LEN..len].copy_from_slice(data);
        let header = UdpHeader {
            source_port: self.src_port,
            destination_port: self.dst_port,
            length: len16,
            checksum: 0,
        };
        buf[..HEADER_LEN].copy_from_slice(&header.to_bytes());
        let acc = checksum::pseudo_header(src, dst, protocol::UDP, len16);
        let sum = match checksum::finish(checksum::accumulate(acc, &buf[..len])) {
            0 => 0xffff,
            s => s,
        };
        buf[6..8].copy_from_slice(&sum.to_be_bytes());
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    // 10.0.0.1:40000 > 10.0.0.2:7, "hi\n".
    fn datagram() -> Vec<u8> {
        let mut buf = vec![0; 11];
        UdpRepr {
            src_port: 40000,
            dst_port: 7,
        }
        .emit(SRC, DST, b"hi\n", &mut buf);
        buf
    }

    #[test]
    fn emits_header_fields_byte_exact() {
        let d = datagram();
        assert_eq!(&d[..6], &[0x9c, 0x40, 0x00, 0x07, 0x00, 0x0b]);
        assert_eq!(&d[8..], b"hi\n");
    }

    #[test]
    fn round_trips_and_verifies_the_checksum() {
        let d = datagram();
        let (r, data) = UdpRepr::parse(SRC, DST, &d).unwrap();
        assert_eq!(
            r,
            UdpRepr {
                src_port: 40000,
                dst_port: 7
            }
        );
        assert_eq!(data, b"hi\n");
        // The pseudo-header is covered: the same bytes from another source fail.
        assert_eq!(
            UdpRepr::parse(Ipv4Addr::new(10, 0, 0, 9), DST, &d),
            Err(WireError::BadChecksum)
        );
        let mut flipped = d.clone();
        flipped[9] ^= 1;
        assert_eq!(
            UdpRepr::parse(SRC, DST, &flipped),
            Err(WireError::BadChecksum)
        );
    }

    #[test]
    fn zero_checksum_means_none() {
        let mut d = datagram();
        d[6] = 0;
        d[7] = 0;
        d[9] ^= 1;
        assert!(UdpRepr::parse(SRC, DST, &d).is_ok());
    }

    #[test]
    fn length_field_rules() {
        let mut d = datagram();
        d.extend_from_slice(&[0; 5]); // trailing bytes past the length field are ignored
        assert_eq!(UdpRepr::parse(SRC, DST, &d).unwrap().1, b"hi\n");
        let mut short = datagram();
        short[4..6].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(UdpRepr::parse(SRC, DST, &short), Err(WireError::Malformed));
        let mut long = datagram();
        long[4..6].copy_from_slice(&12u16.to_be_bytes());
        assert_eq!(UdpRepr::parse(SRC, DST, &long), Err(WireError::Truncated));
        for len in 0..HEADER_LEN {
            assert_eq!(
                UdpRepr::parse(SRC, DST, &datagram()[..len]),
                Err(WireError::Truncated)
            );
        }
    }
}

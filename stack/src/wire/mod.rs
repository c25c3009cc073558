//! Wire formats: one file per protocol.
//!
//! # The contract
//! Every `parse` function takes untrusted bytes straight from the wire. It checks the
//! length once (through etherparse's checked slices, or by hand), and from then on no
//! accessor can index out of bounds: a short or inconsistent buffer is an `Err`, never a
//! panic. Checksums are verified here too, because etherparse does not verify them when
//! slicing. Every `emit` function writes into a buffer the caller sized with the matching
//! `*_LEN` constant or `buffer_len()`; emitting into a smaller buffer is a caller bug and
//! panics (documented under `# Panics`).
//!
//! Each protocol has a plain *representation* type (`EthernetRepr`, `ArpRepr`,
//! `Ipv4Repr`, `IcmpRepr`, `UdpRepr`, `TcpRepr`) holding the fields the stack acts on, so
//! the protocol logic never touches raw offsets. TCP sequence numbers ([`seq`]) live here
//! too, since the TCP header is made of them.

pub mod arp;
pub mod checksum;
pub mod describe;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod seq;
pub mod tcp;
pub mod udp;

use core::fmt;
use core::str::FromStr;

pub use arp::{ArpOperation, ArpRepr};
pub use ethernet::{EtherType, EthernetRepr};
pub use icmp::IcmpRepr;
pub use ipv4::Ipv4Repr;
pub use tcp::TcpRepr;
pub use udp::UdpRepr;

/// Why a buffer could not be parsed. Each maps to a drop counter in the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than its header or its own length field says.
    Truncated,
    /// A field holds a value the format does not allow (bad version, IHL < 5, ...).
    Malformed,
    /// The checksum does not match the contents.
    BadChecksum,
    /// Well-formed, but a variant we do not handle (e.g. non-Ethernet/IPv4 ARP).
    Unsupported,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireError::Truncated => "truncated",
            WireError::Malformed => "malformed",
            WireError::BadChecksum => "bad checksum",
            WireError::Unsupported => "unsupported",
        })
    }
}

/// A 48-bit Ethernet (MAC) address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// 00:00:00:00:00:00, used as the unknown target in ARP requests.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The address as bytes.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// True for ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// True when the group bit (least significant bit of the first octet) is set.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// True for an address a station may own: not group, not all zeros.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast() && *self != Self::ZERO
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The error from parsing a MAC address string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacParseError;

impl fmt::Display for MacParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected a MAC address like 02:00:00:00:00:02")
    }
}

impl std::error::Error for MacParseError {}

impl FromStr for MacAddr {
    type Err = MacParseError;
    /// Parses six two-digit hex octets separated by `:` or `-`.
    fn from_str(s: &str) -> Result<MacAddr, MacParseError> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in out.iter_mut() {
            let part = parts.next().ok_or(MacParseError)?;
            if part.len() != 2 {
                return Err(MacParseError);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| MacParseError)?;
        }
        if parts.next().is_some() {
            return Err(MacParseError);
        }
        Ok(MacAddr(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trips_through_text() {
        let mac: MacAddr = "02:00:00:00:00:02".parse().unwrap();
        assert_eq!(mac, MacAddr([2, 0, 0, 0, 0, 2]));
        assert_eq!(mac.to_string(), "02:00:00:00:00:02");
        assert!(mac.is_unicast());
        assert!(MacAddr::BROADCAST.is_multicast());
        for bad in [
            "",
            "02:00:00:00:00",
            "02:00:00:00:00:02:03",
            "2:0:0:0:0:2",
            "zz:00:00:00:00:02",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad:?} parsed");
        }
    }
}

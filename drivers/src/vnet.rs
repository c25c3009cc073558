//! The virtio-net header a TAP opened with `IFF_VNET_HDR` puts before every frame, in
//! both directions (`struct virtio_net_hdr`, 10 bytes, virtio 1.x section 5.1.6, in the
//! host's byte order for a legacy TAP).
//!
//! Received, it says whether the kernel left the checksum for us to complete
//! (`NEEDS_CSUM`, Linux's `CHECKSUM_PARTIAL`) and whether the frame is a GSO super-frame
//! (a TCP segment of up to 64 KB that the kernel did not cut at the MSS). Sent, it asks
//! the kernel to do both for us: [`TxOffload`] says what.

use netstack_core::outbound::TxOffload;

/// Bytes of the header (without the `num_buffers` field of mergeable buffers).
pub(crate) const LEN: usize = 10;

/// `flags`: the checksum from `csum_start` on is partial; complete it.
const F_NEEDS_CSUM: u8 = 1;
/// `flags`: the kernel verified the checksum (`CHECKSUM_UNNECESSARY`).
const F_DATA_VALID: u8 = 2;
/// `gso_type`: not a GSO frame.
const GSO_NONE: u8 = 0;
/// `gso_type`: an IPv4 TCP segment to cut at `gso_size`.
const GSO_TCPV4: u8 = 1;
/// `gso_type` bit: the segment carries ECN's CWR (the peer set it; we never do).
const GSO_ECN: u8 = 0x80;

/// A received header, as far as the stack cares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RxHeader {
    /// The transport checksum is partial (`NEEDS_CSUM`).
    pub needs_checksum: bool,
    /// The kernel verified the transport checksum (`DATA_VALID`).
    pub data_valid: bool,
    /// The frame is a GSO super-frame, longer than the MTU allows.
    pub gso: bool,
}

/// Reads the header the kernel wrote. Any bytes are acceptable: unknown flags and GSO
/// types are only reported, and the frame is judged by the stack as usual.
pub(crate) fn parse(hdr: &[u8; LEN]) -> RxHeader {
    RxHeader {
        needs_checksum: hdr[0] & F_NEEDS_CSUM != 0,
        data_valid: hdr[0] & F_DATA_VALID != 0,
        gso: hdr[1] & !GSO_ECN != GSO_NONE,
    }
}

/// The header for a frame we send: all zero (a finished frame), or the segmentation and
/// checksum work `offload` asks of the kernel.
pub(crate) fn emit(offload: Option<&TxOffload>) -> [u8; LEN] {
    let mut hdr = [0u8; LEN];
    if let Some(o) = offload {
        hdr[0] = F_NEEDS_CSUM;
        hdr[1] = GSO_TCPV4;
        hdr[2..4].copy_from_slice(&o.header_len.to_ne_bytes());
        hdr[4..6].copy_from_slice(&o.segment_size.to_ne_bytes());
        hdr[6..8].copy_from_slice(&o.checksum_start.to_ne_bytes());
        hdr[8..10].copy_from_slice(&o.checksum_offset.to_ne_bytes());
    }
    hdr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tso_frame_asks_for_segmentation_and_the_checksum() {
        let o = TxOffload {
            segment_size: 1448,
            header_len: 66,
            checksum_start: 34,
            checksum_offset: 16,
        };
        let hdr = emit(Some(&o));
        assert_eq!(hdr[..2], [F_NEEDS_CSUM, GSO_TCPV4]);
        assert_eq!(u16::from_ne_bytes([hdr[4], hdr[5]]), 1448);
        assert_eq!(u16::from_ne_bytes([hdr[6], hdr[7]]), 34);
        assert_eq!(emit(None), [0; LEN]);
    }

    #[test]
    fn received_headers_are_read_whatever_their_bytes() {
        let mut hdr = [0u8; LEN];
        assert_eq!(parse(&hdr), RxHeader::default());
        hdr[0] = F_NEEDS_CSUM;
        hdr[1] = GSO_TCPV4 | GSO_ECN;
        assert_eq!(
            parse(&hdr),
            RxHeader {
                needs_checksum: true,
                data_valid: false,
                gso: true
            }
        );
        assert!(parse(&[0xff; LEN]).gso);
        hdr[0] = F_DATA_VALID;
        assert!(parse(&hdr).data_valid && !parse(&hdr).needs_checksum);
    }
}

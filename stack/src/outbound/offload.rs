//! What a frame asks of a link that offloads work from the stack: segmentation (TSO)
//! and the transport checksum.
//!
//! A link that can cut one large TCP segment into MSS-sized ones (a TAP with the
//! virtio-net header, a NIC) lets TCP hand down up to 64 KB at once; the stack builds one
//! IPv4 datagram of that size and marks the frame with a [`TxOffload`]. The driver passes
//! the mark to the device, which writes each segment's IP header (length, ID, checksum)
//! and TCP header (sequence number, flags, checksum) as Linux's GSO does. The stack
//! itself still counts real segments: congestion control and the counters see bytes and
//! MSS-sized segments, not frames.

/// What a link does for the stack, as the runtime learned it from the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkOffload {
    /// The link segments TCP for us (TSO for IPv4): TCP may hand down segments of up to
    /// [`MAX_TSO_PAYLOAD`] bytes of data, which the link cuts at the MSS.
    pub tso: bool,
}

/// The most TCP data in one segment handed to a link doing TSO: it fits a 64 KB IPv4
/// datagram (65535 bytes) beside the largest headers, 20 bytes of IP and 60 of TCP
/// (Linux's GSO limit is the same 64 KB).
pub const MAX_TSO_PAYLOAD: usize = 65000;

/// The work a queued frame leaves to the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxOffload {
    /// Cut the TCP segment into segments of this much data each (the MSS less the options
    /// every segment carries): a virtio-net `gso_size`.
    pub segment_size: u16,
    /// Bytes from the start of the frame to the end of the TCP header: what each segment
    /// repeats (a virtio-net `hdr_len`).
    pub header_len: u16,
    /// Where the checksummed bytes start, from the start of the frame (the TCP header).
    /// The checksum field holds only the pseudo-header sum (RFC 9293 3.1 with the
    /// datagram's whole length), as Linux's `CHECKSUM_PARTIAL`: the link completes it.
    pub checksum_start: u16,
    /// Where the checksum field lies, from `checksum_start` (16 for TCP).
    pub checksum_offset: u16,
}

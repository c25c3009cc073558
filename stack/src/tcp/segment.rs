//! What a connection hands out to send: a header, and which of its bytes follow it.

use crate::wire::tcp::TcpRepr;

/// One segment to put on the wire: the header, and which bytes of the send buffer follow
/// it. Read them with [`Connection::read_payload`](super::Connection::read_payload) before the next call that changes the
/// connection (the bytes stay in the send buffer until acknowledged; no copy is made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// The TCP header, ports included; the caller adds the IP addresses.
    pub repr: TcpRepr,
    /// Where the data starts, in bytes past SND.UNA.
    pub(crate) data_offset: usize,
    /// How many bytes of data follow the header.
    pub data_len: usize,
}

impl Segment {
    /// A segment with no data.
    pub(crate) fn header(repr: TcpRepr) -> Segment {
        Segment {
            repr,
            data_offset: 0,
            data_len: 0,
        }
    }
}

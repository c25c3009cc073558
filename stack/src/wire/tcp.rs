//! The TCP header and its options (RFC 9293 3.1; options from RFC 7323 and RFC 2018).
//!
//! Parsing checks the data offset (at least 5 words, within the buffer) and the checksum
//! over the pseudo-header, header and data; TCP's checksum is mandatory (RFC 9293 3.1).
//! Options are read one at a time: End of List and No-Operation are single bytes,
//! every other kind carries a length. Unknown kinds are skipped by their length. An
//! illegal length (below 2, or past the header) ends option parsing, keeping what was
//! read so far, as Linux does; RFC 9293 3.1 only asks that it never crash us. A known
//! option with the wrong length is ignored.

use core::net::Ipv4Addr;

use etherparse::{TcpHeader, TcpHeaderSlice, TcpOptionElement};

use super::checksum;
use super::ipv4::protocol;
use super::seq::Seq;
use super::WireError;

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;

/// The control bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// No more data from sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push function.
    pub const PSH: Flags = Flags(0x08);
    /// Acknowledgment field is significant.
    pub const ACK: Flags = Flags(0x10);
    /// Urgent pointer field is significant.
    pub const URG: Flags = Flags(0x20);

    /// True when every bit of `other` is set.
    pub fn has(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::fmt::Display for Flags {
    /// tcpdump's notation: `S`, `S.`, `F.`, `R`, `P.` ...
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (flag, c) in [
            (Flags::SYN, 'S'),
            (Flags::FIN, 'F'),
            (Flags::RST, 'R'),
            (Flags::PSH, 'P'),
            (Flags::URG, 'U'),
        ] {
            if self.has(flag) {
                write!(f, "{c}")?;
            }
        }
        if self.has(Flags::ACK) {
            write!(f, ".")?;
        }
        if self.0 & 0x3f == 0 {
            write!(f, "none")?;
        }
        Ok(())
    }
}

/// The options we understand. `None`/`false` when absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Maximum segment size (kind 2), only meaningful on SYN.
    pub mss: Option<u16>,
    /// Window scale shift (kind 3, RFC 7323), only on SYN.
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4, RFC 2018), only on SYN.
    pub sack_permitted: bool,
    /// Timestamps (kind 8, RFC 7323): TSval, TSecr.
    pub timestamps: Option<(u32, u32)>,
    /// SACK blocks (kind 5, RFC 2018), at most four.
    pub sack: [Option<(Seq, Seq)>; 4],
}

impl Options {
    fn parse(mut raw: &[u8]) -> Options {
        let mut o = Options::default();
        while let Some(&kind) = raw.first() {
            match kind {
                0 => break,
                1 => {
                    raw = &raw[1..];
                    continue;
                }
                _ => {}
            }
            let Some(&len) = raw.get(1) else { break };
            let len = usize::from(len);
            if len < 2 || len > raw.len() {
                break;
            }
            let body = &raw[2..len];
            match (kind, body.len()) {
                (2, 2) => o.mss = Some(u16::from_be_bytes([body[0], body[1]])),
                (3, 1) => o.window_scale = Some(body[0]),
                (4, 0) => o.sack_permitted = true,
                (8, 8) => {
                    let val = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    let ecr = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                    o.timestamps = Some((val, ecr));
                }
                (5, n) if n % 8 == 0 && n > 0 => {
                    for (slot, block) in o.sack.iter_mut().zip(body.chunks_exact(8)) {
                        let left = u32::from_be_bytes([block[0], block[1], block[2], block[3]]);
                        let right = u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
                        *slot = Some((Seq(left), Seq(right)));
                    }
                }
                _ => {} // unknown kind, or a known one with the wrong length: skip
            }
            raw = &raw[len..];
        }
        o
    }

    fn elements(&self) -> heapless::Vec<TcpOptionElement, 8> {
        let mut v = heapless::Vec::new();
        // Capacity 8 exceeds the five options we can emit.
        if let Some(mss) = self.mss {
            let _ = v.push(TcpOptionElement::MaximumSegmentSize(mss));
        }
        if self.sack_permitted {
            let _ = v.push(TcpOptionElement::SelectiveAcknowledgementPermitted);
        }
        if let Some((val, ecr)) = self.timestamps {
            let _ = v.push(TcpOptionElement::Timestamp(val, ecr));
        }
        if let Some(shift) = self.window_scale {
            let _ = v.push(TcpOptionElement::Noop);
            let _ = v.push(TcpOptionElement::WindowScale(shift));
        }
        if let Some(first) = self.sack[0] {
            let pair = |(l, r): (Seq, Seq)| (l.0, r.0);
            let rest = [self.sack[1], self.sack[2], self.sack[3]].map(|b| b.map(pair));
            let _ = v.push(TcpOptionElement::SelectiveAcknowledgement(
                pair(first),
                rest,
            ));
        }
        v
    }
}

/// A TCP header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number of the first byte (or of the SYN/FIN).
    pub seq: Seq,
    /// Acknowledgment number (meaningful when ACK is set).
    pub ack: Seq,
    /// Control bits.
    pub flags: Flags,
    /// Receive window (unscaled, as on the wire).
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options.
    pub options: Options,
}

impl TcpRepr {
    /// Parses a segment carried from `src` to `dst`, verifying its checksum, and returns
    /// the header and the data.
    pub fn parse(src: Ipv4Addr, dst: Ipv4Addr, buf: &[u8]) -> Result<(TcpRepr, &[u8]), WireError> {
        let header = TcpHeaderSlice::from_slice(buf).map_err(|e| match e {
            etherparse::err::tcp::HeaderSliceError::Len(_) => WireError::Truncated,
            etherparse::err::tcp::HeaderSliceError::Content(_) => WireError::Malformed,
        })?;
        let len = u16::try_from(buf.len()).map_err(|_| WireError::Malformed)?;
        let acc = checksum::pseudo_header(src, dst, protocol::TCP, len);
        if checksum::finish(checksum::accumulate(acc, buf)) != 0 {
            return Err(WireError::BadChecksum);
        }
        let raw = header.slice();
        let repr = TcpRepr {
            src_port: header.source_port(),
            dst_port: header.destination_port(),
            seq: Seq(header.sequence_number()),
            ack: Seq(header.acknowledgment_number()),
            flags: Flags(raw[13] & 0x3f),
            window: header.window_size(),
            urgent: header.urgent_pointer(),
            options: Options::parse(header.options()),
        };
        Ok((repr, &buf[raw.len()..]))
    }

    /// Bytes of header this segment needs, with its options padded to 4 bytes.
    pub fn header_len(&self) -> usize {
        self.header().header_len()
    }

    /// Sequence space the segment occupies: its data plus one for SYN and one for FIN.
    pub fn segment_len(&self, data_len: usize) -> usize {
        data_len + usize::from(self.flags.has(Flags::SYN)) + usize::from(self.flags.has(Flags::FIN))
    }

    fn header(&self) -> TcpHeader {
        let mut h = TcpHeader::new(self.src_port, self.dst_port, self.seq.0, self.window);
        h.acknowledgment_number = self.ack.0;
        h.fin = self.flags.has(Flags::FIN);
        h.syn = self.flags.has(Flags::SYN);
        h.rst = self.flags.has(Flags::RST);
        h.psh = self.flags.has(Flags::PSH);
        h.ack = self.flags.has(Flags::ACK);
        h.urg = self.flags.has(Flags::URG);
        h.urgent_pointer = self.urgent;
        // A SYN carries at most 4 + 2 + 10 + 4 = 20 bytes of options, any other segment
        // 10 (timestamps) + 26 (three SACK blocks) = 36, or 34 for four blocks without
        // timestamps: within the 40 allowed. A caller asking for more (four blocks and
        // timestamps) gets the header without options rather than a panic.
        let _ = h.set_options(&self.options.elements());
        h
    }

    /// Writes the header and `data` into `buf` with the checksum for `src` to `dst`.
    /// Returns the bytes written.
    ///
    /// # Panics
    /// If `buf` is shorter than `header_len() + data.len()` (a caller bug).
    pub fn emit(&self, src: Ipv4Addr, dst: Ipv4Addr, data: &[u8], buf: &mut [u8]) -> usize {
        self.emit_with(src, dst, data.len(), buf, |out| out.copy_from_slice(data))
    }

    /// Like [`emit`](Self::emit), but `fill` writes the `data_len` data bytes in place
    /// (straight from a send buffer, with no intermediate copy).
    ///
    /// # Panics
    /// If `buf` is shorter than `header_len() + data_len` (a caller bug).
    pub fn emit_with(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        data_len: usize,
        buf: &mut [u8],
        fill: impl FnOnce(&mut [u8]),
    ) -> usize {
        let header = self.header();
        let bytes = header.to_bytes();
        let hlen = bytes.len();
        let total = hlen + data_len;
        buf[..hlen].copy_from_slice(&bytes);
        fill(&mut buf[hlen..total]);
        buf[16..18].fill(0);
        let acc = checksum::pseudo_header(src, dst, protocol::TCP, total as u16);
        let sum = checksum::finish(checksum::accumulate(acc, &buf[..total]));
        buf[16..18].copy_from_slice(&sum.to_be_bytes());
        total
    }
}

#[cfg(test)]
mod tests;

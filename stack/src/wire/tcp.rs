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

use etherparse::TcpHeaderSlice;

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

    /// Bytes the options take on the wire (always a multiple of 4); 0 if they do not fit
    /// the 40 bytes a header has room for (see [`Options::write`]).
    fn wire_len(&self) -> usize {
        let sack_blocks = self.sack.iter().take_while(|b| b.is_some()).count();
        let len = self.mss.map_or(0, |_| 4)
            + match (self.timestamps.is_some(), self.sack_permitted) {
                (true, _) => 12,
                (false, true) => 4,
                (false, false) => 0,
            }
            + self.window_scale.map_or(0, |_| 4)
            + if sack_blocks > 0 {
                4 + 8 * sack_blocks
            } else {
                0
            };
        if len > MAX_OPTIONS_LEN {
            0
        } else {
            len
        }
    }

    /// Writes the options into `buf` laid out as Linux lays them out (`tcp_options_write`),
    /// each aligned with NOPs (kind 1, RFC 9293 3.2) so no padding is needed: MSS;
    /// SACK-permitted and timestamps together (`sackOK,TS`), or `nop,nop,TS`, or
    /// `nop,nop,sackOK`; `nop,wscale`; `nop,nop,sack` blocks. A SYN then takes 20 bytes,
    /// a data segment with timestamps 12, plus 4 + 8 per SACK block: three fit with
    /// timestamps, four without. Asked for more, it writes no options rather than a
    /// truncated list. Returns the bytes written.
    fn write(&self, buf: &mut [u8; MAX_OPTIONS_LEN]) -> usize {
        let len = self.wire_len();
        if len == 0 {
            return 0;
        }
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            buf[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        if let Some(mss) = self.mss {
            let [hi, lo] = mss.to_be_bytes();
            put(&[2, 4, hi, lo]);
        }
        match (self.timestamps, self.sack_permitted) {
            (Some((val, ecr)), sack_ok) => {
                put(if sack_ok { &[4, 2] } else { &[1, 1] });
                put(&[8, 10]);
                put(&val.to_be_bytes());
                put(&ecr.to_be_bytes());
            }
            (None, true) => put(&[1, 1, 4, 2]),
            (None, false) => {}
        }
        if let Some(shift) = self.window_scale {
            put(&[1, 3, 3, shift]);
        }
        let count = self.sack.iter().take_while(|b| b.is_some()).count();
        if count > 0 {
            put(&[1, 1, 5, (2 + 8 * count) as u8]);
            for (left, right) in self.sack.iter().map_while(|b| *b) {
                put(&left.0.to_be_bytes());
                put(&right.0.to_be_bytes());
            }
        }
        len
    }
}

/// The most option bytes a TCP header holds (data offset 15 words less the 20 fixed bytes).
const MAX_OPTIONS_LEN: usize = 40;

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
        let parsed = TcpRepr::parse_verified(buf)?;
        let len = u16::try_from(buf.len()).map_err(|_| WireError::Malformed)?;
        let acc = checksum::pseudo_header(src, dst, protocol::TCP, len);
        if checksum::finish(checksum::accumulate(acc, buf)) != 0 {
            return Err(WireError::BadChecksum);
        }
        Ok(parsed)
    }

    /// Parses a segment whose checksum was verified already: by the receive coalescer,
    /// which sums every piece it joins, or by the link (receive checksum offload).
    pub fn parse_verified(buf: &[u8]) -> Result<(TcpRepr, &[u8]), WireError> {
        let header = TcpHeaderSlice::from_slice(buf).map_err(|e| match e {
            etherparse::err::tcp::HeaderSliceError::Len(_) => WireError::Truncated,
            etherparse::err::tcp::HeaderSliceError::Content(_) => WireError::Malformed,
        })?;
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
        HEADER_LEN + self.options.wire_len()
    }

    /// Sequence space the segment occupies: its data plus one for SYN and one for FIN.
    pub fn segment_len(&self, data_len: usize) -> usize {
        data_len + usize::from(self.flags.has(Flags::SYN)) + usize::from(self.flags.has(Flags::FIN))
    }

    /// Writes the header into `buf` with a zero checksum (RFC 9293 3.1, figure 1) and
    /// returns its length. Only the six classic control bits are sent.
    fn write_header(&self, buf: &mut [u8]) -> usize {
        let mut options = [0; MAX_OPTIONS_LEN];
        let olen = self.options.write(&mut options);
        let hlen = HEADER_LEN + olen;
        let h = &mut buf[..hlen];
        h[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        h[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        h[4..8].copy_from_slice(&self.seq.0.to_be_bytes());
        h[8..12].copy_from_slice(&self.ack.0.to_be_bytes());
        h[12] = ((hlen / 4) as u8) << 4;
        h[13] = self.flags.0 & 0x3f;
        h[14..16].copy_from_slice(&self.window.to_be_bytes());
        h[16..18].fill(0);
        h[18..20].copy_from_slice(&self.urgent.to_be_bytes());
        h[HEADER_LEN..].copy_from_slice(&options[..olen]);
        hlen
    }

    /// Writes the header (zero checksum) and, through `fill`, the `data_len` data bytes
    /// into `buf`; returns their length and the pseudo-header sum for `src` to `dst`.
    fn write_segment(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        data_len: usize,
        buf: &mut [u8],
        fill: impl FnOnce(&mut [u8]),
    ) -> (usize, u64) {
        let hlen = self.write_header(buf);
        let total = hlen + data_len;
        fill(&mut buf[hlen..total]);
        let acc = checksum::pseudo_header(src, dst, protocol::TCP, total as u16);
        (total, acc)
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
        let (total, acc) = self.write_segment(src, dst, data_len, buf, fill);
        let sum = checksum::finish(checksum::accumulate(acc, &buf[..total]));
        buf[16..18].copy_from_slice(&sum.to_be_bytes());
        total
    }

    /// Like [`emit_with`](TcpRepr::emit_with), but leaves the checksum for the link to
    /// complete: the field holds the pseudo-header sum (with the segment's whole
    /// length), not complemented, and the data is not summed here. For a link doing
    /// checksum offload and TSO; the link sums from the TCP header on.
    pub fn emit_partial(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        data_len: usize,
        buf: &mut [u8],
        fill: impl FnOnce(&mut [u8]),
    ) -> usize {
        let (total, acc) = self.write_segment(src, dst, data_len, buf, fill);
        buf[16..18].copy_from_slice(&checksum::partial(acc).to_be_bytes());
        total
    }
}

#[cfg(test)]
mod tests;

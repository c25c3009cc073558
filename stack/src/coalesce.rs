//! Receive coalescing (a software GRO): within one batch of received frames, consecutive
//! in-order TCP segments of one connection are joined into one larger segment before
//! TCP sees them.
//!
//! A driver that reads many frames per wake-up hands them to
//! [`Stack::receive_batch`](crate::Stack::receive_batch). Joining them saves TCP's work
//! per segment and, above all, the acknowledgments: TCP acknowledges every second
//! *segment* it processes (RFC 1122 4.2.3.2, RFC 9293 3.8.6.3), so 40 frames joined
//! into one segment draw one ACK instead of 20. A stretch ACK like this is what a Linux
//! receiver with GRO sends too, and what RFC 5681 3.1 and RFC 3465 expect of a sender:
//! it counts the bytes acknowledged.
//!
//! Segments are joined only when nothing TCP would see differs but the data, the rules
//! Linux's `tcp_gro_receive` follows:
//!
//! - the frame is for our MAC and our address; IPv4 without options, not a fragment,
//!   a valid header checksum; the same TOS, TTL and DF bit as the segment it joins;
//! - TCP with only ACK set (PSH allowed; it ends the joined segment), some data, a valid
//!   checksum, and the same ports, acknowledgment number, window and option bytes (so
//!   the same timestamps and SACK blocks) as the segment it joins;
//! - its sequence number is the next one expected, and it is no longer than the first
//!   segment (the joined segment's "MSS"); a shorter segment is the last one joined;
//! - the joined datagram stays within 65535 bytes.
//!
//! Up to [`FLOWS`] connections are joined at once, each in its own run, so segments of
//! several connections interleaved in one batch still join (Linux keeps 8 per queue
//! too). A frame that cannot join ends its own connection's run first, so each
//! connection's segments reach TCP in the order they came; a frame that is not TCP ends
//! every run. Runs of different connections may reach TCP in another order than their
//! frames came, which nothing can tell.
//!
//! Every piece's checksum is verified here before it joins, so the joined segment is
//! marked verified and not summed again; its own checksum is computed from the pieces'
//! sums (RFC 1071 2(B): a piece at an odd offset contributes its sum byte-swapped), so
//! what a raw socket copies is a valid datagram. Counters still count wire frames.
//! Anything else goes to the stack one frame at a time, in order: a frame that cannot
//! join ends the segment being built first.

use crate::time::Instant;
use crate::wire::checksum;
use crate::wire::ipv4::protocol;
use crate::wire::MacAddr;

use core::net::Ipv4Addr;

const ETH_LEN: usize = 14;
const IP_LEN: usize = 20;
const TCP_MIN: usize = 20;
/// Only ACK, and PSH with it.
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;

/// Connections joined at once in one batch.
pub const FLOWS: usize = 8;

/// A TCP connection as its frames name it: source and destination address, then ports.
pub(crate) type Flow = [u8; 12];

/// The connection an IPv4 TCP frame belongs to, if it is one (the addresses and ports
/// read where they are; nothing else checked).
pub(crate) fn flow(frame: &[u8]) -> Option<Flow> {
    let ip = frame.get(ETH_LEN..)?;
    if frame.get(12..14)? != [8, 0] || ip.len() < IP_LEN || ip[9] != protocol::TCP {
        return None;
    }
    let ports = ip.get(usize::from(ip[0] & 0x0f) * 4..)?.get(..4)?;
    let mut key = [0; 12];
    key[..8].copy_from_slice(&ip[12..20]);
    key[8..].copy_from_slice(ports);
    Some(key)
}

/// A received frame that could join others: its layout and the sums verified.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Piece<'a> {
    pub frame: &'a [u8],
    /// Where the TCP data starts in `frame`, and where the datagram ends.
    payload: usize,
    end: usize,
    seq: u32,
    flags: u8,
    /// The data's ones' complement sum, folded; `None` when the link vouched for the
    /// checksum and nothing was summed.
    data_sum: Option<u16>,
}

impl Piece<'_> {
    fn flow(&self) -> Flow {
        let mut key = [0; 12];
        key[..8].copy_from_slice(&self.frame[ETH_LEN + 12..ETH_LEN + 20]);
        key[8..].copy_from_slice(&self.frame[ETH_LEN + IP_LEN..ETH_LEN + IP_LEN + 4]);
        key
    }

    fn data_len(&self) -> usize {
        self.end - self.payload
    }

    fn tcp_header(&self) -> &[u8] {
        &self.frame[ETH_LEN + IP_LEN..self.payload]
    }
}

/// Reads `frame` as a candidate for joining: `None` sends it down the ordinary path
/// (which also counts any fault in it). `checksum_valid`: the link verified the TCP
/// checksum, so it is not summed here.
pub(crate) fn piece(
    frame: &[u8],
    mac: MacAddr,
    addr: Ipv4Addr,
    checksum_valid: bool,
) -> Option<Piece<'_>> {
    if frame.len() < ETH_LEN + IP_LEN + TCP_MIN || frame[..6] != mac.0 || frame[12..14] != [8, 0] {
        return None;
    }
    let ip = &frame[ETH_LEN..];
    // Version 4, no options; not a fragment (MF clear, offset zero); TCP; for us.
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ip[0] != 0x45
        || u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0
        || ip[9] != protocol::TCP
        || ip[16..20] != addr.octets()
        || total < IP_LEN + TCP_MIN
        || ETH_LEN + total > frame.len()
        || checksum::checksum(&ip[..IP_LEN]) != 0
    {
        return None;
    }
    let tcp = &ip[IP_LEN..total];
    let header_len = usize::from(tcp[12] >> 4) * 4;
    let flags = tcp[13];
    // The reserved bits clear, only ACK (and PSH), and some data.
    if tcp[12] & 0x0f != 0 || flags & !PSH != ACK || header_len < TCP_MIN || header_len >= tcp.len()
    {
        return None;
    }
    let data_sum = if checksum_valid {
        None
    } else {
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let pseudo = checksum::pseudo_header(src, addr, protocol::TCP, tcp.len() as u16);
        // The header is a whole number of 32-bit words, so the data's sum starts even.
        let header_acc = checksum::accumulate(pseudo, &tcp[..header_len]);
        let data_acc = checksum::accumulate(0, &tcp[header_len..]);
        if checksum::finish(header_acc + data_acc) != 0 {
            return None;
        }
        Some(checksum::partial(data_acc))
    };
    Some(Piece {
        frame,
        payload: ETH_LEN + IP_LEN + header_len,
        end: ETH_LEN + total,
        seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
        flags,
        data_sum,
    })
}

/// A segment being joined: its first piece, borrowed until a second one joins it; then
/// the joined bytes are built in `buf`, a buffer the stack keeps from batch to batch.
#[derive(Debug)]
pub(crate) struct Run<'a> {
    first: Piece<'a>,
    /// Pieces joined so far and the wire bytes they came in.
    pieces: u64,
    wire_bytes: u64,
    /// The datagram's length so far.
    len: usize,
    next_seq: u32,
    /// The last piece ended the segment (PSH, or shorter than the first).
    closed: bool,
    /// Running sum of the data joined, each piece's sum placed at its offset; `None`
    /// once a piece came with the link's word for its checksum instead of a sum.
    data_acc: Option<u64>,
}

impl<'a> Run<'a> {
    /// A run of one piece.
    pub fn new(first: Piece<'a>) -> Run<'a> {
        Run {
            first,
            pieces: 1,
            wire_bytes: first.frame.len() as u64,
            len: first.end - ETH_LEN,
            next_seq: first.seq.wrapping_add(first.data_len() as u32),
            closed: first.flags & PSH != 0,
            data_acc: first.data_sum.map(u64::from),
        }
    }

    /// The first piece, which is the whole run while `pieces() == 1`.
    pub fn first(&self) -> &Piece<'a> {
        &self.first
    }

    /// Pieces in the run.
    pub fn pieces(&self) -> u64 {
        self.pieces
    }

    /// Adds `p` if it continues the run (the rules in the module docs); false leaves
    /// the run as it was. `buf` holds the joined bytes once there are two pieces.
    pub fn push(&mut self, p: &Piece<'_>, buf: &mut Vec<u8>) -> bool {
        let f = &self.first;
        let (ip, tcp) = (&f.frame[ETH_LEN..], f.tcp_header());
        let (pip, ptcp) = (&p.frame[ETH_LEN..], p.tcp_header());
        let joins = !self.closed
            && p.seq == self.next_seq
            && p.data_len() <= f.data_len()
            && self.len + p.data_len() <= usize::from(u16::MAX)
            // The same link addresses; TOS, DF, TTL and IP addresses.
            && f.frame[..ETH_LEN] == p.frame[..ETH_LEN]
            && ip[1] == pip[1]
            && ip[6] & 0x40 == pip[6] & 0x40
            && ip[8] == pip[8]
            && ip[12..20] == pip[12..20]
            // Ports, acknowledgment, window, and the options byte for byte.
            && tcp[..4] == ptcp[..4]
            && tcp[8..12] == ptcp[8..12]
            && tcp[14..16] == ptcp[14..16]
            && tcp[12] == ptcp[12]
            && tcp[TCP_MIN..] == ptcp[TCP_MIN..];
        if !joins {
            return false;
        }
        if self.pieces == 1 {
            buf.clear();
            buf.extend_from_slice(&f.frame[..f.end]);
        }
        // RFC 1071 2(B): data starting at an odd offset sums byte-swapped.
        let offset = self.len - IP_LEN - tcp.len();
        let sum = p
            .data_sum
            .map(|s| if offset % 2 == 1 { s.swap_bytes() } else { s });
        self.data_acc = self.data_acc.zip(sum).map(|(acc, s)| acc + u64::from(s));
        buf.extend_from_slice(&p.frame[p.payload..p.end]);
        self.pieces += 1;
        self.wire_bytes += p.frame.len() as u64;
        self.len += p.data_len();
        self.next_seq = p.seq.wrapping_add(p.data_len() as u32);
        self.closed = p.flags & PSH != 0 || p.data_len() < f.data_len();
        if p.flags & PSH != 0 {
            buf[ETH_LEN + IP_LEN + 13] |= PSH;
        }
        true
    }

    /// The wire bytes the run's pieces came in.
    pub fn wire_bytes(&self) -> u64 {
        self.wire_bytes
    }

    /// Makes the joined frame in `buf` (a run of two pieces or more) whole: its IPv4
    /// length and both checksums (the TCP one only when every piece was summed: what
    /// the link vouched for keeps the checksum field the link gave, as in Linux).
    pub fn finish(&self, buf: &mut [u8]) {
        let header_len = self.first.tcp_header().len();
        let ip = &mut buf[ETH_LEN..ETH_LEN + IP_LEN];
        ip[2..4].copy_from_slice(&(self.len as u16).to_be_bytes());
        ip[10..12].fill(0);
        let sum = checksum::checksum(ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let Some(data_acc) = self.data_acc else {
            return;
        };
        let tcp = &mut buf[ETH_LEN + IP_LEN..];
        tcp[16..18].fill(0);
        let pseudo = checksum::pseudo_header(src, dst, protocol::TCP, tcp.len() as u16);
        let acc = checksum::accumulate(pseudo, &tcp[..header_len]) + data_acc;
        tcp[16..18].copy_from_slice(&checksum::finish(acc).to_be_bytes());
    }
}

/// A run in a slot: when its last piece arrived, and when it began (to end the oldest).
#[derive(Debug)]
struct Slot<'a> {
    run: Run<'a>,
    flow: Flow,
    last: Instant,
    born: u64,
}

/// The runs of one batch, one per connection, up to [`FLOWS`]. Slot `i` builds its
/// joined bytes in the caller's buffer `i`; a run handed back with its slot number must
/// be finished with that buffer before the next call.
#[derive(Debug)]
pub(crate) struct Flows<'a> {
    slots: [Option<Slot<'a>>; FLOWS],
    born: u64,
}

/// A run that has ended: its slot (and buffer) number, the run, when its last piece
/// arrived.
pub(crate) type Ended<'a> = (usize, Run<'a>, Instant);

impl<'a> Flows<'a> {
    pub fn new() -> Flows<'a> {
        Flows {
            slots: Default::default(),
            born: 0,
        }
    }

    /// Joins `p` to its connection's run, or starts one. Returns the run that had to
    /// end first: its connection's, if `p` does not continue it, or the oldest, if
    /// every slot is taken.
    pub fn add(&mut self, p: Piece<'a>, at: Instant, bufs: &mut [Vec<u8>]) -> Option<Ended<'a>> {
        let flow = p.flow();
        let slot = match self.find(&flow) {
            Some(i) => i,
            None => match self.slots.iter().position(Option::is_none) {
                Some(free) => free,
                None => self.oldest()?,
            },
        };
        if let Some(s) = &mut self.slots[slot] {
            if s.flow == flow && s.run.push(&p, &mut bufs[slot]) {
                s.last = at;
                return None;
            }
        }
        let ended = self.end(slot);
        self.born += 1;
        self.slots[slot] = Some(Slot {
            run: Run::new(p),
            flow,
            last: at,
            born: self.born,
        });
        ended
    }

    /// Ends the run of `flow`'s connection, if there is one.
    pub fn end_flow(&mut self, flow: &Flow) -> Option<Ended<'a>> {
        let i = self.find(flow)?;
        self.end(i)
    }

    /// Ends the oldest run, if any: call until `None` to end them all, in the order
    /// they began.
    pub fn end_oldest(&mut self) -> Option<Ended<'a>> {
        let i = self.oldest()?;
        self.end(i)
    }

    fn find(&self, flow: &Flow) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.flow == *flow))
    }

    fn oldest(&self) -> Option<usize> {
        (0..FLOWS)
            .filter(|&i| self.slots[i].is_some())
            .min_by_key(|&i| self.slots[i].as_ref().map_or(u64::MAX, |s| s.born))
    }

    fn end(&mut self, i: usize) -> Option<Ended<'a>> {
        self.slots[i].take().map(|s| (i, s.run, s.last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tcp::{Flags, TcpRepr};
    use crate::wire::{EtherType, EthernetRepr, Ipv4Repr};

    const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

    /// A data segment from the peer's port `port`, `len` bytes at `seq`.
    fn segment(port: u16, seq: u32, len: usize) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: port,
            dst_port: 80,
            seq: crate::tcp::seq::Seq(seq),
            flags: Flags::ACK,
            window: 1000,
            ..TcpRepr::default()
        };
        let mut f = vec![0; ETH_LEN + IP_LEN + TCP_MIN + len];
        EthernetRepr {
            dst: MAC,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            ethertype: EtherType::Ipv4,
        }
        .emit(&mut f);
        Ipv4Repr {
            src: PEER,
            dst: US,
            protocol: protocol::TCP,
            ttl: 64,
            ident: 0,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            payload_len: TCP_MIN + len,
        }
        .emit(&mut f[ETH_LEN..]);
        tcp.emit(PEER, US, &vec![7; len], &mut f[ETH_LEN + IP_LEN..]);
        f
    }

    #[test]
    fn interleaved_connections_each_join_their_own_run() {
        // Frames of connections from ports 1 and 2, alternating, three each.
        let frames: Vec<Vec<u8>> = (0..6u32)
            .map(|i| segment(1 + (i % 2) as u16, 1000 + 100 * (i / 2), 100))
            .collect();
        let mut bufs = vec![Vec::new(); FLOWS];
        let mut flows = Flows::new();
        for f in &frames {
            let p = piece(f, MAC, US, false).expect("a candidate");
            assert!(
                flows.add(p, Instant::ZERO, &mut bufs).is_none(),
                "nothing ends"
            );
        }
        let (first, second) = (flows.end_oldest().unwrap(), flows.end_oldest().unwrap());
        assert!(flows.end_oldest().is_none());
        for (slot, run, _) in [first, second] {
            assert_eq!(run.pieces(), 3);
            run.finish(&mut bufs[slot]);
            let (ip, body) = Ipv4Repr::parse(&bufs[slot][ETH_LEN..]).unwrap();
            let (seg, data) = TcpRepr::parse(ip.src, ip.dst, body).expect("a valid checksum");
            assert_eq!((seg.seq.0, data.len()), (1000, 300));
        }
    }

    #[test]
    fn past_the_flow_limit_the_oldest_run_ends() {
        let frames: Vec<Vec<u8>> = (0..=FLOWS as u16)
            .map(|port| segment(port + 1, 1, 10))
            .collect();
        let mut bufs = vec![Vec::new(); FLOWS];
        let mut flows = Flows::new();
        let mut ended = vec![];
        for f in &frames {
            let p = piece(f, MAC, US, false).unwrap();
            ended.extend(flows.add(p, Instant::ZERO, &mut bufs));
        }
        // The ninth connection pushed out the first.
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].1.first().frame, &frames[0][..]);
    }

    #[test]
    fn a_frame_of_another_kind_names_its_connection() {
        let f = segment(5, 1, 0);
        assert!(piece(&f, MAC, US, false).is_none(), "no data: not a piece");
        let mut want = [0; 12];
        want[..4].copy_from_slice(&PEER.octets());
        want[4..8].copy_from_slice(&US.octets());
        want[8..].copy_from_slice(&[0, 5, 0, 80]);
        assert_eq!(flow(&f), Some(want));
        assert_eq!(flow(&f[..20]), None, "cut short");
    }
}

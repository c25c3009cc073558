//! What the fuzzed peer has said, kept so the oracles can judge what the connection says
//! back: which sequence numbers it sent (SYN, data, FIN), and the rightmost edge of the
//! windows it offered. All comparisons are relative (sequence numbers wrap).

use netstack_core::tcp::seq::Seq;

/// The byte the peer's stream holds at sequence number `seq`. A function of the
/// sequence number alone, so a retransmission carries the same bytes and the receiving
/// side's data can be checked without keeping it.
pub fn peer_byte(seq: u32) -> u8 {
    (seq.wrapping_mul(0x9e37_79b1) >> 24) as u8
}

/// The byte our application's stream holds at sequence number `seq`.
pub fn our_byte(seq: u32) -> u8 {
    peer_byte(seq ^ 0xa5a5_a5a5)
}

/// `a - b` as a signed distance in sequence space.
pub fn dist(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// The peer's side of the conversation, as far as the oracles need it.
#[derive(Clone, Debug, Default)]
pub struct PeerModel {
    /// Sequence numbers of every SYN sent.
    pub syns: Vec<u32>,
    /// Data sent: (first sequence number, length).
    pub data: Vec<(u32, u32)>,
    /// Sequence numbers of every FIN sent.
    pub fins: Vec<u32>,
    /// The highest sequence number sent so far, plus one (the peer's SND.NXT).
    pub next: u32,
    /// The rightmost window edge offered (SEG.ACK + SEG.WND), if any.
    pub edge: Option<u32>,
    /// The largest window-scale shift any SYN of the peer offered.
    pub ws: Option<u8>,
    /// The largest window (scaled) the peer offered.
    pub max_window: u64,
}

impl PeerModel {
    /// A peer whose next sequence number is `next`.
    pub fn new(next: u32) -> PeerModel {
        PeerModel {
            next,
            ..PeerModel::default()
        }
    }

    /// Records a segment the peer sent: `seq`, its control bits, `len` data bytes.
    pub fn sent(&mut self, seq: u32, syn: bool, fin: bool, len: u32) {
        let mut at = seq;
        if syn {
            self.syns.push(seq);
            at = at.wrapping_add(1);
        }
        if len > 0 {
            self.data.push((at, len));
        }
        let mut end = at.wrapping_add(len);
        if fin {
            self.fins.push(end);
            end = end.wrapping_add(1);
        }
        if dist(end, self.next) > 0 {
            self.next = end;
        }
    }

    /// Offers `window` bytes at `ack`: the edge `ack + window` (only ever widens what the
    /// oracle allows).
    pub fn offer_window(&mut self, ack: u32, window: u64) {
        self.max_window = self.max_window.max(window);
        self.offer(ack.wrapping_add(window as u32));
    }

    /// Offers the window edge `edge` (only ever widens what the oracle allows).
    pub fn offer(&mut self, edge: u32) {
        match self.edge {
            Some(e) if dist(edge, e) <= 0 => {}
            _ => self.edge = Some(edge),
        }
    }

    /// How many data bytes from `start` on the peer has sent without a hole.
    pub fn prefix(&self, start: u32) -> u64 {
        let mut have: i64 = 0;
        loop {
            let mut grew = false;
            for &(s, len) in &self.data {
                let from = dist(s, start);
                let to = from + i64::from(len);
                if from <= have && to > have {
                    have = to;
                    grew = true;
                }
            }
            if !grew {
                return have.max(0) as u64;
            }
        }
    }

    /// The highest acknowledgment number RFC 9293 lets a receiver whose IRS is `irs`
    /// send: one past the SYN, the data without a hole, and a FIN right after them.
    /// `None` when the peer never sent a SYN at `irs`.
    pub fn max_ack(&self, irs: u32) -> Option<u32> {
        if !self.syns.contains(&irs) {
            return None;
        }
        let start = irs.wrapping_add(1);
        let end = start.wrapping_add(self.prefix(start) as u32);
        Some(if self.fins.contains(&end) {
            end.wrapping_add(1)
        } else {
            end
        })
    }

    /// True when the peer sent a FIN at `seq`.
    pub fn fin_at(&self, seq: Seq) -> bool {
        self.fins.contains(&seq.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_stops_at_a_hole_and_wraps() {
        let mut p = PeerModel::new(u32::MAX - 5);
        p.sent(u32::MAX - 5, true, false, 0);
        p.sent(u32::MAX - 4, false, false, 10); // across 2^32
        p.sent(u32::MAX.wrapping_add(20), false, true, 5); // after a hole
        assert_eq!(p.prefix(u32::MAX - 4), 10);
        assert_eq!(
            p.max_ack(u32::MAX - 5),
            Some((u32::MAX - 4).wrapping_add(10))
        );
        p.sent(u32::MAX.wrapping_add(6), false, false, 14); // fills it
        assert_eq!(p.prefix(u32::MAX - 4), 29);
        assert_eq!(p.max_ack(u32::MAX - 5), Some(u32::MAX.wrapping_add(26)));
        assert_eq!(p.max_ack(7), None);
    }

    #[test]
    fn only_a_wider_edge_is_kept() {
        let mut p = PeerModel::new(0);
        p.offer(100);
        p.offer(50);
        assert_eq!(p.edge, Some(100));
        p.offer(100u32.wrapping_add(u32::MAX / 4));
        assert_eq!(p.edge, Some(100u32.wrapping_add(u32::MAX / 4)));
    }
}

//! Selective acknowledgments: what a receiver reports (RFC 2018, with D-SACK from
//! RFC 2883) and what a sender learns from them (the scoreboard of RFC 6675).
//!
//! Receiver: each ACK carries the out-of-order blocks held beyond RCV.NXT, the block of
//! the most recently received segment first, then the blocks reported most recently
//! (RFC 2018 4); a duplicate segment is reported once as a D-SACK block in first place
//! (RFC 2883 4).
//!
//! Sender: the scoreboard keeps the SACKed ranges above SND.UNA. From it RFC 6675
//! computes which holes are lost (IsLost: at least DupThresh segments' worth SACKed
//! above them), how much is still in the network (SetPipe), and what to retransmit
//! next (NextSeg, rule 1). After a retransmission timeout the SACKed bits are
//! forgotten (RFC 2018 8: the receiver may have reneged).

use super::recv_buffer::RecvBuffer;
use crate::wire::seq::Seq;

/// RFC 6675 2: DupThresh, duplicate ACKs (or SACKed segments) that mean a loss.
pub const DUP_THRESH: usize = 3;
/// SACKed ranges the scoreboard holds at once; more arrive only if the receiver holds
/// more disjoint blocks than this, and are then dropped (costing a retransmission).
const SCOREBOARD: usize = 64;
/// Recently received out-of-order segments remembered for the block order.
const RECENT: usize = 4;

/// A block of sequence space, `[left, right)`.
pub type Block = (Seq, Seq);

/// The receiver's side: which blocks to report, in which order.
#[derive(Clone, Debug, Default)]
pub struct SackReport {
    /// Starts of the most recently received out-of-order segments, newest first.
    recent: heapless::Vec<Seq, RECENT>,
    /// A duplicate to report once (RFC 2883).
    dsack: Option<Block>,
}

impl SackReport {
    /// An out-of-order segment starting at `seq` was stored.
    pub fn received(&mut self, seq: Seq) {
        self.recent.retain(|s| *s != seq);
        if self.recent.is_full() {
            self.recent.pop();
        }
        // The Vec was just made non-full.
        let _ = self.recent.insert(0, seq);
    }

    /// A segment brought nothing new: `[left, right)` was received before (RFC 2883).
    pub fn duplicate(&mut self, left: Seq, right: Seq) {
        self.dsack = Some((left, right));
    }

    /// The blocks for the next ACK, at most `max`: the D-SACK block first, then the block
    /// of each recent segment (newest first), then the other held blocks in order. Takes
    /// the D-SACK block, which is reported once.
    pub fn blocks(&mut self, rcv_nxt: Seq, recv: &RecvBuffer, max: usize) -> [Option<Block>; 4] {
        let mut out: heapless::Vec<Block, 4> = heapless::Vec::new();
        let max = max.min(4);
        if max == 0 {
            return [None; 4];
        }
        if let Some(d) = self.dsack.take() {
            let _ = out.push(d);
        }
        let held = |(start, len): (usize, usize)| (rcv_nxt + start, rcv_nxt + start + len);
        let containing = |seq: Seq| {
            recv.out_of_order()
                .map(held)
                .find(|b| seq.in_window(b.0, b.1))
        };
        self.recent.retain(|s| containing(*s).is_some());
        let recent = self.recent.iter().filter_map(|s| containing(*s));
        for block in recent.chain(recv.out_of_order().map(held)) {
            if out.len() >= max {
                break;
            }
            if !out.contains(&block) {
                let _ = out.push(block);
            }
        }
        let mut blocks = [None; 4];
        for (slot, b) in blocks.iter_mut().zip(out) {
            *slot = Some(b);
        }
        blocks
    }
}

/// The sender's side: what the peer has SACKed above SND.UNA (RFC 6675 3).
#[derive(Clone, Debug, Default)]
pub struct Scoreboard {
    /// SACKed blocks: sorted, disjoint, not touching, all above SND.UNA; at most
    /// `SCOREBOARD`, allocated only while the peer reports any.
    sacked: Vec<Block>,
    /// HighRxt: the end of the highest retransmission in this recovery.
    high_rxt: Option<Seq>,
    /// After a retransmission timeout: every byte below this that is not SACKed counts
    /// as lost (see [`Scoreboard::timed_out`]).
    lost_below: Option<Seq>,
}

impl Scoreboard {
    /// True when nothing is SACKed.
    pub fn is_empty(&self) -> bool {
        self.sacked.is_empty()
    }

    /// Takes the blocks of an ACK: only those within (SND.UNA, SND.MAX] count (RFC 2018
    /// 4 lets a D-SACK block lie below; it says nothing about what is missing).
    /// Returns whether they SACKed bytes not SACKed before.
    pub fn update(&mut self, snd_una: Seq, snd_max: Seq, blocks: &[Option<Block>; 4]) -> bool {
        let before = self.sacked_bytes();
        for &(left, right) in blocks.iter().flatten() {
            if !(snd_una.lt(left) && left.lt(right) && right.le(snd_max)) {
                continue;
            }
            self.insert(left, right);
        }
        self.sacked_bytes() > before
    }

    fn insert(&mut self, left: Seq, right: Seq) {
        let (mut l, mut r) = (left, right);
        // Merge every block that overlaps or touches [l, r).
        self.sacked.retain(|&(a, b)| {
            let apart = b.lt(l) || r.lt(a);
            if !apart {
                l = if a.lt(l) { a } else { l };
                r = if r.lt(b) { b } else { r };
            }
            apart
        });
        let at = self
            .sacked
            .iter()
            .position(|&(a, _)| r.lt(a))
            .unwrap_or(self.sacked.len());
        // Full: the block is dropped, as if its SACK were lost; the data is resent later.
        if self.sacked.len() < SCOREBOARD {
            self.sacked.insert(at, (l, r));
        }
    }

    /// SND.UNA moved to `snd_una`: forget what it covers.
    pub fn acknowledged(&mut self, snd_una: Seq) {
        self.sacked.retain(|b| snd_una.lt(b.1));
        if self.sacked.is_empty() {
            // Give the memory back: most of a connection's life has nothing SACKed.
            self.sacked = Vec::new();
        }
        if let Some(first) = self.sacked.first_mut() {
            if first.0.lt(snd_una) {
                first.0 = snd_una;
            }
        }
    }

    /// Forgets everything (after a timeout, RFC 2018 8; or when recovery ends).
    pub fn clear(&mut self) {
        self.sacked = Vec::new();
        self.end_recovery();
    }

    /// Recovery ended: HighRxt starts afresh next time; the SACKed blocks stay.
    pub fn end_recovery(&mut self) {
        self.high_rxt = None;
        self.lost_below = None;
    }

    /// A retransmission timeout with everything below `snd_max` sent: every byte
    /// below it not SACKed (from now on) is lost, and is resent hole by hole (RFC 6675
    /// 5.1 keeps this timeout recovery from starting a new fast recovery before SND.UNA
    /// reaches `snd_max`, and lets the SACKs that arrive meanwhile guide it).
    pub fn timed_out(&mut self, snd_max: Seq) {
        self.end_recovery();
        self.lost_below = Some(snd_max);
    }

    /// Bytes SACKed at or above `seq`, and in how many blocks (a block that starts
    /// below `seq` counts with its part above).
    fn sacked_above(&self, seq: Seq) -> (usize, usize) {
        let above = self.sacked.iter().filter(|b| seq.lt(b.1));
        above.fold((0, 0), |(bytes, n), b| {
            (bytes + (b.1 - max(b.0, seq)), n + 1)
        })
    }

    /// RFC 6675 IsLost: the hole starting at `seq` is lost once DupThresh discontiguous
    /// blocks, or more than (DupThresh - 1) * SMSS bytes, are SACKed above it; after a
    /// timeout, every hole below the highest byte sent then is.
    pub fn is_lost(&self, seq: Seq, mss: usize) -> bool {
        self.lost_below.is_some_and(|b| seq.lt(b)) || self.sacked_beyond_reordering(seq, mss)
    }

    /// IsLost's test alone: enough SACKed above `seq` that reordering cannot explain it.
    fn sacked_beyond_reordering(&self, seq: Seq, mss: usize) -> bool {
        let (bytes, blocks) = self.sacked_above(seq);
        blocks >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss
    }

    /// The holes between SND.UNA and SND.MAX, in order.
    fn holes(&self, snd_una: Seq, snd_max: Seq) -> impl Iterator<Item = Block> + '_ {
        let mut at = snd_una;
        let mut blocks = self.sacked.iter();
        core::iter::from_fn(move || loop {
            if !at.lt(snd_max) {
                return None;
            }
            match blocks.next() {
                Some(&(l, r)) => {
                    let hole = (at, l);
                    at = r;
                    if hole.0.lt(hole.1) {
                        return Some(hole);
                    }
                }
                None => {
                    let hole = (at, snd_max);
                    at = snd_max;
                    return Some(hole);
                }
            }
        })
    }

    /// RFC 6675 SetPipe: bytes still in the network. Every byte not SACKed counts,
    /// unless it is lost and has not been retransmitted in this recovery.
    pub fn pipe(&self, snd_una: Seq, snd_max: Seq, mss: usize) -> usize {
        let high_rxt = self.high_rxt.unwrap_or(snd_una);
        self.holes(snd_una, snd_max)
            .map(|(l, r)| {
                if !self.is_lost(l, mss) {
                    r - l
                } else if l.lt(high_rxt) {
                    // Retransmitted: back in the network.
                    (if r.lt(high_rxt) { r } else { high_rxt }) - l
                } else {
                    0
                }
            })
            .sum()
    }

    /// RFC 6675 NextSeg, rule 1: the first lost byte not yet retransmitted, and how much
    /// of its hole (at most `mss`) to resend.
    pub fn next_lost(&self, snd_una: Seq, snd_max: Seq, mss: usize) -> Option<(Seq, usize)> {
        let high_rxt = self.high_rxt.unwrap_or(snd_una);
        self.holes(snd_una, snd_max).find_map(|(l, r)| {
            let start = if l.lt(high_rxt) { high_rxt } else { l };
            (start.lt(r) && self.is_lost(l, mss)).then(|| (start, (r - start).min(mss)))
        })
    }

    /// A retransmission ending at `end` went out: HighRxt moves up to it.
    pub fn retransmitted(&mut self, end: Seq) {
        if self.high_rxt.is_none_or(|h| h.lt(end)) {
            self.high_rxt = Some(end);
        }
    }

    /// The SACKed blocks, in order (for [`Connection::check_invariants`]).
    ///
    /// [`Connection::check_invariants`]: super::Connection::check_invariants
    pub fn blocks(&self) -> &[Block] {
        &self.sacked
    }

    /// Bytes SACKed in all.
    pub fn sacked_bytes(&self) -> usize {
        self.sacked.iter().map(|b| b.1 - b.0).sum()
    }
}

fn max(a: Seq, b: Seq) -> Seq {
    if a.lt(b) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 100;

    fn sb(blocks: &[(u32, u32)]) -> Scoreboard {
        let mut s = Scoreboard::default();
        for &(l, r) in blocks {
            let mut b = [None; 4];
            b[0] = Some((Seq(l), Seq(r)));
            let _ = s.update(Seq(1000), Seq(2000), &b);
        }
        s
    }

    #[test]
    fn blocks_merge_and_stay_sorted() {
        let s = sb(&[(1500, 1600), (1200, 1300), (1300, 1400), (1700, 1800)]);
        assert_eq!(
            s.sacked.as_slice(),
            &[
                (Seq(1200), Seq(1400)),
                (Seq(1500), Seq(1600)),
                (Seq(1700), Seq(1800))
            ]
        );
        // Outside (SND.UNA, SND.MAX]: ignored.
        let s = sb(&[(900, 1000), (1900, 2100)]);
        assert!(s.is_empty());
    }

    #[test]
    fn the_scoreboard_is_bounded() {
        let mut s = Scoreboard::default();
        for k in 0..2 * SCOREBOARD as u32 {
            let mut b = [None; 4];
            b[0] = Some((Seq(1000 + 10 * k + 5), Seq(1000 + 10 * k + 6)));
            let _ = s.update(Seq(1000), Seq(100_000), &b);
        }
        assert_eq!(s.sacked.len(), SCOREBOARD);
    }

    #[test]
    fn a_hole_is_lost_with_three_segments_sacked_above_it() {
        // 1000-1100 missing, 1100-1300 SACKed: two segments, not yet lost.
        let s = sb(&[(1100, 1300)]);
        assert!(!s.is_lost(Seq(1000), MSS));
        // A third segment SACKed above: lost (RFC 6675 IsLost).
        let s = sb(&[(1100, 1400)]);
        assert!(s.is_lost(Seq(1000), MSS));
        assert_eq!(
            s.next_lost(Seq(1000), Seq(2000), MSS),
            Some((Seq(1000), 100))
        );
    }

    #[test]
    fn pipe_counts_what_is_still_in_the_network() {
        // Holes 1000-1100 (lost), 1400-1500 (not lost: only 1500-1600 above), 1600-2000.
        let mut s = sb(&[(1100, 1400), (1500, 1600)]);
        assert_eq!(s.pipe(Seq(1000), Seq(2000), MSS), 100 + 400);
        // Retransmit the lost hole: it is back in the network.
        s.retransmitted(Seq(1100));
        assert_eq!(s.pipe(Seq(1000), Seq(2000), MSS), 100 + 100 + 400);
        assert_eq!(
            s.next_lost(Seq(1000), Seq(2000), MSS),
            None,
            "nothing else lost"
        );
    }

    #[test]
    fn several_holes_are_resent_in_order_each_once() {
        let mut s = sb(&[(1100, 1200), (1300, 1400), (1500, 1800)]);
        assert_eq!(
            s.next_lost(Seq(1000), Seq(2000), MSS),
            Some((Seq(1000), 100))
        );
        s.retransmitted(Seq(1100));
        assert_eq!(
            s.next_lost(Seq(1000), Seq(2000), MSS),
            Some((Seq(1200), 100))
        );
        s.retransmitted(Seq(1300));
        assert_eq!(
            s.next_lost(Seq(1000), Seq(2000), MSS),
            Some((Seq(1400), 100))
        );
        s.retransmitted(Seq(1500));
        assert_eq!(s.next_lost(Seq(1000), Seq(2000), MSS), None);
        s.acknowledged(Seq(1350));
        assert_eq!(s.sacked_bytes(), 50 + 300);
    }

    #[test]
    fn the_report_puts_the_newest_block_first() {
        let mut recv = RecvBuffer::new(10_000);
        let rcv_nxt = Seq(1000);
        // Holes at the start, in the middle and at the end of what is held.
        recv.insert(100, &[0; 100]); // 1100-1200
        recv.insert(300, &[0; 100]); // 1300-1400
        recv.insert(500, &[0; 100]); // 1500-1600
        let mut r = SackReport::default();
        r.received(Seq(1300));
        r.received(Seq(1500));
        r.received(Seq(1100));
        let blocks = r.blocks(rcv_nxt, &recv, 3);
        assert_eq!(
            blocks,
            [
                Some((Seq(1100), Seq(1200))),
                Some((Seq(1500), Seq(1600))),
                Some((Seq(1300), Seq(1400))),
                None
            ]
        );
        // A D-SACK goes first, once.
        r.duplicate(Seq(900), Seq(1000));
        assert_eq!(r.blocks(rcv_nxt, &recv, 2)[0], Some((Seq(900), Seq(1000))));
        assert_eq!(r.blocks(rcv_nxt, &recv, 2)[0], Some((Seq(1100), Seq(1200))));
    }
}

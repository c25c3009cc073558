//! The options two ends agree on in their SYNs, and the timestamp rules that follow.
//!
//! - Window scaling (RFC 7323 2): each side announces a shift in its SYN; when both do,
//!   every later window field is scaled, ours by our shift and the peer's by its own.
//! - Timestamps (RFC 7323 3-5): when both SYNs carry them, every segment does; they time
//!   round trips from any acknowledged segment (RTTM) and reject old duplicates (PAWS).
//! - SACK permitted (RFC 2018): when both SYNs carry it, receivers may report the blocks
//!   they hold beyond a hole, and senders use them to repair only what is missing.
//!
//! An option is used only when we offered it (our config) and the peer's SYN carried it;
//! a SYN,ACK carries only what the peer's SYN offered (RFC 7323 2.2, 3.2; RFC 2018 2).

use super::config::TcpConfig;
use crate::time::{Duration, Instant};
use crate::wire::seq::Seq;
use crate::wire::tcp::Options;

/// RFC 7323 2.3: a shift above 14 is taken as 14.
pub const MAX_SHIFT: u8 = 14;

/// RFC 7323 5.5: TS.Recent older than 24 days is invalid (the peer's clock may have
/// wrapped its sign bit since), so PAWS is not applied against it.
const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 3600);

/// The shift we announce: the smallest that lets a window field cover `buffer_max`
/// bytes (RFC 7323 2.3), within [`MAX_SHIFT`].
pub fn shift_for(buffer_max: usize) -> u8 {
    let mut shift = 0;
    while shift < MAX_SHIFT && (buffer_max >> shift) > usize::from(u16::MAX) {
        shift += 1;
    }
    shift
}

/// What the SYN exchange settled. All off until both SYNs are in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// Both sides announced a window scale (so both shifts below apply, even if 0).
    pub window_scaling: bool,
    /// Snd.Wind.Shift: the peer's windows are its field shifted left by this.
    pub snd_shift: u8,
    /// Rcv.Wind.Shift: our window fields are our window shifted right by this.
    pub rcv_shift: u8,
    /// Both sides send timestamps on every segment.
    pub timestamps: bool,
    /// Both sides may send SACK blocks.
    pub sack: bool,
}

impl Negotiated {
    /// The result of our offer (from `config`, with our shift `our_shift`) meeting the
    /// peer's SYN options.
    pub fn agree(config: &TcpConfig, our_shift: u8, peer: &Options) -> Negotiated {
        let window_scaling = config.window_scaling && peer.window_scale.is_some();
        let (snd_shift, rcv_shift) = match peer.window_scale {
            Some(theirs) if window_scaling => (theirs.min(MAX_SHIFT), our_shift),
            _ => (0, 0),
        };
        Negotiated {
            window_scaling,
            snd_shift,
            rcv_shift,
            timestamps: config.timestamps && peer.timestamps.is_some(),
            sack: config.sack && peer.sack_permitted,
        }
    }
}

/// The timestamp state of a connection that uses them (RFC 7323 4.3, 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamps {
    /// Added to our millisecond clock, so TSval does not reveal our uptime and differs
    /// per connection (RFC 7323 5.4, 7.1).
    pub offset: u32,
    /// TS.Recent: the TSval to echo, from the latest in-order segment.
    pub recent: u32,
    /// When TS.Recent was last updated, for its 24-day validity.
    pub recent_at: Instant,
    /// Last.ACK.sent: the ACK field of the last segment we sent.
    pub last_ack_sent: Seq,
}

impl Timestamps {
    /// Timestamps starting from the peer's SYN, which carried TSval `peer_val`.
    pub fn new(offset: u32, peer_val: u32, now: Instant, rcv_nxt: Seq) -> Timestamps {
        Timestamps {
            offset,
            recent: peer_val,
            recent_at: now,
            last_ack_sent: rcv_nxt,
        }
    }

    /// Our TSval at `now`: a 1 ms clock (RFC 7323 5.4 asks for 1 ms to 1 s per tick).
    pub fn val(offset: u32, now: Instant) -> u32 {
        offset.wrapping_add((now.total_micros() / 1000) as u32)
    }

    /// RFC 7323 5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is an old
    /// duplicate, unless TS.Recent is too old to trust. A RST is never rejected here.
    pub fn rejects(&self, now: Instant, seg_val: u32) -> bool {
        let older = (seg_val.wrapping_sub(self.recent) as i32) < 0;
        older && now.saturating_since(self.recent_at) < PAWS_IDLE
    }

    /// RFC 7323 4.3 (2): take the segment's TSval as TS.Recent if it is not older and the
    /// segment starts at or before Last.ACK.sent (so a delayed ACK echoes the earliest
    /// unacknowledged segment's time, and out-of-order data does not move it).
    pub fn update(&mut self, now: Instant, seg_val: u32, seg_seq: Seq) {
        let newer = (seg_val.wrapping_sub(self.recent) as i32) >= 0;
        if newer && seg_seq.le(self.last_ack_sent) {
            self.recent = seg_val;
            self.recent_at = now;
        }
    }

    /// RFC 7323 4.1 (RTTM): the round trip told by an acknowledgment that echoes
    /// `seg_ecr`, if it echoes one of ours (zero means no echo on a SYN).
    pub fn rtt(&self, now: Instant, seg_ecr: u32) -> Option<Duration> {
        let sent = seg_ecr.wrapping_sub(self.offset);
        let elapsed = Timestamps::val(0, now).wrapping_sub(sent);
        // An echo from the future, or older than a minute, is not ours to trust.
        (seg_ecr != 0 && elapsed < 60_000).then(|| Duration::from_millis(u64::from(elapsed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shift_is_the_smallest_that_covers_the_buffer() {
        assert_eq!(shift_for(65_535), 0);
        assert_eq!(shift_for(65_536), 1);
        assert_eq!(shift_for(256 * 1024), 3);
        assert_eq!(shift_for(4 << 20), 7);
        assert_eq!(shift_for(1 << 30), 14);
        assert_eq!(
            shift_for(usize::MAX),
            MAX_SHIFT,
            "RFC 7323 2.3: never above 14"
        );
    }

    #[test]
    fn paws_rejects_older_values_across_the_wrap() {
        let t0 = Instant::ZERO;
        let ts = Timestamps::new(0, u32::MAX - 5, t0, Seq(1));
        assert!(ts.rejects(t0, u32::MAX - 6), "one tick older");
        assert!(!ts.rejects(t0, 3), "newer, across the wrap");
        let later = t0 + PAWS_IDLE;
        assert!(
            !ts.rejects(later, u32::MAX - 6),
            "TS.Recent older than 24 days"
        );
    }

    #[test]
    fn ts_recent_moves_only_for_segments_at_or_before_last_ack_sent() {
        let t0 = Instant::ZERO;
        let mut ts = Timestamps::new(0, 100, t0, Seq(1000));
        ts.update(t0, 105, Seq(2000));
        assert_eq!(ts.recent, 100, "out of order: beyond Last.ACK.sent");
        ts.update(t0, 105, Seq(1000));
        assert_eq!(ts.recent, 105);
        ts.update(t0, 104, Seq(1000));
        assert_eq!(ts.recent, 105, "never moves back");
    }

    #[test]
    fn an_echo_of_our_own_clock_gives_the_round_trip() {
        let offset = 7_000_000;
        let ts = Timestamps::new(offset, 0, Instant::ZERO, Seq(0));
        let sent = Timestamps::val(offset, Instant::from_millis(1_000));
        let rtt = ts.rtt(Instant::from_millis(1_042), sent);
        assert_eq!(rtt, Some(Duration::from_millis(42)));
        assert_eq!(ts.rtt(Instant::from_millis(1_042), 0), None, "no echo");
    }
}

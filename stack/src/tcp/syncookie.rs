//! SYN cookies (RFC 4987 3.6): a listener whose SYN queue is full answers a SYN without
//! keeping any state, by choosing as its ISS a number that proves, when the handshake's
//! last ACK acknowledges it, that we sent it to that peer recently, and that carries the
//! one thing of the SYN we must remember: the peer's MSS.
//!
//! The cookie, as Linux builds it (`__cookie_v4_init_sequence`), with `count` the current
//! 64-second period and H1, H2 SipHash-2-4 of the 4-tuple under a secret key:
//!
//! ```text
//! cookie = H1(tuple) + SEG.SEQ + (count << 24) + ((H2(tuple, count) + mss_index) mod 2^24)
//! ```
//!
//! Taking the ACK apart: subtract H1 and the peer's ISN (SEG.SEQ - 1 of the ACK); the
//! top 8 bits give the period, which must be the current one or the one before; with
//! it, the low 24 bits less H2 give the MSS index, which must be below 4. An attacker
//! without the key passes both checks by chance about once in 2^29 guesses.
//!
//! What a cookie cannot hold are the SYN's other options. As Linux does, when the peer
//! sends timestamps we hide its window scale and SACK permission in the low 6 bits of
//! our SYN,ACK's TSval, which the peer echoes in every TSecr; without timestamps the
//! cookie SYN,ACK offers only the MSS, and the connection runs without window scaling,
//! timestamps or SACK.

use core::hash::Hasher;
use core::net::SocketAddrV4;

use siphasher::sip::SipHasher24;

use crate::time::Instant;
use crate::wire::seq::Seq;

/// The MSS values a cookie can carry (its index is 2 bits), Linux's `msstab`: the
/// minimum (RFC 9293 3.7.1), common tunnel and PPPoE sizes, and Ethernet's.
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

/// Bits of the cookie below the period counter.
const COOKIE_BITS: u32 = 24;
const COOKIE_MASK: u32 = (1 << COOKIE_BITS) - 1;
/// Length of one period of the cookie's counter, about Linux's 60 s.
const PERIOD_SECS: u64 = 64;
/// A cookie is good in the period it was made and the next (Linux's
/// MAX_SYNCOOKIE_AGE): 64 to 128 seconds, longer than any handshake takes.
const MAX_AGE: u32 = 2;

/// The low TSval bits that carry the SYN's options (Linux's TSBITS).
const TS_BITS: u32 = 6;
const TS_MASK: u32 = (1 << TS_BITS) - 1;
/// In those bits: the window scale shift, 0xF when the peer offered none ...
const TS_WSCALE_MASK: u32 = 0xF;
/// ... and whether it offered SACK.
const TS_SACK: u32 = 1 << 4;

/// How long after a listener last answered with a cookie an ACK to it is checked for
/// one: as long as a cookie is good. At other times an ACK to a listener is answered with
/// a reset without hashing anything (Linux's `tcp_synq_no_recent_overflow`), which also
/// leaves a blind attacker no window for guessing.
pub const RECENT: crate::time::Duration = crate::time::Duration::from_secs(PERIOD_SECS * 2);

/// Makes and checks SYN cookies. One per stack, keyed once.
#[derive(Clone)]
pub struct SynCookies {
    key: (u64, u64),
}

/// The SYN options a cookie handshake recovered from the peer's ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieOptions {
    /// The MSS from the cookie: the largest of [`MSS_TABLE`] within the peer's.
    pub mss: u16,
    /// The peer's window scale shift, if it offered one (only with timestamps).
    pub window_scale: Option<u8>,
    /// The peer offered SACK (only with timestamps).
    pub sack_permitted: bool,
}

impl SynCookies {
    /// Cookies made with the secret `key`.
    pub fn new(key: (u64, u64)) -> SynCookies {
        SynCookies { key }
    }

    /// The cookie to use as our ISS answering a SYN with sequence number `peer_isn` and
    /// MSS option `peer_mss` (536 when absent), and the MSS it encodes.
    pub fn encode(
        &self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        peer_isn: Seq,
        peer_mss: u16,
    ) -> (Seq, u16) {
        let index = MSS_TABLE.iter().rposition(|&m| m <= peer_mss).unwrap_or(0);
        let count = period(now);
        let data = self
            .hash(local, remote, count, 2)
            .wrapping_add(index as u32)
            & COOKIE_MASK;
        let cookie = self
            .hash(local, remote, 0, 1)
            .wrapping_add(peer_isn.0)
            .wrapping_add(count << COOKIE_BITS)
            .wrapping_add(data);
        (Seq(cookie), MSS_TABLE[index])
    }

    /// Checks the ACK that would complete a cookie handshake: `cookie` is SEG.ACK - 1
    /// (our ISS), `peer_isn` is SEG.SEQ - 1. Returns the MSS it encoded, or `None` if it
    /// is not a cookie of ours from this period or the one before.
    pub fn decode(
        &self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        peer_isn: Seq,
        cookie: Seq,
    ) -> Option<u16> {
        let count = period(now);
        let v = cookie
            .0
            .wrapping_sub(self.hash(local, remote, 0, 1))
            .wrapping_sub(peer_isn.0);
        let age = count.wrapping_sub(v >> COOKIE_BITS) & (u32::MAX >> COOKIE_BITS);
        if age >= MAX_AGE {
            return None;
        }
        let made = count.wrapping_sub(age);
        let index = v.wrapping_sub(self.hash(local, remote, made, 2)) & COOKIE_MASK;
        MSS_TABLE.get(index as usize).copied()
    }

    /// SipHash-2-4 of the 4-tuple, the period and which of the two hashes (so H1 and H2
    /// differ even for the same period).
    fn hash(&self, local: SocketAddrV4, remote: SocketAddrV4, count: u32, which: u8) -> u32 {
        let mut h = SipHasher24::new_with_keys(self.key.0, self.key.1);
        h.write(&local.ip().octets());
        h.write(&local.port().to_be_bytes());
        h.write(&remote.ip().octets());
        h.write(&remote.port().to_be_bytes());
        h.write(&count.to_be_bytes());
        h.write_u8(which);
        h.finish() as u32
    }
}

impl core::fmt::Debug for SynCookies {
    /// Leaves the key out.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SynCookies").finish_non_exhaustive()
    }
}

/// The cookie counter: the 64-second period `now` falls in (truncated to 32 bits; only
/// its low 8 bits travel).
fn period(now: Instant) -> u32 {
    (now.total_micros() / 1_000_000 / PERIOD_SECS) as u32
}

/// Our SYN,ACK's TSval `tsval` with the peer's window scale and SACK permission in its
/// low bits. Never later than `tsval`, so our timestamps still only move forward
/// (RFC 7323 5.4).
pub fn ts_with_options(tsval: u32, window_scale: Option<u8>, sack: bool) -> u32 {
    let mut opts = window_scale.map_or(TS_WSCALE_MASK, |s| u32::from(s.min(14)));
    if sack {
        opts |= TS_SACK;
    }
    let v = (tsval & !TS_MASK) | opts;
    if v > tsval {
        v.wrapping_sub(TS_MASK + 1)
    } else {
        v
    }
}

/// The options [`ts_with_options`] hid in a TSval the peer now echoes.
pub fn options_from_ts(tsecr: u32) -> (Option<u8>, bool) {
    let shift = tsecr & TS_WSCALE_MASK;
    let window_scale = (shift != TS_WSCALE_MASK).then_some(shift.min(14) as u8);
    (window_scale, tsecr & TS_SACK != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;
    use core::net::Ipv4Addr;

    const LOCAL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80);
    const REMOTE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 40000);

    fn cookies() -> SynCookies {
        SynCookies::new((0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210))
    }

    #[test]
    fn a_cookie_returns_the_largest_table_mss_within_the_peers() {
        let c = cookies();
        let t = Instant::from_secs(1000);
        for (peer, want) in [
            (1460, 1460),
            (9000, 1460),
            (1452, 1440),
            (1400, 1300),
            (600, 536),
            (100, 536),
        ] {
            let (iss, mss) = c.encode(t, LOCAL, REMOTE, Seq(7), peer);
            assert_eq!(mss, want);
            assert_eq!(c.decode(t, LOCAL, REMOTE, Seq(7), iss), Some(want));
        }
    }

    #[test]
    fn a_cookie_is_good_in_its_period_and_the_next_only() {
        let c = cookies();
        let t = Instant::from_secs(64 * 100 + 63);
        let (iss, _) = c.encode(t, LOCAL, REMOTE, Seq(u32::MAX), 1460);
        let later = |s| t + Duration::from_secs(s);
        assert_eq!(
            c.decode(later(1), LOCAL, REMOTE, Seq(u32::MAX), iss),
            Some(1460)
        );
        assert_eq!(
            c.decode(later(64), LOCAL, REMOTE, Seq(u32::MAX), iss),
            Some(1460)
        );
        assert_eq!(c.decode(later(65), LOCAL, REMOTE, Seq(u32::MAX), iss), None);
        assert_eq!(
            c.decode(later(64 * 256), LOCAL, REMOTE, Seq(u32::MAX), iss),
            None
        );
    }

    #[test]
    fn a_cookie_is_bound_to_its_tuple_isn_and_key() {
        let c = cookies();
        let t = Instant::from_secs(5);
        let (iss, _) = c.encode(t, LOCAL, REMOTE, Seq(1000), 1460);
        let other_port = SocketAddrV4::new(*REMOTE.ip(), 40001);
        assert_eq!(c.decode(t, LOCAL, other_port, Seq(1000), iss), None);
        // Off by a little, a cookie decodes to another MSS index (as Linux's); off by
        // more than the index bits, it does not.
        assert_eq!(c.decode(t, LOCAL, REMOTE, Seq(1000 + (1 << 20)), iss), None);
        assert_eq!(c.decode(t, LOCAL, REMOTE, Seq(1000), iss + (1 << 20)), None);
        let other_key = SynCookies::new((1, 2));
        assert_eq!(other_key.decode(t, LOCAL, REMOTE, Seq(1000), iss), None);
    }

    #[test]
    fn blind_guesses_almost_never_pass() {
        let c = cookies();
        let t = Instant::from_secs(5);
        let passed = (0..1_000_000u32)
            .filter(|&i| {
                let guess = Seq(i.wrapping_mul(0x9E37_79B9));
                c.decode(t, LOCAL, REMOTE, Seq(1000), guess).is_some()
            })
            .count();
        // About 2^-29 each: a million guesses should find none.
        assert_eq!(passed, 0);
    }

    #[test]
    fn options_ride_in_the_timestamp_and_never_move_it_forward() {
        for tsval in [0, 1, 63, 64, 1_000_000, u32::MAX] {
            for ws in [None, Some(0), Some(7), Some(14)] {
                for sack in [false, true] {
                    let v = ts_with_options(tsval, ws, sack);
                    assert_eq!(options_from_ts(v), (ws, sack));
                    assert!(tsval.wrapping_sub(v) < 64, "{tsval} -> {v}");
                }
            }
        }
    }
}

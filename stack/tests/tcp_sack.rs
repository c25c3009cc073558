//! SACK as segment traces against one stand-alone connection: the blocks a receiver
//! reports (RFC 2018, RFC 2883) and the sender's recovery from them (RFC 6675).
//!
//! We are 10.0.0.2:80 with ISS 5000; the peer is 10.0.0.1:40000 with IRS 1000. SACK is
//! negotiated, timestamps are not (so four blocks fit), MSS 1000 so numbers read easily.

mod util;

use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::{Algorithm, Connection, Endpoint, State, TcpConfig};
use netstack_core::wire::tcp::{Flags, Options, TcpRepr};
use netstack_core::{Duration, Instant};

use util::conn::{addrs, ms, IRS, ISS};

const MSS: usize = 1000;

fn endpoint(sack: bool) -> Endpoint {
    Endpoint {
        config: TcpConfig {
            sack,
            congestion: Algorithm::NewReno,
            ..TcpConfig::default()
        },
        local: addrs().0,
        remote: addrs().1,
        iss: ISS,
        irs: IRS,
        snd_wnd: 65535,
        our_mss: 1460,
        peer_mss: Some(MSS as u16),
        peer_window_scale: None,
        peer_timestamp: None,
        peer_sack_permitted: true,
    }
}

fn established(sack: bool) -> Connection {
    Connection::in_state(ms(0), State::Established, &endpoint(sack))
}

type Blocks = [Option<(Seq, Seq)>; 4];

/// A segment from the peer, with SACK blocks.
fn peer(flags: Flags, seq: Seq, ack: Seq, sack: Blocks) -> TcpRepr {
    let options = Options {
        sack,
        ..Options::default()
    };
    util::conn::peer(flags, seq, ack, 65535, options)
}

/// Blocks from (left, right) pairs, relative to `base`.
fn blocks(base: Seq, pairs: &[(usize, usize)]) -> Blocks {
    let mut b = [None; 4];
    for (slot, &(l, r)) in b.iter_mut().zip(pairs) {
        *slot = Some((base + l, base + r));
    }
    b
}

/// Everything the connection sends now: (seq, data length, SACK blocks).
fn sent(c: &mut Connection, now: Instant) -> Vec<(Seq, usize, Blocks)> {
    let mut out = Vec::new();
    while let Some(seg) = c.poll_transmit(now) {
        out.push((seg.repr.seq, seg.data_len, seg.repr.options.sack));
    }
    out
}

#[test]
fn blocks_report_holes_at_the_start_middle_and_end_newest_first() {
    let mut c = established(true);
    let psh = Flags::ACK | Flags::PSH;
    let seg = |off: usize| peer(psh, IRS + 1 + off, ISS + 1, [None; 4]);
    // The peer's bytes 0..1000 are lost (a hole at the start); 1000..2000 arrive.
    let _ = c.handle_segment(ms(1), &seg(1000), &[b'b'; 1000]);
    // us > peer: [.] ack 1001, sack 2001-3001 (a duplicate ACK, at once)
    let acks = sent(&mut c, ms(1));
    assert_eq!(acks, vec![(ISS + 1, 0, blocks(IRS + 1, &[(1000, 2000)]))]);
    // 3000..4000 (a hole in the middle, 2000..3000) and 5000..6000 (and 4000..5000).
    let _ = c.handle_segment(ms(2), &seg(3000), &[b'd'; 1000]);
    let _ = c.handle_segment(ms(3), &seg(5000), &[b'f'; 1000]);
    let acks = sent(&mut c, ms(3));
    // The last ACK: the newest block first, then the others most recent first (RFC 2018 4).
    let last = acks.last().unwrap();
    assert_eq!(
        last.2,
        blocks(IRS + 1, &[(5000, 6000), (3000, 4000), (1000, 2000)])
    );
    // The first hole fills: RCV.NXT jumps to 2000 (1000..2000 joined); two blocks remain.
    let _ = c.handle_segment(ms(4), &seg(0), &[b'a'; 1000]);
    let acks = sent(&mut c, ms(4));
    let last = acks.last().unwrap();
    assert_eq!(last.0, ISS + 1);
    assert_eq!(last.2, blocks(IRS + 1, &[(5000, 6000), (3000, 4000)]));
    // A segment we already have draws a D-SACK block first (RFC 2883).
    let _ = c.handle_segment(ms(5), &seg(0), &[b'a'; 1000]);
    let acks = sent(&mut c, ms(5));
    assert_eq!(
        acks.last().unwrap().2,
        blocks(IRS + 1, &[(0, 1000), (5000, 6000), (3000, 4000)])
    );
    let mut buf = [0; 4000];
    assert_eq!(c.recv(&mut buf), Ok(Some(2000)), "only the in-order bytes");
}

/// Sends ten segments of 1000 bytes from ISS + 1 and returns their sequence numbers.
fn ten_segments(c: &mut Connection) -> Vec<Seq> {
    c.send(&[7; 10 * MSS]).unwrap();
    let segs = sent(c, ms(10));
    assert_eq!(segs.len(), 10, "IW10 (RFC 6928)");
    segs.iter().map(|s| s.0).collect()
}

#[test]
fn one_loss_is_repaired_with_one_retransmission() {
    let mut c = established(true);
    let seqs = ten_segments(&mut c);
    let base = ISS + 1;
    // Segment 0 is lost; 1, 2 and 3 arrive, each drawing a duplicate ACK with SACK.
    for n in 1..=3 {
        let sack = blocks(base, &[(1000, 1000 * (n + 1))]);
        let _ = c.handle_segment(ms(20), &peer(Flags::ACK, IRS + 1, base, sack), &[]);
    }
    // RFC 6675: segment 0 is lost (three segments SACKed above it): resent once, alone.
    let out = sent(&mut c, ms(20));
    assert_eq!(out.iter().map(|s| s.0).collect::<Vec<_>>(), vec![seqs[0]]);
    assert_eq!(c.counters().fast_retransmits, 1);
    // Its ACK covers everything: recovery is over, nothing else is resent.
    let _ = c.handle_segment(
        ms(30),
        &peer(Flags::ACK, IRS + 1, base + 10 * MSS, [None; 4]),
        &[],
    );
    assert!(sent(&mut c, ms(30)).is_empty());
    assert_eq!(c.counters().retransmits, 1);
    assert!(c.all_acked());
}

#[test]
fn two_holes_are_both_resent_in_one_round_trip() {
    let mut c = established(true);
    let seqs = ten_segments(&mut c);
    let base = ISS + 1;
    // Segments 1 and 4 are lost. The peer ACKs segment 0, then SACKs 2-3 and 5-9.
    let _ = c.handle_segment(
        ms(20),
        &peer(Flags::ACK, IRS + 1, base + MSS, [None; 4]),
        &[],
    );
    let mut resent = Vec::new();
    for (l, r) in [(2, 3), (2, 4), (5, 6), (5, 7), (5, 8)] {
        let sack = if l == 5 {
            blocks(base, &[(5 * MSS, r * MSS), (2 * MSS, 4 * MSS)])
        } else {
            blocks(base, &[(2 * MSS, r * MSS)])
        };
        let _ = c.handle_segment(ms(21), &peer(Flags::ACK, IRS + 1, base + MSS, sack), &[]);
        resent.extend(sent(&mut c, ms(21)).into_iter().map(|s| s.0));
    }
    // Both holes go out within the same round trip, each once (NewReno would resend
    // segment 4 only after the partial ACK for segment 1, a round trip later).
    assert_eq!(resent, vec![seqs[1], seqs[4]]);
    let done = peer(Flags::ACK, IRS + 1, base + 10 * MSS, [None; 4]);
    let _ = c.handle_segment(ms(30), &done, &[]);
    assert!(c.all_acked());
    assert_eq!(c.counters().retransmits, 2);
}

#[test]
fn without_sack_the_second_hole_waits_for_the_partial_ack() {
    let mut c = established(false);
    let seqs = ten_segments(&mut c);
    let base = ISS + 1;
    let _ = c.handle_segment(
        ms(20),
        &peer(Flags::ACK, IRS + 1, base + MSS, [None; 4]),
        &[],
    );
    let mut resent = Vec::new();
    for _ in 0..7 {
        let _ = c.handle_segment(
            ms(21),
            &peer(Flags::ACK, IRS + 1, base + MSS, [None; 4]),
            &[],
        );
        resent.extend(sent(&mut c, ms(21)).into_iter().map(|s| s.0));
    }
    assert_eq!(
        resent.first(),
        Some(&seqs[1]),
        "fast retransmit of the first hole"
    );
    assert!(
        !resent.contains(&seqs[4]),
        "the second hole is not known yet"
    );
    // The partial ACK (up to segment 4) makes NewReno resend segment 4 (RFC 6582 3.2).
    let partial = peer(Flags::ACK, IRS + 1, base + 4 * MSS, [None; 4]);
    let _ = c.handle_segment(ms(31), &partial, &[]);
    assert_eq!(sent(&mut c, ms(31)).first().map(|s| s.0), Some(seqs[4]));
}

#[test]
fn a_timeout_forgets_the_sacked_blocks_and_resends_from_snd_una() {
    let mut c = established(true);
    let seqs = ten_segments(&mut c);
    let base = ISS + 1;
    let sack = blocks(base, &[(5 * MSS, 6 * MSS)]);
    let _ = c.handle_segment(ms(20), &peer(Flags::ACK, IRS + 1, base, sack), &[]);
    let _ = sent(&mut c, ms(20));
    assert_eq!(c.details().sacked, MSS);
    let rto = c.poll_timeout().unwrap();
    c.handle_timeout(rto);
    // RFC 2018 8: the SACKed bits are cleared; go-back-N from SND.UNA.
    assert_eq!(c.details().sacked, 0);
    assert_eq!(sent(&mut c, rto).first().map(|s| s.0), Some(seqs[0]));
}

/// A duplicate ACK from the peer: SND.UNA at `base`, with `sack` and `window`.
fn dup_ack(base: Seq, sack: Blocks, window: u16) -> TcpRepr {
    TcpRepr {
        window,
        ..peer(Flags::ACK, IRS + 1, base, sack)
    }
}

/// RFC 3042 Limited Transmit: with data waiting, each of the first two duplicate ACKs
/// lets one new segment out beyond cwnd, so a small window still draws the third. An
/// ACK that SACKs new data counts even when the receiver's window moved (RFC 6675 2).
#[test]
fn limited_transmit_sends_one_new_segment_on_each_of_the_first_two_duplicates() {
    let mut c = established(true);
    c.send(&[7; 20 * MSS]).unwrap();
    let first: Vec<Seq> = sent(&mut c, ms(10)).iter().map(|s| s.0).collect();
    assert_eq!(first.len(), 10, "IW10, then cwnd is full");
    let base = ISS + 1;
    // Segment 0 is lost. peer > us: [.] ack base, sack 1000-2000, win 64000
    let _ = c.handle_segment(
        ms(20),
        &dup_ack(base, blocks(base, &[(MSS, 2 * MSS)]), 64000),
        &[],
    );
    // us > peer: segment 10, new data beyond cwnd.
    let out = sent(&mut c, ms(20));
    assert_eq!(
        out.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(),
        vec![(base + 10 * MSS, MSS)]
    );
    // peer > us: [.] ack base, sack 1000-3000, win 63000 -> segment 11.
    let _ = c.handle_segment(
        ms(21),
        &dup_ack(base, blocks(base, &[(MSS, 3 * MSS)]), 63000),
        &[],
    );
    let out = sent(&mut c, ms(21));
    assert_eq!(
        out.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![base + 11 * MSS]
    );
    assert_eq!(c.counters().dup_acks, 2);
    assert_eq!(
        c.counters().fast_retransmits,
        0,
        "not yet: two segments SACKed"
    );
    // The third: segment 0 is lost (RFC 6675 IsLost), resent first.
    let _ = c.handle_segment(
        ms(22),
        &dup_ack(base, blocks(base, &[(MSS, 4 * MSS)]), 62000),
        &[],
    );
    let out = sent(&mut c, ms(22));
    assert_eq!(out.first().map(|s| s.0), Some(first[0]));
    assert_eq!(c.counters().fast_retransmits, 1);
}

/// A recovery ends with an ACK exactly at its recovery point, and the very next segment
/// (the first sent at or after that point) is lost too. With SACK the scoreboard shows
/// it: a new fast recovery starts (RFC 6675 5.1 holds back only until HighACK reaches
/// the RecoveryPoint), instead of waiting for the retransmission timer.
#[test]
fn a_loss_right_at_the_last_recovery_point_is_repaired_without_a_timeout() {
    let mut c = established(true);
    c.send(&[7; 40 * MSS]).unwrap();
    let _ = sent(&mut c, ms(10));
    let base = ISS + 1;
    // Segment 0 lost, 1-3 SACKed: fast retransmit; recovery point = base + 10 MSS.
    for n in 1..=3 {
        let sack = blocks(base, &[(MSS, (n + 1) * MSS)]);
        let _ = c.handle_segment(ms(20), &dup_ack(base, sack, 65535), &[]);
    }
    let _ = sent(&mut c, ms(20));
    assert_eq!(c.counters().fast_retransmits, 1);
    // peer > us: [.] ack base + 10 MSS (everything up to the recovery point).
    let _ = c.handle_segment(
        ms(30),
        &peer(Flags::ACK, IRS + 1, base + 10 * MSS, [None; 4]),
        &[],
    );
    let out: Vec<Seq> = sent(&mut c, ms(30)).iter().map(|s| s.0).collect();
    assert_eq!(
        out,
        vec![base + 10 * MSS, base + 11 * MSS],
        "cwnd after recovery"
    );
    // Segment 10, at the old recovery point, is lost; 11 arrives, then the segments
    // Limited Transmit sends on the first two duplicates (12, 13).
    for n in 1..=3 {
        let sack = blocks(base, &[(11 * MSS, (11 + n) * MSS)]);
        let _ = c.handle_segment(ms(40), &dup_ack(base + 10 * MSS, sack, 65535), &[]);
        if n < 3 {
            let out = sent(&mut c, ms(40));
            assert_eq!(
                out.iter().map(|s| s.0).collect::<Vec<_>>(),
                vec![base + (11 + n) * MSS]
            );
        }
    }
    let out = sent(&mut c, ms(40));
    assert_eq!(
        out.first().map(|s| s.0),
        Some(base + 10 * MSS),
        "resent at once"
    );
    assert_eq!(c.counters().fast_retransmits, 2);
    assert_eq!(c.counters().timeouts, 0);
}

/// After a retransmission timeout, SACKs that arrive again guide the resending (RFC
/// 6675 5.1): only the holes go out, each once, and a second loss in the same window
/// costs no second timeout.
#[test]
fn after_a_timeout_only_the_holes_the_peer_reports_are_resent() {
    let mut c = established(true);
    let seqs = ten_segments(&mut c);
    let base = ISS + 1;
    // Segments 0 and 5 are lost and every ACK too: the timer fires.
    let rto = c.poll_timeout().unwrap();
    c.handle_timeout(rto);
    assert_eq!(
        c.details().sacked,
        0,
        "RFC 2018 8: the old SACKed bits are gone"
    );
    let out = sent(&mut c, rto);
    assert_eq!(
        out.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![seqs[0]],
        "cwnd = 1 MSS"
    );
    // peer > us: [.] ack base + 5 MSS, sack 6000-10000 (it holds 1-4 and 6-9).
    let ack = peer(
        Flags::ACK,
        IRS + 1,
        base + 5 * MSS,
        blocks(base, &[(6 * MSS, 10 * MSS)]),
    );
    let _ = c.handle_segment(rto + Duration::from_millis(1), &ack, &[]);
    let out = sent(&mut c, rto + Duration::from_millis(1));
    // us > peer: segment 5 only; 6-9 are SACKed, not resent (go-back-N would resend them).
    assert_eq!(out.iter().map(|s| s.0).collect::<Vec<_>>(), vec![seqs[5]]);
    let done = peer(Flags::ACK, IRS + 1, base + 10 * MSS, [None; 4]);
    let _ = c.handle_segment(rto + Duration::from_millis(2), &done, &[]);
    assert!(c.all_acked());
    assert_eq!(c.counters().timeouts, 1);
    assert_eq!(c.counters().retransmits, 2, "segments 0 and 5, once each");
}

/// Resending the segment at SND.UNA restarts the retransmission timer: the repair gets
/// a whole RTO to be acknowledged, not what was left from the last new ACK.
#[test]
fn a_fast_retransmission_of_the_head_restarts_the_timer() {
    let mut c = established(true);
    let seqs = ten_segments(&mut c);
    let base = ISS + 1;
    let before = c.poll_timeout().unwrap();
    for n in 1..=3 {
        let sack = blocks(base, &[(MSS, (n + 1) * MSS)]);
        let _ = c.handle_segment(ms(500), &peer(Flags::ACK, IRS + 1, base, sack), &[]);
    }
    let out = sent(&mut c, ms(500));
    assert_eq!(out.first().map(|s| s.0), Some(seqs[0]));
    let after = c.poll_timeout().unwrap();
    assert_eq!(
        after - before,
        Duration::from_millis(490),
        "restarted at 500 ms, not 10"
    );
}

/// Found by the `tcp_conversation` fuzz target in CI: the peer closed its window after
/// our data went out, then the retransmission timer fired. Timeout recovery resent a
/// whole segment past the (now zero) window. Nothing goes past the peer's window: a
/// closed one is left to the persist timer's probes (RFC 9293 3.8.6.1), and a shrunk one
/// bounds what is resent.
#[test]
fn a_timeout_sends_nothing_past_a_window_the_peer_closed() {
    let mut c = established(true);
    let _ = ten_segments(&mut c);
    let base = ISS + 1;
    // peer > us: [.] ack base, win 0 (nothing acknowledged; the window shut).
    let _ = c.handle_segment(ms(20), &dup_ack(base, [None; 4], 0), &[]);
    let rto = c.poll_timeout().unwrap();
    c.handle_timeout(rto);
    for (seq, len, _) in sent(&mut c, rto) {
        assert!(
            len == 0 || (seq == base && len <= 1),
            "{len} bytes at {seq:?} sent into a closed window"
        );
    }
    // The window opens to 500 bytes: a retransmission fits in it.
    let _ = c.handle_segment(rto, &dup_ack(base, [None; 4], 500), &[]);
    let later = c.poll_timeout().unwrap();
    c.handle_timeout(later);
    for (seq, len, _) in sent(&mut c, later) {
        assert!(
            (seq + len).le(base + 500),
            "{len} bytes at {seq:?} past a 500-byte window"
        );
    }
}

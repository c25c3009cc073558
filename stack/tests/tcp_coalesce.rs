//! Receive coalescing (`Stack::receive_batch`, a software GRO): a batch of in-order
//! segments from the peer is joined into one before TCP sees it, so it draws one ACK;
//! anything that would make the joined segment say something the pieces did not (a
//! gap, PSH, other options, a bad checksum) ends the run.

mod util;

use netstack_core::tcp::seq::Seq;
use netstack_core::wire::tcp::{Flags, Options};
use netstack_core::wire::{Ipv4Repr, TcpRepr};
use netstack_core::{RxDrop, TcpState};
use util::tcp::*;

/// The peer's data segments, `len` bytes each from its first byte on, as frames.
fn segments(c: &Conn, lens: &[usize]) -> Vec<Vec<u8>> {
    let mut offset = 0;
    lens.iter()
        .map(|&len| {
            let repr = TcpRepr {
                seq: c.irs + 1 + offset,
                ..c.tmpl()
            };
            let frame = segment_frame(&repr, &bytes(offset, len));
            offset += len;
            frame
        })
        .collect()
}

/// The stack receives `frames` as one batch read at `ms`.
fn batch(c: &mut Conn, ms: u64, frames: &[Vec<u8>]) {
    let now = c.at(ms);
    c.s.receive_batch(frames.iter().map(|f| (now, &f[..])));
}

fn coalesced(c: &Conn) -> u64 {
    c.s.counters().rx_coalesced
}

#[test]
fn ten_in_order_segments_in_one_batch_draw_one_ack() {
    let mut c = established();
    let before = c.s.counters().rx_frames;
    // peer > us: [.] seq 1001:2461, 2461:3921, ... 14601 bytes in ten segments, one batch
    let frames = segments(&c, &[1460; 10]);
    batch(&mut c, 10, &frames);
    // us > peer: [.] ack 15601, one ACK for the joined segment
    let acks = c.expect();
    assert_eq!(acks.len(), 1, "one ACK, got {acks:?}");
    assert_seg(&acks[0], Flags::ACK, c.iss + 1, c.irs + 1 + 14600, 0);
    assert_eq!(c.read_all(c.at(11)), bytes(0, 14600));
    let counters = c.s.counters();
    assert_eq!(counters.rx_frames - before, 10, "every frame is counted");
    assert_eq!(counters.rx_coalesced, 9, "nine joined onto the first");
}

#[test]
fn the_same_batch_without_coalescing_draws_an_ack_every_second_segment() {
    let mut open = Open::default();
    open.cfg.rx_coalesce = false;
    let mut c = open.passive();
    let frames = segments(&c, &[1460; 10]);
    batch(&mut c, 10, &frames);
    // RFC 9293 3.8.6.3: an ACK for at least every second full-sized segment.
    let acks = c.expect();
    assert_eq!(acks.len(), 5, "{acks:?}");
    assert_seg(&acks[4], Flags::ACK, c.iss + 1, c.irs + 1 + 14600, 0);
    assert_eq!(c.read_all(c.at(11)), bytes(0, 14600));
    assert_eq!(coalesced(&c), 0);
}

#[test]
fn a_gap_ends_the_run_and_the_held_data_waits_for_the_hole() {
    let mut c = established();
    // peer > us: 1001:2001, 2001:3001, [3001:4001 lost], 4001:5001, 5001:6001
    let mut frames = segments(&c, &[1000; 5]);
    frames.remove(2);
    batch(&mut c, 10, &frames);
    // us > peer: [.] ack 3001 (the first two, joined) and a duplicate ack 3001 for the
    // out-of-order segment: the two after the hole join too, but arrive out of order.
    let acks = c.expect();
    assert!(acks.iter().all(|a| a.ack == c.irs + 2001), "{acks:?}");
    assert_eq!(coalesced(&c), 2);
    // peer > us: 3001:4001, the retransmission
    let hole = segments(&c, &[1000; 3]).remove(2);
    batch(&mut c, 20, &[hole]);
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 5001, 0);
    assert_eq!(c.read_all(c.at(21)), bytes(0, 5000));
}

#[test]
fn psh_ends_the_joined_segment() {
    let mut c = established();
    // peer > us: 1001:2461, 2461:3921 [P.], 3921:5381, 5381:6841
    let mut frames = segments(&c, &[1460; 4]);
    let pushed = TcpRepr {
        seq: c.irs + 1461,
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    frames[1] = segment_frame(&pushed, &bytes(1460, 1460));
    batch(&mut c, 10, &frames);
    // Two joined segments, [1001, 3921) and [3921, 6841): two joins of two. TCP
    // acknowledges once the batch is read: one ACK for both.
    assert_eq!(coalesced(&c), 2);
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 5841, 0);
    assert_eq!(c.read_all(c.at(11)), bytes(0, 5840));
}

#[test]
fn a_shorter_segment_is_the_last_joined() {
    let mut c = established();
    // 1001:2001, 2001:2501 (short: the sender had no more), 2501:3501
    let frames = segments(&c, &[1000, 500, 1000]);
    batch(&mut c, 10, &frames);
    assert_eq!(coalesced(&c), 1, "only the short one joins the first");
    assert_eq!(c.read_all(c.at(11)), bytes(0, 2500));
}

#[test]
fn segments_with_other_options_are_not_joined() {
    let mut c = established();
    // The same data, each segment with its own timestamp: joining them would lose the
    // later TSvals (RFC 7323 4.3 reads one per segment).
    let frames: Vec<Vec<u8>> = (0..4u32)
        .map(|i| {
            let repr = TcpRepr {
                seq: c.irs + 1 + 1000 * i as usize,
                options: Options {
                    timestamps: Some((100 + i, 0)),
                    ..Options::default()
                },
                ..c.tmpl()
            };
            segment_frame(&repr, &bytes(1000 * i as usize, 1000))
        })
        .collect();
    batch(&mut c, 10, &frames);
    assert_eq!(coalesced(&c), 0);
    assert_eq!(c.read_all(c.at(11)), bytes(0, 4000));
}

#[test]
fn a_corrupt_segment_is_dropped_and_counted_not_joined() {
    let mut c = established();
    let mut frames = segments(&c, &[1000; 4]);
    // One bit flipped in the third segment's data.
    let last = frames[2].len() - 1;
    frames[2][last] ^= 1;
    batch(&mut c, 10, &frames);
    let counters = c.s.counters();
    assert_eq!(counters.rx_dropped(RxDrop::TcpBadChecksum), 1);
    assert_eq!(
        counters.rx_coalesced, 1,
        "the first two joined; the fourth is out of order"
    );
    assert_eq!(c.read_all(c.at(11)), bytes(0, 2000));
}

#[test]
fn the_joined_datagram_has_valid_checksums_at_odd_lengths() {
    // Pieces of odd length put every second piece's data at an odd offset (RFC 1071
    // 2(B)). A raw socket for TCP gets a copy of the joined datagram: its checksum
    // must verify.
    let mut c = established();
    let raw = c.s.raw().open(6).unwrap();
    let frames = segments(&c, &[101, 101, 101, 50]);
    batch(&mut c, 10, &frames);
    assert_eq!(coalesced(&c), 3);
    let copy =
        c.s.raw()
            .recv(raw)
            .unwrap()
            .expect("a copy of the joined datagram");
    let (ip, body) = Ipv4Repr::parse(&copy.data).expect("a valid IPv4 header");
    let (seg, data) = TcpRepr::parse(ip.src, ip.dst, body).expect("checksum verifies");
    assert_eq!((seg.seq, data), (Seq(c.irs.0 + 1), &bytes(0, 353)[..]));
    assert_eq!(c.read_all(c.at(11)), bytes(0, 353));
}

mod same_bytes_either_way {
    //! Whatever the peer's segments (any sizes, reordered, duplicated, lost, pushed), a
    //! stack that coalesces each batch reads the same bytes, acknowledges the same
    //! point and counts the same frames as one that receives them one by one.
    use super::*;
    use proptest::prelude::*;

    /// One segment: where in the stream, how long, with PSH or not.
    fn run(
        segs: &[(usize, usize, bool)],
        batches: &[usize],
        coalesce: bool,
    ) -> (Vec<u8>, Seq, u64) {
        let mut open = Open::default();
        open.cfg.rx_coalesce = coalesce;
        let mut c = open.passive();
        let frames: Vec<Vec<u8>> = segs
            .iter()
            .map(|&(offset, len, psh)| {
                let repr = TcpRepr {
                    seq: c.irs + 1 + offset,
                    flags: if psh {
                        Flags::ACK | Flags::PSH
                    } else {
                        Flags::ACK
                    },
                    ..c.tmpl()
                };
                segment_frame(&repr, &bytes(offset, len))
            })
            .collect();
        let mut rest = &frames[..];
        let mut last_ack = c.irs + 1;
        for (i, &n) in batches.iter().cycle().enumerate() {
            if rest.is_empty() {
                break;
            }
            let (now, take) = (c.at(10 + i as u64), n.min(rest.len()));
            c.s.receive_batch(rest[..take].iter().map(|f| (now, &f[..])));
            rest = &rest[take..];
            // Let delayed ACKs go out too.
            c.tick(c.at(10 + i as u64 + 500));
            for seg in c.expect() {
                last_ack = seg.ack;
            }
        }
        let read = c.read_all(c.at(10_000));
        (read, last_ack, c.s.counters().rx_frames)
    }

    fn segments() -> impl Strategy<Value = Vec<(usize, usize, bool)>> {
        // Up to 40 segments cut from the first 40 KB, in any order, some repeated.
        proptest::collection::vec((0usize..40_000, 1usize..1461, any::<bool>()), 1..40)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn coalescing_changes_nothing_but_the_acks(
            in_order in 1usize..30,
            size in 1usize..1461,
            noise in segments(),
            batches in proptest::collection::vec(1usize..64, 1..6),
        ) {
            // A stretch in order, then whatever else the peer sends.
            let mut segs: Vec<(usize, usize, bool)> =
                (0..in_order).map(|i| (i * size, size, false)).collect();
            segs.extend(noise);
            let one_by_one = run(&segs, &[1], false);
            let batched = run(&segs, &batches, true);
            prop_assert_eq!(&batched.0, &one_by_one.0, "bytes read");
            prop_assert_eq!(batched.1, one_by_one.1, "the last ACK");
            prop_assert_eq!(batched.2, one_by_one.2, "frames counted");
        }
    }
}

/// The frames the stack sent: with TSO on they may be longer than the MTU, their
/// checksums left to the link, so only their TCP payload lengths are read here.
fn sent_payloads(c: &mut Conn) -> Vec<usize> {
    let mut lens = vec![];
    c.s.transmit(|f| {
        let header = usize::from(f[14 + 20 + 12] >> 4) * 4;
        lens.push(f.len() - 14 - 20 - header);
    });
    lens
}

fn acks_open_the_window(coalesce: bool) -> Vec<usize> {
    let mut open = Open::default();
    open.cfg.tcp.tso = true;
    open.cfg.rx_coalesce = coalesce;
    let mut c = open.passive();
    c.write(c.at(1), &bytes(0, 200_000));
    // us > peer: the initial window, ten segments in one TSO frame
    assert_eq!(sent_payloads(&mut c), [14_600]);
    // peer > us: ten ACKs, one per segment, read in one batch
    let acks: Vec<Vec<u8>> = (1..=10)
        .map(|k| {
            let ack = TcpRepr {
                ack: c.iss + 1 + 1460 * k,
                ..c.tmpl()
            };
            segment_frame(&ack, &[])
        })
        .collect();
    batch(&mut c, 2, &acks);
    sent_payloads(&mut c)
}

#[test]
fn a_batch_of_acks_opens_the_window_once_for_one_large_tso_frame() {
    // Slow start: each ACK of a full segment opens two (RFC 5681 3.1, cwnd += SMSS on
    // top of the segment it acknowledged). Held to the end of the batch, the twenty
    // segments go as one TSO frame.
    assert_eq!(acks_open_the_window(true), [20 * 1460]);
    // Received one at a time, each ACK sends its own two-segment frame.
    assert_eq!(acks_open_the_window(false), [2 * 1460; 10]);
}

#[test]
fn states_passed_within_one_batch_are_all_recorded() {
    // The ACK of our FIN and the peer's FIN, read in one batch: TCP sends once the
    // batch is read, but the event log (what --trace prints) still sees FIN-WAIT-2.
    let mut c = fin_wait_1();
    c.s.enable_tcp_events(64);
    let ack = TcpRepr {
        ack: c.iss + 2,
        ..c.tmpl()
    };
    let fin = TcpRepr {
        flags: Flags::FIN | Flags::ACK,
        ..ack
    };
    batch(
        &mut c,
        5,
        &[segment_frame(&ack, &[]), segment_frame(&fin, &[])],
    );
    // us > peer: [.] ack 1002, once
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
    let mut states = vec![];
    c.s.drain_tcp_events(|e| {
        if matches!(e.kind, netstack_core::tcp::events::EventKind::State { .. }) {
            states.push(e.state);
        }
    });
    assert_eq!(states, [TcpState::FinWait2, TcpState::TimeWait]);
}

#[test]
fn writes_made_while_output_is_held_leave_as_one_tso_frame() {
    // A driver loop holds output while the application's code runs (Linux's
    // autocorking): ten writes of one segment each leave as one TSO frame.
    let mut open = Open::default();
    open.cfg.tcp.tso = true;
    let mut c = open.passive();
    c.s.hold_output();
    for k in 0..10 {
        let (now, h) = (c.at(1), c.h);
        let n = c.s.tcp().send(now, h, &bytes(1460 * k, 1460)).unwrap();
        assert_eq!(n, 1460);
    }
    assert_eq!(sent_payloads(&mut c), Vec::<usize>::new(), "held");
    c.s.release_output(c.at(1));
    assert_eq!(sent_payloads(&mut c), [14_600]);
    // Without the hold, the first write goes at once, alone.
    let mut open = Open::default();
    open.cfg.tcp.tso = true;
    let mut d = open.passive();
    let (now, h) = (d.at(1), d.h);
    d.s.tcp().send(now, h, &bytes(0, 1460)).unwrap();
    assert_eq!(sent_payloads(&mut d), [1460]);
}

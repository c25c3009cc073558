//! TCP data transfer against a scripted peer, segment by segment, on the injected clock:
//! out-of-order arrival, retransmission (RFC 6298) and fast retransmit (RFC 5681),
//! zero-window probing, delayed ACKs, Nagle's algorithm and the receive window.

mod util;

use netstack_core::tcp::seq::Seq;
use netstack_core::wire::tcp::Flags;
use netstack_core::wire::TcpRepr;
use netstack_core::{Duration, TcpError, TcpState};
use util::tcp::*;

/// The RTO after a handshake with a zero round trip: the 200 ms floor.
const RTO: u64 = 200;

// ---------------------------------------------------------------------------------------
// Out-of-order data
// ---------------------------------------------------------------------------------------

fn out_of_order_data_is_held_then_delivered_when_the_hole_fills(open: Open) {
    let mut c = open.passive();
    // peer > us: [.] seq 1101:1201 (1001:1101 is lost)
    let second = TcpRepr {
        seq: c.irs + 101,
        ..c.tmpl()
    };
    c.send(c.at(10), second, &bytes(100, 100));
    // us > peer: [.] ack 1001, at once (RFC 5681 4.2: a duplicate ACK)
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    // peer > us: [.] seq 1201:1301
    let third = TcpRepr {
        seq: c.irs + 201,
        ..c.tmpl()
    };
    c.send(c.at(11), third, &bytes(200, 100));
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    assert_eq!(c.read_all(c.at(12)), b"", "nothing in order yet");
    // peer > us: [.] seq 1001:1101, the retransmission
    c.send(c.at(20), c.tmpl(), &bytes(0, 100));
    // us > peer: [.] ack 1301, at once: the ACK jumps over the held data
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 301, 0);
    assert_eq!(c.read_all(c.at(21)), bytes(0, 300));
    assert_eq!(c.s.tcp().sockets()[1].counters.out_of_order, 2);
}

#[test]
fn out_of_order_data_is_held_then_delivered_when_the_hole_fills_small() {
    out_of_order_data_is_held_then_delivered_when_the_hole_fills(Open::default());
}

#[test]
fn out_of_order_data_is_held_then_delivered_when_the_hole_fills_across_the_wrap() {
    out_of_order_data_is_held_then_delivered_when_the_hole_fills(Open::wrapping());
}

#[test]
fn a_partial_fill_acknowledges_up_to_the_next_hole() {
    let mut c = established();
    // Held: 1201:1301. Then 1001:1101 arrives; 1101:1201 is still missing.
    let third = TcpRepr {
        seq: c.irs + 201,
        ..c.tmpl()
    };
    c.send(c.at(10), third, &bytes(200, 100));
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    c.send(c.at(11), c.tmpl(), &bytes(0, 100));
    // us > peer: [.] ack 1101, at once (there is still a hole)
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 101, 0);
    let second = TcpRepr {
        seq: c.irs + 101,
        ..c.tmpl()
    };
    c.send(c.at(12), second, &bytes(100, 100));
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 301, 0);
    assert_eq!(c.read_all(c.at(13)), bytes(0, 300));
}

// ---------------------------------------------------------------------------------------
// Retransmission
// ---------------------------------------------------------------------------------------

#[test]
fn syn_is_retransmitted_with_backoff_then_connect_times_out() {
    let mut c = syn_sent();
    // RFC 6298 (2.1), (5.5): 1 s, then doubling: SYNs at 0, 1, 3, 7, 15, 31, 63 s.
    let mut at = 0;
    for retry in 0..6 {
        let rto = 1000 << retry;
        at += rto;
        assert_eq!(c.next_timer(), Some(c.at(at)), "retry {retry}");
        c.tick(c.at(at - 1));
        c.expect_nothing();
        c.tick(c.at(at));
        // us > peer: [S] seq ISS, mss 1460, again
        let syn = c.expect_one();
        assert_seg(&syn, Flags::SYN, c.iss, Seq(0), 0);
        assert_eq!(syn.options.mss, Some(OUR_MSS));
        assert_eq!(c.state(), TcpState::SynSent);
    }
    // syn_retries = 6: the seventh expiry, at 127 s, gives up.
    assert_eq!(c.next_timer(), Some(c.at(127_000)));
    c.tick(c.at(127_000));
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::Closed);
    assert_eq!(c.next_timer(), None);
    assert_eq!(
        c.s.tcp().send(at_from(c.t0, 127_001), c.h, b"x"),
        Err(TcpError::TimedOut)
    );
}

#[test]
fn lost_data_is_retransmitted_after_the_rto_with_exponential_backoff() {
    let mut c = established();
    c.write(c.at(10), &bytes(0, 100));
    // us > peer: [P.] seq ISS+1:ISS+101
    assert_seg(
        &c.expect_one(),
        Flags::ACK | Flags::PSH,
        c.iss + 1,
        c.irs + 1,
        100,
    );
    // Lost. RFC 6298 (5.4)-(5.6): retransmit after the RTO, doubling it each time.
    let mut at = 10;
    for rto in [RTO, 2 * RTO, 4 * RTO, 8 * RTO] {
        at += rto;
        assert_eq!(c.next_timer(), Some(c.at(at)));
        c.tick(c.at(at - 1));
        c.expect_nothing();
        c.tick(c.at(at));
        let again = c.expect_one();
        assert_seg(&again, Flags::ACK | Flags::PSH, c.iss + 1, c.irs + 1, 100);
        assert_eq!(again.data, bytes(0, 100));
    }
    // peer > us: [.] ack ISS+101
    let ack = TcpRepr {
        ack: c.iss + 101,
        ..c.tmpl()
    };
    c.send(c.at(at + 5), ack, &[]);
    c.expect_nothing();
    assert_eq!(
        c.next_timer(),
        None,
        "all acknowledged: timer stopped (5.2)"
    );
    let row = &c.s.tcp().sockets()[1];
    assert_eq!((row.counters.timeouts, row.counters.retransmits), (4, 4));
    // Karn: that ACK timed nothing (it acknowledged a retransmission), so the backed-off
    // RTO stays until a fresh sample.
    at += 100;
    c.write(c.at(at), &bytes(100, 10));
    c.expect_one();
    assert_eq!(c.next_timer(), Some(c.at(at + 16 * RTO)));
    let ack = TcpRepr {
        ack: c.iss + 111,
        ..c.tmpl()
    };
    c.send(c.at(at + 1), ack, &[]);
    // A valid sample ends the backoff: back near the 200 ms floor.
    at += 10;
    c.write(c.at(at), &bytes(110, 10));
    c.expect_one();
    assert_eq!(c.next_timer(), Some(c.at(at + RTO)));
}

#[test]
fn rto_follows_rtt_samples_down_to_the_200ms_floor() {
    // Handshake RTT 100 ms: SRTT 100, RTTVAR 50, RTO = 100 + 4 * 50 = 300 ms (RFC 6298 2.2).
    let mut c = Open {
        rtt: Duration::from_millis(100),
        ..Open::default()
    }
    .passive();
    let mut now = 1000;
    c.write(c.at(now), b"x");
    c.expect_one();
    assert_eq!(c.next_timer(), Some(c.at(now + 300)));
    // Then twenty exchanges of 10 ms round trips: one byte out, its ACK 10 ms later.
    for sent in 1..=20 {
        let ack = TcpRepr {
            ack: c.iss + 1 + sent,
            ..c.tmpl()
        };
        c.send(c.at(now + 10), ack, &[]);
        now += 100;
        c.write(c.at(now), b"x");
        c.expect_one();
    }
    // SRTT = 10 + 90 * (7/8)^20 ~ 16 ms and RTTVAR a few ms: the computed RTO is far
    // below the 200 ms floor, which applies (RFC 6298 2.4 with Linux's minimum).
    assert_eq!(c.next_timer(), Some(c.at(now + RTO)));
    let details = c.s.tcp().sockets()[1].details.unwrap();
    let srtt = details.srtt_us.unwrap();
    assert!((16_000..16_500).contains(&srtt), "srtt {srtt} us");
    assert_eq!(details.rto_ms, 200);
}

#[test]
fn three_duplicate_acks_fast_retransmit_exactly_one_segment() {
    let mut c = established();
    c.write(c.at(10), &bytes(0, 5 * 1460));
    // us > peer: five full segments
    let segs = c.expect();
    assert_eq!(segs.len(), 5, "{segs:?}");
    for (i, seg) in segs.iter().enumerate() {
        assert_eq!((seg.seq, seg.data.len()), (c.iss + 1 + 1460 * i, 1460));
    }
    // peer > us: [.] ack ISS+1461 (the second segment was lost)
    let ack = TcpRepr {
        ack: c.iss + 1461,
        ..c.tmpl()
    };
    c.send(c.at(20), ack, &[]);
    c.expect_nothing();
    // peer > us: the same ACK three more times, for segments 3, 4 and 5
    c.send(c.at(21), ack, &[]);
    c.send(c.at(22), ack, &[]);
    c.expect_nothing();
    c.send(c.at(23), ack, &[]);
    // us > peer: [.] seq ISS+1461:ISS+2921, the lost segment and nothing else
    let segs = c.expect();
    assert_eq!(segs.len(), 1, "{segs:?}");
    assert_seg(&segs[0], Flags::ACK, c.iss + 1461, c.irs + 1, 1460);
    assert_eq!(segs[0].data, bytes(1460, 1460));
    // A fourth duplicate: no new data to send, so nothing.
    c.send(c.at(24), ack, &[]);
    c.expect_nothing();
    let row = &c.s.tcp().sockets()[1];
    assert_eq!(row.counters.fast_retransmits, 1);
    assert_eq!(row.counters.dup_acks, 4);
    // peer > us: [.] ack ISS+7301, everything
    let ack = TcpRepr {
        ack: c.iss + 1 + 5 * 1460,
        ..c.tmpl()
    };
    c.send(c.at(30), ack, &[]);
    c.expect_nothing();
    assert!(c.s.tcp().all_acked(c.h));
}

// ---------------------------------------------------------------------------------------
// Zero window
// ---------------------------------------------------------------------------------------

/// Runs `c`'s timers up to `until_ms`, answering each window probe with the window
/// still shut; returns how many probes came.
#[track_caller]
fn answer_probes_until(c: &mut Conn, until_ms: u64) -> usize {
    let mut probes = 0;
    while let Some(t) = c.next_timer() {
        if t > c.at(until_ms) {
            break;
        }
        c.tick(t);
        for probe in c.expect() {
            // us > peer: [.] seq ISS+1:ISS+2, the probe's one byte
            assert_seg(&probe, Flags::ACK, c.iss + 1, c.irs + 1, 1);
            probes += 1;
            // peer > us: [.] ack ISS+1, win 0
            let still = TcpRepr {
                window: 0,
                ..c.tmpl()
            };
            c.send(t, still, &[]);
        }
    }
    probes
}

/// ESTABLISHED, the peer's window closed, 100 bytes written at 2 ms and held.
#[track_caller]
fn closed_window() -> Conn {
    let mut c = established();
    // peer > us: [.] ack ISS+1, win 0
    let shut = TcpRepr {
        window: 0,
        ..c.tmpl()
    };
    c.send(c.at(1), shut, &[]);
    c.write(c.at(2), &bytes(0, 100));
    c.expect_nothing();
    c
}

#[test]
fn zero_window_is_probed_with_backoff_until_it_opens() {
    let mut c = closed_window();
    // RFC 9293 3.8.6.1: probe the closed window with one byte, backing off: after one
    // RTO, then 2, 4, 8 RTOs.
    let mut at = 2;
    for n in 0..4 {
        at += RTO << n;
        assert_eq!(c.next_timer(), Some(c.at(at)), "probe {n}");
        c.tick(c.at(at - 1));
        c.expect_nothing();
        c.tick(c.at(at));
        // us > peer: [.] seq ISS+1:ISS+2, one byte
        let probe = c.expect_one();
        assert_seg(&probe, Flags::ACK, c.iss + 1, c.irs + 1, 1);
        assert_eq!(probe.data, bytes(0, 1));
        // peer > us: [.] ack ISS+1, win 0 (still closed)
        let still = TcpRepr {
            window: 0,
            ..c.tmpl()
        };
        c.send(c.at(at + 1), still, &[]);
        c.expect_nothing();
    }
    // peer > us: [.] ack ISS+1, win 1000 (a window update)
    let open = TcpRepr {
        window: 1000,
        ..c.tmpl()
    };
    c.send(c.at(at + 10), open, &[]);
    // us > peer: [P.] seq ISS+1:ISS+101
    let data = c.expect_one();
    assert_seg(&data, Flags::ACK | Flags::PSH, c.iss + 1, c.irs + 1, 100);
    assert_eq!(data.data, bytes(0, 100));
}

#[test]
fn zero_window_probe_whose_byte_is_taken_lets_the_data_flow() {
    let mut c = closed_window();
    c.tick(c.at(2 + RTO));
    let probe = c.expect_one();
    assert_seg(&probe, Flags::ACK, c.iss + 1, c.irs + 1, 1);
    // peer > us: [.] ack ISS+2, win 1000: the window had opened (that update was lost),
    // so the probe's byte was taken and is acknowledged.
    let ack = TcpRepr {
        ack: c.iss + 2,
        window: 1000,
        ..c.tmpl()
    };
    c.send(c.at(2 + RTO + 1), ack, &[]);
    // us > peer: [P.] seq ISS+2:ISS+101, the rest
    let rest = c.expect_one();
    assert_seg(&rest, Flags::ACK | Flags::PSH, c.iss + 2, c.irs + 1, 99);
    assert_eq!(rest.data, bytes(1, 99));
    assert_eq!(c.s.counters().tcp_challenge_acks, 0);
}

#[test]
fn a_window_closed_for_an_hour_does_not_kill_the_connection() {
    // RFC 1122 4.2.2.17: as long as the peer answers the probes, the connection stays.
    let mut c = closed_window();
    let probes = answer_probes_until(&mut c, 3_600_000);
    assert_eq!(c.state(), TcpState::Established);
    // Backoff is capped at 60 s: about one probe a minute.
    assert!((55..70).contains(&probes), "{probes} probes");
}

// ---------------------------------------------------------------------------------------
// Delayed ACK
// ---------------------------------------------------------------------------------------

#[test]
fn a_single_segment_is_acknowledged_after_the_delayed_ack_time() {
    let mut c = established();
    // peer > us: [P.] seq 1001:1101
    let data = TcpRepr {
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    c.send(c.at(10), data, &bytes(0, 100));
    c.expect_nothing();
    // RFC 1122 4.2.3.2: delayed, here by config.tcp.delayed_ack = 40 ms.
    assert_eq!(c.next_timer(), Some(c.at(50)));
    c.tick(c.at(49));
    c.expect_nothing();
    c.tick(c.at(50));
    // us > peer: [.] ack 1101
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 101, 0);
    assert_eq!(c.next_timer(), None);
}

#[test]
fn every_second_full_segment_is_acknowledged_at_once() {
    let mut c = established();
    // peer > us: [.] seq 1001:2461
    c.send(c.at(10), c.tmpl(), &bytes(0, 1460));
    c.expect_nothing();
    // peer > us: [.] seq 2461:3921
    let second = TcpRepr {
        seq: c.irs + 1461,
        ..c.tmpl()
    };
    c.send(c.at(11), second, &bytes(1460, 1460));
    // us > peer: [.] ack 3921, without waiting
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 2921, 0);
    assert_eq!(c.next_timer(), None, "nothing left to acknowledge");
}

#[test]
fn a_delayed_ack_rides_on_data_we_send() {
    let mut c = established();
    c.send(c.at(10), c.tmpl(), &bytes(0, 100));
    c.expect_nothing();
    c.write(c.at(20), b"reply");
    // us > peer: [P.] seq ISS+1:ISS+6, ack 1101: the ACK goes with the data
    assert_seg(
        &c.expect_one(),
        Flags::ACK | Flags::PSH,
        c.iss + 1,
        c.irs + 101,
        5,
    );
    c.tick(c.at(50));
    c.expect_nothing();
}

// ---------------------------------------------------------------------------------------
// Nagle
// ---------------------------------------------------------------------------------------

#[test]
fn nagle_holds_a_small_write_while_data_is_unacknowledged() {
    let mut c = established();
    c.write(c.at(1), b"a");
    // us > peer: [P.] seq ISS+1:ISS+2 (nothing in flight: it goes)
    assert_seg(
        &c.expect_one(),
        Flags::ACK | Flags::PSH,
        c.iss + 1,
        c.irs + 1,
        1,
    );
    c.write(c.at(2), b"b");
    c.write(c.at(3), b"c");
    // RFC 1122 4.2.3.4 / RFC 896: held while "a" is unacknowledged.
    c.expect_nothing();
    // peer > us: [.] ack ISS+2
    let ack = TcpRepr {
        ack: c.iss + 2,
        ..c.tmpl()
    };
    c.send(c.at(4), ack, &[]);
    // us > peer: [P.] seq ISS+2:ISS+4, "bc" together
    let bc = c.expect_one();
    assert_seg(&bc, Flags::ACK | Flags::PSH, c.iss + 2, c.irs + 1, 2);
    assert_eq!(bc.data, b"bc");
}

#[test]
fn nagle_does_not_hold_a_full_segment() {
    let mut c = established();
    c.write(c.at(1), b"a");
    c.expect_one();
    c.write(c.at(2), &bytes(0, 1460 + 10));
    // us > peer: [.] seq ISS+2:ISS+1462 (full-sized); the 10-byte tail waits
    let segs = c.expect();
    assert_eq!(segs.len(), 1, "{segs:?}");
    assert_seg(&segs[0], Flags::ACK, c.iss + 2, c.irs + 1, 1460);
}

#[test]
fn nodelay_sends_small_writes_at_once() {
    let mut c = established();
    c.s.tcp().set_nodelay(c.h, true).unwrap();
    assert_eq!(c.s.tcp().nodelay(c.h), Ok(true));
    c.write(c.at(1), b"a");
    assert_seg(
        &c.expect_one(),
        Flags::ACK | Flags::PSH,
        c.iss + 1,
        c.irs + 1,
        1,
    );
    c.write(c.at(2), b"b");
    assert_seg(
        &c.expect_one(),
        Flags::ACK | Flags::PSH,
        c.iss + 2,
        c.irs + 1,
        1,
    );
}

// ---------------------------------------------------------------------------------------
// The receive window
// ---------------------------------------------------------------------------------------

/// ESTABLISHED with a 4096-byte receive buffer.
#[track_caller]
fn small_buffer() -> Conn {
    let mut open = Open::default();
    open.cfg.tcp.recv_buffer = 4096;
    open.passive()
}

#[test]
fn the_window_shrinks_as_data_waits_and_reopens_when_read() {
    let mut c = small_buffer();
    let seg = |c: &Conn, from: usize| TcpRepr {
        seq: c.irs + 1 + from,
        ..c.tmpl()
    };
    // peer > us: two segments of 1000
    c.send(c.at(10), seg(&c, 0), &bytes(0, 1000));
    c.send(c.at(11), seg(&c, 1000), &bytes(1000, 1000));
    // us > peer: [.] ack 3001, win 2096
    let ack = c.expect_one();
    assert_seg(&ack, Flags::ACK, c.iss + 1, c.irs + 2001, 0);
    assert_eq!(ack.window, 2096);
    c.send(c.at(20), seg(&c, 2000), &bytes(2000, 1000));
    c.send(c.at(21), seg(&c, 3000), &bytes(3000, 1000));
    // us > peer: [.] ack 5001, win 96
    let ack = c.expect_one();
    assert_seg(&ack, Flags::ACK, c.iss + 1, c.irs + 4001, 0);
    assert_eq!(ack.window, 96);
    // Reading a little does not reopen the window by a silly amount (RFC 1122 4.2.3.3).
    let mut buf = [0u8; 1000];
    assert_eq!(
        c.s.tcp().recv(at_from(c.t0, 30), c.h, &mut buf),
        Ok(Some(1000))
    );
    c.expect_nothing();
    // Reading the rest does: a window update.
    assert_eq!(c.read_all(c.at(40)), bytes(1000, 3000));
    // us > peer: [.] ack 5001, win 4096
    let update = c.expect_one();
    assert_seg(&update, Flags::ACK, c.iss + 1, c.irs + 4001, 0);
    assert_eq!(update.window, 4096);
}

#[test]
fn a_full_buffer_closes_the_window_and_drops_what_does_not_fit() {
    let mut c = small_buffer();
    let seg = |c: &Conn, from: usize| TcpRepr {
        seq: c.irs + 1 + from,
        ..c.tmpl()
    };
    c.send(c.at(10), seg(&c, 0), &bytes(0, 2048));
    c.send(c.at(11), seg(&c, 2048), &bytes(2048, 2048));
    // us > peer: [.] ack 5097, win 0
    let ack = c.expect_one();
    assert_seg(&ack, Flags::ACK, c.iss + 1, c.irs + 4097, 0);
    assert_eq!(ack.window, 0);
    // peer > us: a one-byte probe: not acceptable (RCV.WND = 0), answered with an ACK
    c.send(c.at(20), seg(&c, 4096), &bytes(4096, 1));
    let ack = c.expect_one();
    assert_seg(&ack, Flags::ACK, c.iss + 1, c.irs + 4097, 0);
    assert_eq!(ack.window, 0);
    assert_eq!(c.read_all(c.at(30)), bytes(0, 4096));
    // us > peer: [.] ack 5097, win 4096
    let update = c.expect_one();
    assert_eq!((update.ack, update.window), (c.irs + 4097, 4096));
}

// ---------------------------------------------------------------------------------------
// Segment sizes, the initial window, the SWS override and keep-alive
// ---------------------------------------------------------------------------------------

#[test]
fn without_an_mss_option_the_peer_gets_536_byte_segments() {
    // RFC 9293 3.7.1 / RFC 1122 4.2.2.6: no MSS option means 536.
    let mut c = Open {
        peer_mss: None,
        ..Open::default()
    }
    .passive();
    c.s.tcp().set_nodelay(c.h, true).unwrap();
    c.write(c.at(1), &bytes(0, 1000));
    let segs = c.expect();
    assert_eq!(segs.len(), 2, "{segs:?}");
    assert_seg(&segs[0], Flags::ACK, c.iss + 1, c.irs + 1, 536);
    assert_seg(
        &segs[1],
        Flags::ACK | Flags::PSH,
        c.iss + 537,
        c.irs + 1,
        464,
    );
}

#[test]
fn a_larger_peer_mss_is_held_to_our_mtu() {
    let mut c = Open {
        peer_mss: Some(9000),
        ..Open::default()
    }
    .passive();
    c.s.tcp().set_nodelay(c.h, true).unwrap();
    c.write(c.at(1), &bytes(0, 3000));
    let lens: Vec<usize> = c.expect().iter().map(|s| s.data.len()).collect();
    assert_eq!(lens, [1460, 1460, 80]);
}

#[test]
fn the_initial_window_is_ten_segments() {
    // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)) = 14600 bytes for an MSS of 1460.
    let mut c = established();
    c.write(c.at(1), &bytes(0, 30_000));
    let segs = c.expect();
    assert_eq!(segs.len(), 10, "{segs:?}");
    assert!(segs.iter().all(|s| s.data.len() == 1460));
    // peer > us: [.] ack ISS+2921: two segments acknowledged, slow start sends four more
    // (RFC 5681 3.1 with RFC 3465's byte counting, L = 2*SMSS: cwnd grows by 2920).
    let ack = TcpRepr {
        ack: c.iss + 2921,
        ..c.tmpl()
    };
    c.send(c.at(10), ack, &[]);
    let segs = c.expect();
    assert_eq!(segs.len(), 4, "{segs:?}");
    assert_eq!(segs[0].seq, c.iss + 1 + 14_600);
}

#[test]
fn a_small_window_is_used_after_the_sws_override_timeout() {
    let mut c = established();
    // peer > us: [.] ack ISS+1, win 100 (after offering 65535)
    let small = TcpRepr {
        window: 100,
        ..c.tmpl()
    };
    c.send(c.at(1), small, &[]);
    c.write(c.at(2), &bytes(0, 1000));
    // RFC 1122 4.2.3.4: 100 bytes are neither a full segment nor half the largest window
    // offered, so the sender waits for the window to grow ...
    c.expect_nothing();
    // ... but not for ever: (d), the override timeout (our persist timer).
    assert_eq!(c.next_timer(), Some(c.at(2 + RTO)));
    c.tick(c.at(2 + RTO));
    // us > peer: [.] seq ISS+1:ISS+101
    let seg = c.expect_one();
    assert_seg(&seg, Flags::ACK, c.iss + 1, c.irs + 1, 100);
    assert_eq!(seg.data, bytes(0, 100));
}

#[test]
fn keepalive_probes_an_idle_connection_then_gives_up() {
    let mut c = established();
    c.s.tcp()
        .set_keepalive(at_from(c.t0, 10), c.h, true)
        .unwrap();
    // RFC 1122 4.2.3.6: after two hours idle (since the handshake at 0) ...
    let idle = 7_200_000;
    assert_eq!(c.next_timer(), Some(c.at(idle)));
    c.tick(c.at(idle));
    // us > peer: [.] seq ISS, ack 1001 (SEG.SEQ = SND.NXT - 1, no data)
    assert_seg(&c.expect_one(), Flags::ACK, c.iss, c.irs + 1, 0);
    // peer > us: [.] ack ISS+1: alive. The next probe waits another two hours.
    c.send(c.at(idle + 5), c.tmpl(), &[]);
    c.expect_nothing();
    let quiet = idle + 5 + idle;
    c.tick(c.at(idle + 75_000));
    c.expect_nothing();
    assert_eq!(c.next_timer(), Some(c.at(quiet)));
    // Now nobody answers: nine probes 75 s apart, then the connection is dropped.
    for n in 0..9 {
        c.tick(c.at(quiet + n * 75_000));
        assert_seg(&c.expect_one(), Flags::ACK, c.iss, c.irs + 1, 0);
    }
    c.tick(c.at(quiet + 9 * 75_000));
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::Closed);
    assert_eq!(c.s.tcp().take_error(c.h), Ok(Some(TcpError::TimedOut)));
}

#[test]
fn a_shorter_keepalive_idle_set_after_keepalive_is_on_applies_at_once() {
    // Found beside the kernel (tests/tests/kernel_keepalive.rs): SO_KEEPALIVE first,
    // then TCP_KEEPIDLE = 1 s, and no probe came for two hours. Linux re-arms the timer
    // when the idle time changes.
    let mut c = established();
    c.s.tcp()
        .set_keepalive(at_from(c.t0, 10), c.h, true)
        .unwrap();
    assert_eq!(c.next_timer(), Some(c.at(7_200_000)));
    let (idle, interval) = (Duration::from_secs(1), Duration::from_secs(1));
    c.s.tcp()
        .set_keepalive_params(at_from(c.t0, 20), c.h, idle, interval, 2)
        .unwrap();
    // The first probe one second after the peer was last heard (the handshake, at 0).
    assert_eq!(c.next_timer(), Some(c.at(1_000)));
    c.tick(c.at(1_000));
    // us > peer: [.] seq ISS, ack 1001
    assert_seg(&c.expect_one(), Flags::ACK, c.iss, c.irs + 1, 0);
    c.tick(c.at(2_000));
    assert_seg(&c.expect_one(), Flags::ACK, c.iss, c.irs + 1, 0);
    // Two unanswered: dropped one interval later, 1 + 2 x 1 s after the peer was heard.
    c.tick(c.at(3_000));
    assert_eq!(c.state(), TcpState::Closed);
    assert_eq!(c.s.tcp().take_error(c.h), Ok(Some(TcpError::TimedOut)));
}

#[test]
fn a_zero_window_answered_for_ever_is_probed_for_ever() {
    // RFC 1122 4.2.2.17: as long as the peer acknowledges our probes, the connection
    // stays open however long its window stays shut (Linux does the same). A day of it:
    let mut c = closed_window();
    let probes = answer_probes_until(&mut c, 24 * 3600 * 1000);
    // Backed off to one a minute: about 1440 probes in the day.
    assert!((1400..1500).contains(&probes), "{probes}");
    assert_eq!(c.state(), TcpState::Established);
}

#[test]
fn a_zero_window_whose_peer_falls_silent_times_out() {
    // Found by the zero-window hostile test: a peer that shut its window and then
    // vanished kept the connection, and its send buffer, for ever, probed once a minute.
    // Like Linux's tcp_probe_timer, `data_retries` unanswered probes end it.
    let mut c = closed_window();
    let retries = netstack_core::TcpConfig::default().data_retries;
    let mut probes = 0;
    for _ in 0..1000 {
        let Some(t) = c.next_timer() else { break };
        c.tick(t);
        probes += c.expect().len();
    }
    assert_eq!(c.state(), TcpState::Closed);
    assert_eq!(probes, retries as usize);
    assert_eq!(c.s.tcp().take_error(c.h), Ok(Some(TcpError::TimedOut)));
}

// ---------------------------------------------------------------------------------------
// A driver that falls behind
// ---------------------------------------------------------------------------------------

/// A driver whose device is full leaves frames in the transmit queue. TCP, which can
/// wait, stops at its share of the queue; the rest stays for datagrams, which cannot
/// (a bulk transfer once crowded out a UDP echo reply, which was never resent). TCP is
/// not due again until the driver has made room, so the driver does not spin.
#[test]
fn tcp_waits_at_its_share_of_a_backed_up_transmit_queue_and_datagrams_get_the_rest() {
    use netstack_core::outbound::{QUEUE_LIMIT, TCP_LIMIT};
    use netstack_core::TxDrop;
    use std::net::SocketAddrV4;

    let mut c = established();
    let now = c.at(10);
    let udp = c.s.udp().bind("0.0.0.0:5000".parse().unwrap()).unwrap();
    let peer: SocketAddrV4 = "10.0.0.1:9".parse().unwrap();
    let datagram = |c: &mut Conn| c.s.udp().send_to(now, udp, b"x", peer).unwrap();
    // The driver takes nothing while the queue fills to TCP's share.
    for _ in 0..TCP_LIMIT {
        datagram(&mut c);
    }
    assert_eq!(c.s.pending_transmit(), TCP_LIMIT);
    // The application writes; the segment waits outside the queue, and no timer is due
    // for it while there is no room.
    c.write(now, &bytes(0, 100));
    assert_eq!(
        c.s.pending_transmit(),
        TCP_LIMIT,
        "TCP took a datagram's room"
    );
    assert!(
        c.next_timer().is_none_or(|t| t > now),
        "due at {:?} with no room",
        c.next_timer()
    );
    // Datagrams still go, up to the queue's full length.
    for _ in TCP_LIMIT..QUEUE_LIMIT {
        datagram(&mut c);
    }
    assert_eq!(c.s.pending_transmit(), QUEUE_LIMIT);
    assert_eq!(c.s.counters().tx_dropped(TxDrop::TxQueueFull), 0);

    // The device takes one frame, then is full again: the rest stay, in order.
    let mut taken = 0;
    c.s.transmit_while(|_| {
        taken += 1;
        taken == 1
    });
    assert_eq!(c.s.pending_transmit(), QUEUE_LIMIT - 1);
    // Now the device takes them all: TCP is due at once and sends its segment.
    assert_eq!(util::sent(&mut c.s).len(), QUEUE_LIMIT - 1);
    assert_eq!(
        c.next_timer(),
        Some(now),
        "held-back TCP is due once there is room"
    );
    c.tick(now);
    // us > peer: [P.] seq 1:101
    assert_seg(
        &c.expect_one(),
        Flags::PSH | Flags::ACK,
        c.iss + 1,
        c.irs + 1,
        100,
    );
}

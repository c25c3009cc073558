//! Regression tests for what fuzzing (fuzz/, see the README's "Fuzzing the TCP state
//! machine") found, each written as a segment script between two stand-alone
//! connections: A (10.0.0.2:80, ISS 5000) and B (10.0.0.1:40000, ISS 1000).

mod util;

use std::net::SocketAddrV4;

use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::{Connection, Endpoint, Segment, State, TcpConfig};
use netstack_core::wire::tcp::TcpRepr;
use netstack_core::{Duration, Instant};

const A: (u16, Seq) = (80, Seq(5000));
const B: (u16, Seq) = (40000, Seq(1000));

/// Both ends of one connection, ESTABLISHED, nothing sent yet.
fn pair() -> (Connection, Connection) {
    let ep = |(port, iss): (u16, Seq), (peer_port, irs): (u16, Seq)| Endpoint {
        config: TcpConfig::default(),
        local: SocketAddrV4::new([10, 0, 0, 2].into(), port),
        remote: SocketAddrV4::new([10, 0, 0, 1].into(), peer_port),
        iss,
        irs,
        snd_wnd: 65535,
        our_mss: 1460,
        peer_mss: Some(1460),
        peer_window_scale: None,
        peer_timestamp: None,
        peer_sack_permitted: false,
    };
    (
        Connection::in_state(Instant::ZERO, State::Established, &ep(A, B)),
        Connection::in_state(Instant::ZERO, State::Established, &ep(B, A)),
    )
}

/// Everything `c` sends now, with its data.
fn sent(c: &mut Connection, now: Instant) -> Vec<(TcpRepr, Vec<u8>)> {
    let mut out = vec![];
    while let Some(seg) = c.poll_transmit(now) {
        let seg: Segment = seg;
        let mut data = vec![0; seg.data_len];
        c.read_payload(&seg, &mut data);
        out.push((seg.repr, data));
        assert!(out.len() < 100, "a connection that never stops sending");
    }
    out
}

fn deliver(c: &mut Connection, now: Instant, segs: &[(TcpRepr, Vec<u8>)]) {
    for (repr, data) in segs {
        let _ = c.handle_segment(now, repr, data);
    }
}

/// Found by the `pair` target: when a retransmission timeout had rewound SND.NXT on
/// both ends while each already held the other's data, each end's bare ACK carried
/// the rewound SND.NXT, which lies before the other's RCV.NXT. RFC 9293 3.10.7.4 drops
/// such an "old" segment after answering it with an ACK, which the other end dropped
/// for the same reason: the two traded ACKs forever and neither acknowledgment was
/// ever processed. A bare ACK must carry the highest sequence number sent.
#[test]
fn two_rewound_ends_do_not_trade_acks_forever() {
    let (mut a, mut b) = pair();
    let t0 = Instant::ZERO;
    // A > B and B > A: 4000 bytes each (the initial window takes two segments), delivered; every ACK lost.
    a.send(&[1; 4000]).unwrap();
    b.send(&[2; 4000]).unwrap();
    let (from_a, from_b) = (sent(&mut a, t0), sent(&mut b, t0));
    assert!(from_a.len() >= 2, "more than one segment in flight");
    deliver(&mut b, t0, &from_a);
    deliver(&mut a, t0, &from_b);
    let t1 = t0 + Duration::from_millis(100);
    a.handle_timeout(t1);
    b.handle_timeout(t1);
    sent(&mut a, t1); // the delayed ACKs: lost
    sent(&mut b, t1);
    // The retransmission timeouts: both rewind SND.NXT and resend one segment, lost.
    let t2 = a.poll_timeout().unwrap().max(b.poll_timeout().unwrap());
    a.handle_timeout(t2);
    b.handle_timeout(t2);
    let retransmitted = sent(&mut a, t2); // lost
    let from_b = sent(&mut b, t2);
    assert_eq!(retransmitted[0].0.seq, A.1 + 1, "A went back to SND.UNA");
    // B's retransmission reaches A, which answers it; from then on the ends exchange
    // what they send, until they are quiet.
    let mut to_b = vec![];
    deliver(&mut a, t2, &from_b);
    let mut rounds = 0;
    let mut to_a = vec![];
    while rounds < 50 {
        to_b.extend(sent(&mut a, t2));
        deliver(&mut b, t2, &to_b);
        to_a.extend(sent(&mut b, t2));
        deliver(&mut a, t2, &to_a);
        if to_a.is_empty() && to_b.is_empty() {
            break;
        }
        to_a.clear();
        to_b.clear();
        rounds += 1;
    }
    assert!(
        rounds < 50,
        "A and B still trading segments after 50 rounds"
    );
    // Both acknowledgments got through: the two segments each end had in flight
    // before the timeout are acknowledged.
    for (name, c, iss) in [("A", &a, A.1), ("B", &b, B.1)] {
        let acked = c.details().snd_una.wrapping_sub(iss.0 + 1);
        assert!(acked >= 2920, "{name}: only {acked} bytes acknowledged");
    }
}

/// Two stacks on a wire that loses the frames `lose` picks.
struct Wire {
    a: netstack_core::Stack,
    b: netstack_core::Stack,
    now: Instant,
}

impl Wire {
    fn new() -> Wire {
        let (a, b) = util::two_stacks();
        Wire {
            a,
            b,
            now: Instant::ZERO,
        }
    }

    /// Moves frames until both are quiet, dropping those `lose` picks (true: A to B).
    fn run(&mut self, mut lose: impl FnMut(bool, &[u8]) -> bool) {
        for _ in 0..1000 {
            let mut frames = vec![];
            self.a.transmit(|f| frames.push((true, f.to_vec())));
            self.b.transmit(|f| frames.push((false, f.to_vec())));
            if frames.is_empty() {
                return;
            }
            for (to_b, f) in frames {
                if lose(to_b, &f) {
                    continue;
                }
                let s = if to_b { &mut self.b } else { &mut self.a };
                s.receive(self.now, &f);
            }
        }
        panic!("the wire never went quiet");
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
    }
}

/// True for a frame carrying a TCP segment with exactly these control bits (tcpdump's
/// notation: "." is ACK alone).
fn is_tcp(f: &[u8], flags: &str) -> bool {
    netstack_core::wire::describe::describe(f).contains(&format!("Flags [{flags}],"))
}

/// Found by the `pair` target: a connection that has reached CLOSED while its
/// application still holds the handle stayed in the demultiplexer and swallowed every
/// segment for its 4-tuple in silence. RFC 9293 3.10.7.1: with no TCB, anything but a
/// RST draws a RST. Here the peer, in LAST-ACK after the ACK of its FIN was lost, went
/// on retransmitting its FIN to a closed connection until its retries ran out.
#[test]
fn a_closed_connection_whose_handle_is_held_answers_with_a_reset() {
    use netstack_core::TcpState;
    let mut w = Wire::new();
    let listener = w.b.tcp().listen("10.0.0.3:80".parse().unwrap(), 4).unwrap();
    let a =
        w.a.tcp()
            .connect(w.now, "10.0.0.3:80".parse().unwrap())
            .unwrap();
    w.run(|_, _| false);
    let b =
        w.b.tcp()
            .accept(listener)
            .unwrap()
            .expect("the handshake completed");
    // A closes first; B answers with its FIN, whose ACK from A is lost.
    w.a.tcp().shutdown(w.now, a).unwrap();
    w.run(|_, _| false);
    w.b.tcp().shutdown(w.now, b).unwrap();
    w.run(|to_b, f| to_b && is_tcp(f, "."));
    assert_eq!(w.a.tcp().state(a), Ok(TcpState::TimeWait));
    assert_eq!(w.b.tcp().state(b), Ok(TcpState::LastAck));
    // A's TIME-WAIT ends before B retransmits (B's RTO has backed off past it, as
    // after earlier losses); A's application still holds its handle.
    w.advance(Duration::from_secs(61));
    w.a.transmit(|_| {});
    w.b.transmit(|_| {});
    assert_eq!(w.a.tcp().state(a), Ok(TcpState::Closed));
    // B's FIN retransmission reaches A, which must answer with a RST.
    for _ in 0..8 {
        let next = w.b.poll_timeout().expect("B retransmits its FIN");
        w.advance(next.saturating_since(w.now));
        w.run(|_, _| false);
        if w.b.tcp().state(b) != Ok(TcpState::LastAck) {
            break;
        }
    }
    assert_ne!(
        w.b.tcp().state(b),
        Ok(TcpState::LastAck),
        "B still waits for the ACK of its FIN"
    );
}

/// Exchanges what `a` and `b` send until both are quiet; returns the rounds it took
/// (at most `limit`).
fn relay(a: &mut Connection, b: &mut Connection, now: Instant, limit: usize) -> usize {
    for round in 0..limit {
        let (to_b, to_a) = (sent(a, now), sent(b, now));
        if to_a.is_empty() && to_b.is_empty() {
            return round;
        }
        deliver(b, now, &to_b);
        deliver(a, now, &to_a);
    }
    limit
}

/// Found by the `pair` target, behind the fix above: both ends' windows had closed
/// (neither application read), each sent a one-byte zero-window probe, and each probe
/// arrived after the other application had read and the window had opened, so each end
/// took the other's probe byte. A bare ACK then carried the edge of the closed window,
/// one before the byte the peer had taken: "old" to the peer, dropped after an ACK
/// equally old to the other end. The two traded such ACKs forever.
#[test]
fn crossing_window_probes_that_both_land_do_not_trade_acks_forever() {
    let small = |(port, iss): (u16, Seq), (peer_port, irs): (u16, Seq)| Endpoint {
        config: TcpConfig {
            recv_buffer: 2048,
            ..TcpConfig::default()
        },
        local: SocketAddrV4::new([10, 0, 0, 2].into(), port),
        remote: SocketAddrV4::new([10, 0, 0, 1].into(), peer_port),
        iss,
        irs,
        snd_wnd: 2048,
        our_mss: 1460,
        peer_mss: Some(1460),
        peer_window_scale: None,
        peer_timestamp: None,
        peer_sack_permitted: false,
    };
    let mut a = Connection::in_state(Instant::ZERO, State::Established, &small(A, B));
    let mut b = Connection::in_state(Instant::ZERO, State::Established, &small(B, A));
    let mut now = Instant::ZERO;
    // Each sends more than the other will take; nobody reads: both windows close.
    a.send(&[1; 8192]).unwrap();
    b.send(&[2; 8192]).unwrap();
    for _ in 0..20 {
        relay(&mut a, &mut b, now, 100);
        if (a.details().snd_wnd, b.details().snd_wnd) == (0, 0) {
            break;
        }
        // The delayed ACKs, and the persist timer's small sends past the SWS rule.
        now = a
            .poll_timeout()
            .unwrap()
            .min(b.poll_timeout().unwrap())
            .max(now);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    assert_eq!(
        (a.details().snd_wnd, b.details().snd_wnd),
        (0, 0),
        "both windows closed"
    );
    // Both persist timers fire: each end probes with one byte; the probes are held.
    let probe_at = a.poll_timeout().unwrap().max(b.poll_timeout().unwrap());
    a.handle_timeout(probe_at);
    b.handle_timeout(probe_at);
    let (probe_a, probe_b) = (sent(&mut a, probe_at), sent(&mut b, probe_at));
    assert!(probe_a.iter().any(|(_, d)| d.len() == 1), "A probes");
    assert!(probe_b.iter().any(|(_, d)| d.len() == 1), "B probes");
    // Both applications read; their window updates are held too.
    let mut buf = [0; 4096];
    a.recv(&mut buf).unwrap();
    b.recv(&mut buf).unwrap();
    let (update_a, update_b) = (sent(&mut a, probe_at), sent(&mut b, probe_at));
    // The probes land in the open windows, then the updates follow.
    deliver(&mut b, probe_at, &probe_a);
    deliver(&mut a, probe_at, &probe_b);
    deliver(&mut b, probe_at, &update_a);
    deliver(&mut a, probe_at, &update_b);
    let rounds = relay(&mut a, &mut b, probe_at, 50);
    assert!(
        rounds < 50,
        "A and B still trading segments after 50 rounds"
    );
    for (name, c, iss) in [("A", &a, A.1), ("B", &b, B.1)] {
        let d = c.details();
        let probe = d.snd_max.wrapping_sub(iss.0 + 1);
        let acked = d.snd_una.wrapping_sub(iss.0 + 1);
        assert!(
            acked >= probe.min(2049),
            "{name}: {acked} of {probe} bytes acknowledged"
        );
    }
}

/// A (10.0.0.2:80) and B (10.0.0.1:40000) connecting to each other at once, each in
/// SYN-SENT with its SYN out (and lost).
fn both_connecting() -> (Connection, Connection) {
    let a_addr = SocketAddrV4::new([10, 0, 0, 2].into(), A.0);
    let b_addr = SocketAddrV4::new([10, 0, 0, 1].into(), B.0);
    let t0 = Instant::ZERO;
    let mut a = Connection::connect(TcpConfig::default(), a_addr, b_addr, A.1, 1460, t0);
    let mut b = Connection::connect(TcpConfig::default(), b_addr, a_addr, B.1, 1460, t0);
    let (syn_a, syn_b) = (sent(&mut a, t0), sent(&mut b, t0));
    assert_eq!(flags(&syn_a), ["S"]);
    assert_eq!(flags(&syn_b), ["S"]);
    (a, b)
}

/// B > A [S] seq 1000 win 65535: B's SYN, options-free.
fn syn_from_b() -> TcpRepr {
    TcpRepr {
        src_port: B.0,
        dst_port: A.0,
        seq: B.1,
        flags: netstack_core::wire::tcp::Flags::SYN,
        window: 65535,
        ..TcpRepr::default()
    }
}

/// Each segment's control bits, tcpdump style (S, F, R, P, .).
fn flags(segs: &[(TcpRepr, Vec<u8>)]) -> Vec<String> {
    segs.iter()
        .map(|(r, _)| {
            let mut s: String = [(0x02, 'S'), (0x01, 'F'), (0x04, 'R'), (0x08, 'P')]
                .iter()
                .filter(|&&(bit, _)| r.flags.0 & bit != 0)
                .map(|&(_, c)| c)
                .collect();
            if r.flags.0 & 0x10 != 0 {
                s.push('.');
            }
            s
        })
        .collect()
}

/// Found by the `differential` target (it was on its allow-list as a known deviation;
/// smoltcp and Linux's tcp_close_state send the FIN): RFC 9293 3.10.4 says a CLOSE in
/// SYN-RECEIVED with no SENDs issued and nothing pending "form[s] a FIN segment and
/// send[s] it, and enter[s] FIN-WAIT-1"; ours kept the FIN until the handshake's ACK
/// came. Here after a simultaneous open (RFC 9293 figure 8), the one way an
/// application holds a connection in SYN-RECEIVED.
#[test]
fn close_in_syn_received_sends_the_fin_at_once() {
    let (mut a, mut b) = both_connecting();
    let t1 = Instant::ZERO + Duration::from_millis(10);
    // B's SYN arrives at A: A > B [S.] seq 5000 ack 1001, A in SYN-RECEIVED.
    let _ = a.handle_segment(t1, &syn_from_b(), &[]);
    assert_eq!(a.state(), State::SynReceived);
    let synack = sent(&mut a, t1);
    assert_eq!(flags(&synack), ["S."]);
    assert_eq!((synack[0].0.seq, synack[0].0.ack), (A.1, B.1 + 1));
    // A's application closes: A > B [F.] seq 5001 ack 1001, at once, and FIN-WAIT-1.
    let _ = a.close();
    assert_eq!(a.state(), State::FinWait1);
    let fin = sent(&mut a, t1);
    assert_eq!(flags(&fin), ["F."]);
    assert_eq!((fin[0].0.seq, fin[0].0.ack), (A.1 + 1, B.1 + 1));
    // Both are lost. The retransmission timeout sends the SYN,ACK again, then the FIN.
    let rto = a.poll_timeout().expect("the SYN,ACK is timed");
    a.handle_timeout(rto);
    let again = sent(&mut a, rto);
    assert_eq!(flags(&again), ["S.", "F."]);
    assert_eq!((again[0].0.seq, again[1].0.seq), (A.1, A.1 + 1));
    // They reach B (in SYN-SENT): B > A [.] ack 5001 takes A's SYN, then
    // B > A [.] ack 5002 its FIN.
    deliver(&mut b, rto, &again[..1]);
    assert_eq!(b.state(), State::Established);
    let mut answer = sent(&mut b, rto);
    deliver(&mut b, rto, &again[1..]);
    assert_eq!(b.state(), State::CloseWait);
    answer.extend(sent(&mut b, rto));
    let acks: Vec<_> = answer.iter().map(|(r, _)| r.ack).collect();
    assert_eq!(acks, [A.1 + 1, A.1 + 2]);
    // B's ACK of the SYN and the FIN: A in FIN-WAIT-2, nothing left to retransmit.
    deliver(&mut a, rto, &answer);
    assert_eq!(a.state(), State::FinWait2);
    assert_eq!(a.details().snd_una, (A.1 + 2).0);
    let _ = b.close();
    let fin_b = sent(&mut b, rto);
    deliver(&mut a, rto, &fin_b);
    assert_eq!(a.state(), State::TimeWait);
    deliver(&mut b, rto, &sent(&mut a, rto));
    assert_eq!(b.state(), State::Closed);
}

/// The same close from a passive open's SYN-RECEIVED (a stand-alone connection; in the
/// stack such a connection is the listener's and no application holds it): the FIN
/// goes out at once, and an ACK of the SYN alone leaves it outstanding.
#[test]
fn close_in_passive_syn_received_sends_the_fin_and_waits_for_its_ack() {
    let t0 = Instant::ZERO;
    let (us, peer) = (
        SocketAddrV4::new([10, 0, 0, 2].into(), A.0),
        SocketAddrV4::new([10, 0, 0, 1].into(), B.0),
    );
    let mut a = Connection::listen(TcpConfig::default(), us, peer, A.1, 1460, t0);
    let _ = a.handle_segment(t0, &syn_from_b(), &[]);
    assert_eq!(flags(&sent(&mut a, t0)), ["S."]);
    let _ = a.close();
    // us > peer: [F.] seq 5001 ack 1001
    let fin = sent(&mut a, t0);
    assert_eq!(flags(&fin), ["F."]);
    assert_eq!((fin[0].0.seq, fin[0].0.ack), (A.1 + 1, B.1 + 1));
    assert_eq!(a.state(), State::FinWait1);
    // peer > us: [.] seq 1001 ack 5001: our SYN, not our FIN.
    let ack = TcpRepr {
        seq: B.1 + 1,
        ack: A.1 + 1,
        flags: netstack_core::wire::tcp::Flags::ACK,
        ..syn_from_b()
    };
    let _ = a.handle_segment(t0, &ack, &[]);
    assert_eq!(a.state(), State::FinWait1);
    assert_eq!(a.details().snd_una, (A.1 + 1).0);
    assert!(sent(&mut a, t0).is_empty());
    // The FIN alone is retransmitted.
    let rto = a.poll_timeout().expect("the FIN is timed");
    a.handle_timeout(rto);
    let again = sent(&mut a, rto);
    assert_eq!(flags(&again), ["F."]);
    assert_eq!(again[0].0.seq, A.1 + 1);
    // peer > us: [.] ack 5002: FIN-WAIT-2.
    let ack = TcpRepr {
        ack: A.1 + 2,
        ..ack
    };
    let _ = a.handle_segment(rto, &ack, &[]);
    assert_eq!(a.state(), State::FinWait2);
}

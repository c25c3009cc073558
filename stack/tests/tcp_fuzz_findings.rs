//! Regression tests for what fuzzing (fuzz/, see the README's "Fuzzing the TCP state
//! machine") found, each written as a segment script between two stand-alone
//! connections: A (10.0.0.2:80, ISS 5000) and B (10.0.0.1:40000, ISS 1000).

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
        use netstack_core::{Config, MacAddr, Stack};
        let b_cfg = Config {
            addr: [10, 0, 0, 3].into(),
            mac: MacAddr([2, 0, 0, 0, 0, 3]),
            ..Config::default()
        };
        Wire {
            a: Stack::new(Config::default(), 1).unwrap(),
            b: Stack::new(b_cfg, 2).unwrap(),
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

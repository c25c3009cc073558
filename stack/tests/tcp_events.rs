//! The per-connection event log (`tcp/events.rs`): two stacks on a virtual wire, the
//! events of A's connection read back as a story: handshake, data, a loss and its
//! recovery, teardown. And the log's bound: a full queue drops and counts.

use std::net::SocketAddrV4;

mod util;

use netstack_core::tcp::{ConnEvent, EventKind};
use netstack_core::{Duration, Instant, Stack, TcpState};

struct Pair {
    a: Stack,
    b: Stack,
    now: Instant,
    /// Data frames from A to B to lose, counted from 1.
    lose: Vec<usize>,
    a_data_frames: usize,
}

impl Pair {
    fn new() -> Pair {
        let (a, b) = util::two_stacks();
        Pair {
            a,
            b,
            now: Instant::ZERO,
            lose: vec![],
            a_data_frames: 0,
        }
    }

    /// Moves frames (1 ms per hop) and runs timers until both stacks are quiet.
    fn drive(&mut self) {
        for _ in 0..10_000 {
            let mut to_b = vec![];
            let mut to_a = vec![];
            self.a.transmit(|f| to_b.push(f.to_vec()));
            self.b.transmit(|f| to_a.push(f.to_vec()));
            if to_a.is_empty() && to_b.is_empty() {
                match [self.a.poll_timeout(), self.b.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min()
                {
                    // Past TIME-WAIT's 60 s, nothing is left worth waiting for.
                    Some(t) if t < Instant::ZERO + Duration::from_secs(30) => {
                        self.now = self.now.max(t);
                        self.a.handle_timeout(self.now);
                        self.b.handle_timeout(self.now);
                        continue;
                    }
                    _ => return,
                }
            }
            self.now += Duration::from_millis(1);
            for f in to_b {
                if f.len() > 1000 {
                    self.a_data_frames += 1;
                    if self.lose.contains(&self.a_data_frames) {
                        continue;
                    }
                }
                self.b.receive(self.now, &f);
            }
            for f in to_a {
                self.a.receive(self.now, &f);
            }
        }
        panic!("the pair never went quiet");
    }

    fn a_events(&mut self) -> Vec<ConnEvent> {
        let mut events = vec![];
        self.a.drain_tcp_events(|e| events.push(*e));
        events
    }
}

/// A sends `len` bytes to B's port 9 and closes; B reads all and closes.
fn transfer(pair: &mut Pair, len: usize) {
    let server = SocketAddrV4::new("10.0.0.3".parse().unwrap(), 9);
    let l = pair.b.tcp().listen(server, 8).unwrap();
    let now = pair.now;
    let c = pair.a.tcp().connect(now, server).unwrap();
    pair.drive();
    let s = pair.b.tcp().accept(l).unwrap().expect("accepted");
    let data = vec![7u8; len];
    let mut sent = 0;
    let mut buf = vec![0u8; 1 << 16];
    while sent < len {
        let now = pair.now;
        sent += pair.a.tcp().send(now, c, &data[sent..]).unwrap();
        pair.drive();
        let now = pair.now;
        while let Ok(Some(n)) = pair.b.tcp().recv(now, s, &mut buf) {
            if n == 0 {
                break;
            }
        }
    }
    let now = pair.now;
    pair.a.tcp().close(now, c).unwrap();
    pair.drive();
    let now = pair.now;
    let _ = pair.b.tcp().recv(now, s, &mut buf);
    pair.b.tcp().close(now, s).unwrap();
    pair.drive();
}

fn states(events: &[ConnEvent]) -> Vec<(TcpState, TcpState)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::State { from } => Some((from, e.state)),
            _ => None,
        })
        .collect()
}

#[test]
fn nothing_is_recorded_until_enabled() {
    let mut pair = Pair::new();
    transfer(&mut pair, 3000);
    assert!(pair.a_events().is_empty());
    assert_eq!(pair.a.tcp_events_dropped(), 0);
}

#[test]
fn a_connection_tells_its_life_in_events() {
    let mut pair = Pair::new();
    pair.a.enable_tcp_events(10_000);
    transfer(&mut pair, 20_000);
    let events = pair.a_events();
    use TcpState::*;
    assert_eq!(
        states(&events),
        [
            (Closed, SynSent),
            (SynSent, Established),
            (Established, FinWait1),
            (FinWait1, FinWait2),
            (FinWait2, TimeWait),
        ]
    );
    // The SYN is the first segment sent, not a retransmission.
    let first_sent = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Sent { .. }))
        .unwrap();
    assert!(matches!(first_sent.kind, EventKind::Sent { len: 0, .. }));
    assert!(!first_sent.retransmit);
    // Every byte (SYN, 20000 data, FIN) acknowledged, and no loss.
    let acked: usize = events
        .iter()
        .map(|e| match e.kind {
            EventKind::Acked { acked } => acked,
            _ => 0,
        })
        .sum();
    assert_eq!(acked, 20_002);
    assert!(events.iter().all(|e| !e.retransmit), "{events:#?}");
    assert!(events.iter().any(|e| e.kind == EventKind::Cwnd));
    let last = events.last().unwrap();
    assert_eq!(last.state, TimeWait);
    assert_eq!(last.in_flight, 0);
    assert!(last.srtt_us.is_some());
}

#[test]
fn a_lost_segment_shows_as_recovery_and_a_retransmission() {
    let mut pair = Pair::new();
    pair.a.enable_tcp_events(10_000);
    pair.lose = vec![3];
    transfer(&mut pair, 40_000);
    let events = pair.a_events();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    let entered = kinds
        .iter()
        .position(|&k| k == "recovery")
        .expect("recovery");
    let exited = kinds
        .iter()
        .position(|&k| k == "recovery-end")
        .expect("end");
    assert!(entered < exited);
    let resent = events
        .iter()
        .position(|e| matches!(e.kind, EventKind::Sent { len, .. } if len > 0) && e.retransmit)
        .expect("a retransmission");
    assert!(entered < resent && resent < exited);
    // The loss halved (CUBIC: 0.7) the window: ssthresh is set from then on.
    assert!(events[entered..].iter().all(|e| e.ssthresh < usize::MAX));
}

#[test]
fn a_full_log_drops_and_counts() {
    let mut pair = Pair::new();
    pair.a.enable_tcp_events(4);
    transfer(&mut pair, 3000);
    assert_eq!(pair.a_events().len(), 4);
    assert!(pair.a.tcp_events_dropped() > 0);
}

//! Two stacks on a virtual wire, stepped until idle on a virtual clock (the shape of
//! quinn-proto's `Pair::drive`). Loss is injected by dropping chosen frames.

mod util;

use netstack_core::wire::describe::describe;
use netstack_core::{Instant, Stack};

struct Pair {
    a: Stack,
    b: Stack,
    now: Instant,
    /// Every frame that crossed the wire, for the failure message.
    log: Vec<String>,
    /// Drop the n-th frame put on the wire (counting from 0), for each n listed.
    drop: Vec<usize>,
    sent: usize,
}

impl Pair {
    fn new() -> Pair {
        let (a, b) = util::two_stacks();
        Pair {
            a,
            b,
            now: Instant::ZERO,
            log: vec![],
            drop: vec![],
            sent: 0,
        }
    }

    /// Moves frames both ways until neither stack has anything to send.
    fn drive(&mut self) {
        for _ in 0..1000 {
            let mut a_out = vec![];
            self.a.transmit(|f| a_out.push(f.to_vec()));
            let mut b_out = vec![];
            self.b.transmit(|f| b_out.push(f.to_vec()));
            if a_out.is_empty() && b_out.is_empty() {
                return;
            }
            for f in a_out {
                if self.wire("a", &f) {
                    self.b.receive(self.now, &f);
                }
            }
            for f in b_out {
                if self.wire("b", &f) {
                    self.a.receive(self.now, &f);
                }
            }
        }
        panic!("never went idle:\n{}", self.log.join("\n"));
    }

    fn wire(&mut self, from: &str, f: &[u8]) -> bool {
        let n = self.sent;
        self.sent += 1;
        let dropped = self.drop.contains(&n);
        self.log.push(format!(
            "{} {from} {}{}",
            self.now,
            describe(f),
            if dropped { "  [dropped]" } else { "" }
        ));
        !dropped
    }

    /// Advances the virtual clock to the next timer of either stack and runs it.
    fn advance(&mut self) {
        let next = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let next = next.expect("a timer must be running");
        self.now = next.max(self.now);
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.drive();
    }
}

#[test]
fn a_pings_b_over_the_wire() {
    let mut p = Pair::new();
    let b_ip = p.b.config().addr;
    p.a.ping().open(1).unwrap();
    for seq in 1..=3 {
        p.a.ping()
            .send_request(p.now, b_ip, 1, seq, b"ping")
            .unwrap();
        p.drive();
        let reply =
            p.a.ping()
                .poll_reply(1)
                .unwrap_or_else(|| panic!("no reply to seq {seq}:\n{}", p.log.join("\n")));
        assert_eq!(
            (reply.from, reply.seq, reply.payload.as_slice()),
            (b_ip, seq, &b"ping"[..])
        );
    }
    // One ARP exchange, then three echo exchanges.
    assert_eq!(p.log.len(), 2 + 6, "{}", p.log.join("\n"));
    // Each side learned the other.
    assert_eq!(p.a.arp_entries()[0].mac, Some(p.b.config().mac));
    assert_eq!(p.b.arp_entries()[0].mac, Some(p.a.config().mac));
}

#[test]
fn a_lost_arp_request_is_retried_and_the_ping_still_arrives() {
    let mut p = Pair::new();
    let b_ip = p.b.config().addr;
    p.drop = vec![0]; // the first ARP request
    p.a.ping().open(1).unwrap();
    p.a.ping().send_request(p.now, b_ip, 1, 1, b"ping").unwrap();
    p.drive();
    assert!(p.a.ping().poll_reply(1).is_none());
    p.advance(); // the retry, one second later
    assert_eq!(p.now, Instant::from_secs(1));
    let reply =
        p.a.ping()
            .poll_reply(1)
            .unwrap_or_else(|| panic!("no reply:\n{}", p.log.join("\n")));
    assert_eq!(reply.received_at, Instant::from_secs(1));
}

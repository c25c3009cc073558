//! TCP between two of our stacks on a virtual wire and a virtual clock: handshake, bulk
//! transfer both ways with integrity checked, orderly close, under seeded loss,
//! duplication and reordering. A failing run prints its seed; the seed reproduces it.

use std::net::SocketAddrV4;

mod util;

use netstack_core::rng::Rng;
use netstack_core::{Config, Instant, SocketHandle, Stack, TcpState};

/// Faults applied to every frame on the wire, decided by a seeded RNG.
#[derive(Clone, Copy, Default)]
struct Faults {
    loss: f64,
    duplicate: f64,
    reorder: f64,
}

struct Pair {
    a: Stack,
    b: Stack,
    now: Instant,
    rng: Rng,
    faults: Faults,
    held: Option<(bool, Vec<u8>)>,
    seed: u64,
}

impl Pair {
    fn new(seed: u64, faults: Faults) -> Pair {
        Pair::with_tcp(seed, faults, netstack_core::TcpConfig::default())
    }

    /// Two stacks whose TCP runs with `tcp` (options on or off, either controller).
    fn with_tcp(seed: u64, faults: Faults, tcp: netstack_core::TcpConfig) -> Pair {
        let a_cfg = Config {
            tcp: tcp.clone(),
            ..Config::default()
        };
        let a = Stack::new(a_cfg, seed).unwrap();
        let b_cfg = Config {
            tcp,
            ..util::config_b()
        };
        let b = Stack::new(b_cfg, seed ^ 0xabcdef).unwrap();
        Pair {
            a,
            b,
            now: Instant::ZERO,
            rng: Rng::new(seed),
            faults,
            held: None,
            seed,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.rng.next_u64() as f64 / u64::MAX as f64) < p
    }

    /// Moves frames until both stacks are quiet, then returns.
    fn drive(&mut self) {
        for _ in 0..100_000 {
            let mut frames: Vec<(bool, Vec<u8>)> = vec![];
            self.a.transmit(|f| frames.push((true, f.to_vec())));
            self.b.transmit(|f| frames.push((false, f.to_vec())));
            if frames.is_empty() {
                if let Some((to_b, f)) = self.held.take() {
                    self.deliver(to_b, &f);
                    continue;
                }
                return;
            }
            for (to_b, f) in frames {
                if self.chance(self.faults.loss) {
                    continue;
                }
                if self.chance(self.faults.reorder) && self.held.is_none() {
                    self.held = Some((to_b, f));
                    continue;
                }
                self.deliver(to_b, &f);
                if self.chance(self.faults.duplicate) {
                    self.deliver(to_b, &f);
                }
                if let Some((hb, hf)) = self.held.take() {
                    self.deliver(hb, &hf);
                }
            }
        }
        panic!("seed {}: the wire never went quiet", self.seed);
    }

    fn deliver(&mut self, to_b: bool, f: &[u8]) {
        if to_b {
            self.b.receive(self.now, f);
        } else {
            self.a.receive(self.now, f);
        }
    }

    /// Advances to the next timer of either stack, runs it, and drives.
    fn step(&mut self) {
        util::run_next_timer(&mut self.now, &mut self.a, &mut self.b);
        self.drive();
    }
}

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + salt as usize) % 251) as u8)
        .collect()
}

/// Connects A to a listener on B:7 and returns (client, server) handles.
fn connect(p: &mut Pair) -> (SocketHandle, SocketHandle) {
    let listener = p.b.tcp().listen(sa("0.0.0.0:7"), 16).unwrap();
    let client = p.a.tcp().connect(p.now, sa("10.0.0.3:7")).unwrap();
    for _ in 0..200 {
        p.drive();
        if let Some(server) = p.b.tcp().accept(listener).unwrap() {
            if p.a.tcp().state(client).unwrap() == TcpState::Established {
                return (client, server);
            }
        }
        p.step();
    }
    panic!(
        "seed {}: no connection; client {:?}",
        p.seed,
        p.a.tcp().state(client)
    );
}

/// Sends `data` from `from` on one side and reads it all on the other.
fn transfer(
    p: &mut Pair,
    a_to_b: bool,
    from: SocketHandle,
    to: SocketHandle,
    data: &[u8],
) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; 65536];
    for _ in 0..2_000_000 {
        let (tx, rx) = if a_to_b {
            (&mut p.a, &mut p.b)
        } else {
            (&mut p.b, &mut p.a)
        };
        if sent < data.len() {
            sent += tx.tcp().send(p.now, from, &data[sent..]).unwrap();
        }
        while let Some(n) = rx.tcp().recv(p.now, to, &mut buf).unwrap() {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        if got.len() == data.len() {
            return got;
        }
        p.drive();
        let (tx, rx) = if a_to_b {
            (&mut p.a, &mut p.b)
        } else {
            (&mut p.b, &mut p.a)
        };
        let progress_possible =
            (sent < data.len() && tx.tcp().can_write(from)) || rx.tcp().can_read(to);
        if !progress_possible {
            p.step();
        }
    }
    panic!("seed {}: transfer stalled at {} of {} bytes at {}\nA: {:?}\nB: {:?}\nA timer {:?} B timer {:?}", p.seed, got.len(), data.len(), p.now, p.a.tcp().sockets(), p.b.tcp().sockets(), p.a.poll_timeout(), p.b.poll_timeout());
}

fn close_both(p: &mut Pair, client: SocketHandle, server: SocketHandle) {
    p.a.tcp().close(p.now, client).unwrap();
    p.drive();
    // The server reads end of stream, then closes too.
    let mut buf = [0u8; 16];
    for _ in 0..200 {
        if p.b.tcp().recv(p.now, server, &mut buf).unwrap() == Some(0) {
            break;
        }
        p.step();
    }
    p.b.tcp().close(p.now, server).unwrap();
    for _ in 0..200 {
        p.drive();
        if p.b
            .tcp()
            .sockets()
            .iter()
            .all(|s| s.state == TcpState::Listen)
            && !p.a.tcp().time_wait().is_empty()
        {
            return;
        }
        p.step();
    }
    panic!(
        "seed {}: close never finished: a {:?} b {:?}",
        p.seed,
        p.a.tcp().sockets(),
        p.b.tcp().sockets()
    );
}

#[test]
fn handshake_transfer_and_close_on_a_clean_wire() {
    let mut p = Pair::new(1, Faults::default());
    let (c, s) = connect(&mut p);
    let data = pattern(1_000_000, 1);
    assert_eq!(transfer(&mut p, true, c, s, &data), data);
    let back = pattern(300_000, 2);
    assert_eq!(transfer(&mut p, false, s, c, &back), back);
    close_both(&mut p, c, s);
    // The active closer holds TIME-WAIT, without a socket.
    assert_eq!(p.a.tcp().time_wait().len(), 1);
    assert!(p.a.tcp().sockets().is_empty());
}

/// Once a connection is quiet its rings go to the stack's pool (no buffer memory held),
/// and a ring lent again carries exactly the new connection's bytes, never old ones.
#[test]
fn quiet_connections_give_their_rings_back_and_reused_rings_carry_only_new_bytes() {
    let mut p = Pair::new(3, Faults::default());
    let (c, s) = connect(&mut p);
    let data = pattern(2_000_000, 1);
    assert_eq!(transfer(&mut p, true, c, s, &data), data);
    let back = pattern(500_000, 2);
    assert_eq!(transfer(&mut p, false, s, c, &back), back);
    // Let the last delayed ACK go out; then nothing is owed or in flight.
    for _ in 0..10 {
        p.step();
    }
    let memory = |st: &mut Stack| -> Vec<usize> {
        st.tcp()
            .sockets()
            .iter()
            .filter_map(|i| i.details.map(|d| d.buffer_memory))
            .collect()
    };
    assert_eq!(memory(&mut p.a), vec![0], "{:?}", p.a.tcp().sockets());
    assert_eq!(memory(&mut p.b), vec![0], "{:?}", p.b.tcp().sockets());

    // A second connection on the same stacks gets the pooled rings.
    let client2 = p.a.tcp().connect(p.now, sa("10.0.0.3:7")).unwrap();
    let listener = p.b.tcp().sockets()[0].handle;
    let mut server2 = None;
    for _ in 0..100 {
        p.drive();
        server2 = server2.or_else(|| p.b.tcp().accept(listener).unwrap());
        if server2.is_some() && p.a.tcp().state(client2).unwrap() == TcpState::Established {
            break;
        }
        p.step();
    }
    let server2 = server2.expect("second connection accepted");
    for (len, salt) in [(10, 9), (70_000, 10), (1_500_000, 11)] {
        let data = pattern(len, salt);
        assert_eq!(transfer(&mut p, true, client2, server2, &data), data);
        let back = pattern(len / 2 + 1, salt + 100);
        assert_eq!(transfer(&mut p, false, server2, client2, &back), back);
    }
}

/// With windows of megabytes, one flush could produce more segments than the transmit
/// queue holds (1024 frames). TCP waits for room instead of losing its own segments.
#[test]
fn a_sender_never_overflows_its_own_transmit_queue() {
    let mut p = Pair::new(2, Faults::default());
    let (c, s) = connect(&mut p);
    let data = pattern(30 << 20, 3);
    assert_eq!(transfer(&mut p, true, c, s, &data), data);
    let dropped =
        p.a.counters()
            .tx_dropped(netstack_core::TxDrop::TxQueueFull);
    assert_eq!(dropped, 0, "segments lost to our own transmit queue");
    close_both(&mut p, c, s);
}

#[test]
fn ten_megabytes_each_way_through_loss_duplication_and_reordering() {
    lossy_transfers(netstack_core::TcpConfig::default());
}

#[test]
fn the_same_without_sack_timestamps_or_window_scaling_and_with_newreno() {
    lossy_transfers(netstack_core::TcpConfig {
        sack: false,
        timestamps: false,
        window_scaling: false,
        congestion: netstack_core::tcp::Algorithm::NewReno,
        ..netstack_core::TcpConfig::default()
    });
}

/// 10 MB each way between two stacks configured with `tcp`, through 2% loss, 1%
/// duplication and 2% reordering, for three seeds: byte-identical, then a clean close.
fn lossy_transfers(tcp: netstack_core::TcpConfig) {
    for seed in [11u64, 12, 13] {
        let mut p = Pair::with_tcp(
            seed,
            Faults {
                loss: 0.02,
                duplicate: 0.01,
                reorder: 0.02,
            },
            tcp.clone(),
        );
        let (c, s) = connect(&mut p);
        let data = pattern(10 << 20, seed as u8);
        assert!(
            transfer(&mut p, true, c, s, &data) == data,
            "seed {seed}: A->B corrupted"
        );
        let back = pattern(10 << 20, seed as u8 + 1);
        assert!(
            transfer(&mut p, false, s, c, &back) == back,
            "seed {seed}: B->A corrupted"
        );
        close_both(&mut p, c, s);
        // Every segment fits the MTU whatever options it carries: nothing was fragmented.
        assert_eq!(p.a.counters().ipv4_fragmented, 0, "seed {seed}");
        assert_eq!(p.b.counters().ipv4_fragmented, 0, "seed {seed}");
    }
}

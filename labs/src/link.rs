//! Two real TCP connections (the stack's [`Connection`]) on a simulated link with a
//! virtual clock: the payoff of exercise 1, and the benchmark's engine. A sends `bytes`
//! to B through a link with a fixed one-way delay that loses every `loss_every`-th
//! data segment from A; the outcome says how long it took on the simulated clock.

use std::collections::VecDeque;
use std::net::SocketAddrV4;

use netstack_core::tcp::congestion::CongestionControl;
use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::{Connection, TcpConfig};
use netstack_core::wire::tcp::TcpRepr;
use netstack_core::{Duration, Instant};

/// What a transfer measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Simulated time from the SYN until B had every byte.
    pub elapsed: Duration,
    /// Segments A retransmitted.
    pub retransmits: u64,
    /// A's retransmission timeouts.
    pub timeouts: u64,
}

/// The link.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// One-way delay.
    pub delay: Duration,
    /// Lose every n-th data segment A sends (0: none).
    pub loss_every: usize,
}

/// A segment on the wire: when it arrives, to whom, what.
struct InFlight {
    at: Instant,
    to_b: bool,
    repr: TcpRepr,
    data: Vec<u8>,
}

/// Moves `bytes` from A to B over `link`, A's congestion control being `cc` (the
/// stack's default, CUBIC, when `None`). `None` if it did not finish within 10 minutes
/// of simulated time (a controller that stalls the connection).
pub fn transfer(
    bytes: usize,
    link: Link,
    cc: Option<Box<dyn CongestionControl>>,
) -> Option<Outcome> {
    let (a_addr, b_addr): (SocketAddrV4, SocketAddrV4) =
        ("10.0.0.2:40000".parse().ok()?, "10.0.0.1:80".parse().ok()?);
    let t0 = Instant::ZERO;
    let config = TcpConfig::default();
    let mut a = Connection::connect(config.clone(), a_addr, b_addr, Seq(1000), 1460, t0);
    let mut b = Connection::listen(config, b_addr, a_addr, Seq(9000), 1460, t0);
    if let Some(cc) = cc {
        a.set_congestion_control(cc);
    }
    let payload = vec![0x5a_u8; bytes];
    let (mut sent, mut received, mut data_segments) = (0, 0, 0);
    let mut wire: VecDeque<InFlight> = VecDeque::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut now = t0;
    let limit = t0 + Duration::from_secs(600);
    while received < bytes {
        if sent < bytes {
            sent += a.send(&payload[sent..]).unwrap_or(0);
        }
        while let Ok(Some(n)) = b.recv(&mut buf) {
            if n == 0 {
                break;
            }
            received += n;
        }
        for (conn, to_b) in [(&mut a, true), (&mut b, false)] {
            while let Some(seg) = conn.poll_transmit(now) {
                let mut data = vec![0u8; seg.data_len];
                conn.read_payload(&seg, &mut data);
                if to_b && !data.is_empty() {
                    data_segments += 1;
                    if link.loss_every > 0 && data_segments % link.loss_every == 0 {
                        continue;
                    }
                }
                wire.push_back(InFlight {
                    at: now + link.delay,
                    to_b,
                    repr: seg.repr,
                    data,
                });
            }
        }
        if received >= bytes {
            break;
        }
        // Advance to the next arrival or timer.
        let next = [
            wire.front().map(|s| s.at),
            a.poll_timeout(),
            b.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()?;
        now = now.max(next);
        if now > limit {
            return None;
        }
        while wire.front().is_some_and(|s| s.at <= now) {
            let s = wire.pop_front()?;
            let to = if s.to_b { &mut b } else { &mut a };
            let _ = to.handle_segment(now, &s.repr, &s.data);
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    let counters = a.counters();
    Some(Outcome {
        elapsed: now.saturating_since(t0),
        retransmits: counters.retransmits,
        timeouts: counters.timeouts,
    })
}

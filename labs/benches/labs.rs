//! `cargo bench -p netstack-labs [--features student]`: the exercises' benchmark.
//!
//! 1. Congestion control: 4 MB from A to B over two real TCP connections on a simulated
//!    link (10 ms each way, every 100th data segment lost), with NewReno, CUBIC and
//!    yours: the simulated time each took, and A's retransmissions.
//! 2. RTO: how fast your estimator folds in samples (ns per sample), against the
//!    stack's.

use std::hint::black_box;
use std::time::Instant as WallClock;

use netstack_core::tcp::congestion::Cubic;
use netstack_core::Duration;
use netstack_labs::congestion;
use netstack_labs::link::{self, Link};
use netstack_labs::rto::{self, RtoConfig};

fn main() {
    let link = Link {
        delay: Duration::from_millis(10),
        loss_every: 100,
    };
    println!("congestion control: 4 MB, 10 ms one way, 1 data segment in 100 lost");
    type MakeCc = fn(usize) -> Box<dyn congestion::CongestionControl>;
    let cubic: MakeCc = |mss| Box::new(Cubic::new(mss));
    for (name, make) in [
        ("newreno (reference)", congestion::reference as MakeCc),
        ("cubic", cubic),
        ("yours", congestion::student),
    ] {
        match link::transfer(4 << 20, link, Some(make(1460))) {
            Some(o) => println!(
                "  {name:20} {:6} ms simulated, {:4} retransmissions, {} timeouts",
                o.elapsed.total_millis(),
                o.retransmits,
                o.timeouts
            ),
            None => println!("  {name:20} did not finish in 10 simulated minutes"),
        }
    }
    println!("rto: 1,000,000 samples");
    type MakeRto = fn(RtoConfig) -> Box<dyn rto::RtoEstimator>;
    for (name, make) in [
        ("reference", rto::reference as MakeRto),
        ("yours", rto::student),
    ] {
        let mut e = make(RtoConfig::default());
        let start = WallClock::now();
        for i in 0..1_000_000u64 {
            e.sample(Duration::from_micros(black_box(10_000 + i % 5000)));
        }
        let ns = start.elapsed().as_nanos() / 1_000_000;
        println!(
            "  {name:20} {ns} ns per sample, RTO now {} ms",
            e.rto().total_millis()
        );
    }
}

//! Tests of [`Faulty`] on an in-memory link: determinism from the seed, each fault at
//! probability 1, and the timed impairments on a virtual clock.

use super::*;
use crate::memory::{self, MemoryDevice};
use netstack_core::Instant;

/// A 60-byte frame whose payload carries `n`, so order and identity are visible.
fn frame(n: u16) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[12..14].copy_from_slice(&[0x88, 0xb5]); // local experimental EtherType
    f[14..16].copy_from_slice(&n.to_be_bytes());
    f
}

fn number(f: &[u8]) -> u16 {
    u16::from_be_bytes([f[14], f[15]])
}

/// Everything waiting on `dev`, in order.
fn drain<D: Device>(dev: &mut D) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1518];
    while let Some(len) = dev.recv(&mut buf).unwrap() {
        out.push(buf[..len].to_vec());
    }
    out
}

/// A faulty end on a virtual clock that stays at zero unless the test moves it.
fn faulty(config: FaultConfig) -> (Faulty<MemoryDevice>, MemoryDevice, VirtualClock) {
    let (a, b) = memory::link(1500).unwrap();
    let clock = VirtualClock::new();
    let a = Faulty::with_clock(a, config, Arc::new(clock.clone())).unwrap();
    (a, b, clock)
}

/// `change` applied to a default impairment, both ways, seed 1.
fn both(change: impl Fn(&mut Impairment)) -> FaultConfig {
    let mut i = Impairment::default();
    change(&mut i);
    FaultConfig::both(i, 1)
}

/// Sends frames 0..n through a faulty end; returns what arrived at the other end.
fn through_tx(config: FaultConfig, n: u16) -> (Vec<Vec<u8>>, FaultCounters) {
    let (mut a, mut b, _clock) = faulty(config);
    let mut got = Vec::new();
    for i in 0..n {
        a.send(&frame(i)).unwrap();
        got.extend(drain(&mut b)); // keep the socket buffer from filling
    }
    a.release_held().unwrap();
    got.extend(drain(&mut b));
    (got, a.tx_counters())
}

/// Sends frames 0..n to a faulty end; returns what its recv delivered.
fn through_rx(config: FaultConfig, n: u16) -> (Vec<Vec<u8>>, FaultCounters) {
    let (mut a, mut b, _clock) = faulty(config);
    let mut got = Vec::new();
    for i in 0..n {
        b.send(&frame(i)).unwrap();
        got.extend(drain(&mut a));
    }
    a.release_held().unwrap();
    got.extend(drain(&mut a));
    (got, a.rx_counters())
}

fn everything(seed: u64) -> FaultConfig {
    FaultConfig {
        seed,
        ..both(|i| {
            i.loss = 0.2;
            i.duplicate = 0.2;
            i.corrupt = 0.2;
            i.reorder = 0.2;
        })
    }
}

#[test]
fn the_same_seed_makes_the_same_decisions() {
    for through in [through_tx, through_rx] {
        let (first, counters) = through(everything(42), 300);
        let (again, counters_again) = through(everything(42), 300);
        assert_eq!(first, again);
        assert_eq!(counters, counters_again);
        let (other, _) = through(everything(43), 300);
        assert_ne!(first, other);
        // Every fault happened at least once in 300 frames at 20 %.
        assert_eq!(counters.frames, 300);
        assert!(
            counters.dropped > 0 && counters.duplicated > 0,
            "{counters:?}"
        );
        assert!(
            counters.corrupted > 0 && counters.reordered > 0,
            "{counters:?}"
        );
    }
}

#[test]
fn loss_one_drops_everything_in_both_directions() {
    let config = both(|i| i.loss = 1.0);
    let (got, counters) = through_tx(config, 50);
    assert!(got.is_empty());
    assert_eq!((counters.frames, counters.dropped), (50, 50));
    let (got, counters) = through_rx(config, 50);
    assert!(got.is_empty());
    assert_eq!((counters.frames, counters.dropped), (50, 50));
}

#[test]
fn duplicate_one_delivers_every_frame_twice() {
    let config = both(|i| i.duplicate = 1.0);
    let expected: Vec<Vec<u8>> = (0..20).flat_map(|i| [frame(i), frame(i)]).collect();
    let (got, counters) = through_tx(config, 20);
    assert_eq!(got, expected);
    assert_eq!(counters.duplicated, 20);
    let (got, _) = through_rx(config, 20);
    assert_eq!(got, expected);
}

#[test]
fn reorder_one_swaps_neighbours() {
    let config = both(|i| i.reorder = 1.0);
    for through in [through_tx, through_rx] {
        let (got, counters) = through(config, 6);
        let order: Vec<u16> = got.iter().map(|f| number(f)).collect();
        assert_eq!(order, [1, 0, 3, 2, 5, 4]);
        assert_eq!(counters.reordered, 3);
    }
}

#[test]
fn a_held_frame_waits_for_the_next_for_release_or_for_its_deadline() {
    let config = both(|i| i.reorder = 1.0);
    let (mut a, mut b, clock) = faulty(config);
    a.send(&frame(0)).unwrap();
    assert!(drain(&mut b).is_empty());
    a.release_held().unwrap();
    assert_eq!(drain(&mut b), [frame(0)]);

    // Nothing follows: the frame goes on, unreordered, REORDER_HOLD after it was due.
    a.send(&frame(1)).unwrap();
    assert_eq!(a.next_wake(), Some(REORDER_HOLD));
    clock.set(Instant::from_micros(REORDER_HOLD.as_micros() as u64 - 1));
    a.flush().unwrap();
    assert!(drain(&mut b).is_empty());
    clock.set(Instant::from_micros(REORDER_HOLD.as_micros() as u64));
    a.flush().unwrap();
    assert_eq!(drain(&mut b), [frame(1)]);
    assert_eq!(a.tx_counters().reordered, 0);
}

#[test]
fn corrupt_one_changes_exactly_one_byte_of_every_frame() {
    let config = FaultConfig {
        seed: 7,
        ..both(|i| i.corrupt = 1.0)
    };
    for through in [through_tx, through_rx] {
        let (got, counters) = through(config, 40);
        assert_eq!(got.len(), 40);
        assert_eq!(counters.corrupted, 40);
        for (i, f) in got.iter().enumerate() {
            let original = frame(i as u16);
            let changed = f.iter().zip(&original).filter(|(x, y)| x != y).count();
            assert_eq!(changed, 1, "frame {i}");
        }
    }
}

#[test]
fn each_direction_has_its_own_impairment() {
    let rx_only = FaultConfig {
        rx: Impairment {
            loss: 1.0,
            ..Impairment::default()
        },
        ..FaultConfig::default()
    };
    assert_eq!(through_tx(rx_only, 5).0.len(), 5);
    assert!(through_rx(rx_only, 5).0.is_empty());
    let tx_only = FaultConfig {
        tx: rx_only.rx,
        rx: Impairment::default(),
        seed: 0,
    };
    assert!(through_tx(tx_only, 5).0.is_empty());
    assert_eq!(through_rx(tx_only, 5).0.len(), 5);
}

#[test]
fn delay_holds_frames_until_the_clock_reaches_them_both_ways() {
    let config = both(|i| i.delay = Duration::from_millis(10));
    let (mut a, mut b, clock) = faulty(config);
    a.send(&frame(1)).unwrap();
    b.send(&frame(2)).unwrap();
    assert!(drain(&mut b).is_empty());
    assert!(drain(&mut a).is_empty(), "received frames wait too");
    assert_eq!(a.next_wake(), Some(Duration::from_millis(10)));
    clock.set(Instant::from_millis(4));
    assert_eq!(a.next_wake(), Some(Duration::from_millis(6)));
    assert!(drain(&mut a).is_empty());
    clock.set(Instant::from_millis(10));
    // Any call releases what is due: recv sends the delayed frame on, and returns the
    // received one.
    assert_eq!(drain(&mut a), [frame(2)]);
    assert_eq!(drain(&mut b), [frame(1)]);
    assert_eq!(a.next_wake(), None);
    let report = a.faults().expect("a Faulty reports");
    assert_eq!((report.tx.delayed, report.rx.delayed), (1, 1));
    assert_eq!(report.config, config);
}

#[test]
fn the_rate_spaces_frames_and_a_full_queue_drops() {
    // 60-byte frames at 480 kbit/s take 1 ms each; the queue holds 3.
    let config = both(|i| {
        i.rate = 480_000;
        i.queue = 3;
    });
    let (mut a, mut b, clock) = faulty(config);
    for n in 0..5 {
        a.send(&frame(n)).unwrap();
    }
    assert_eq!(a.tx_counters().queue_dropped, 2);
    let mut arrivals = Vec::new();
    for ms in 0..=4 {
        clock.set(Instant::from_millis(ms));
        a.flush().unwrap();
        for f in drain(&mut b) {
            arrivals.push((ms, number(&f)));
        }
    }
    assert_eq!(arrivals, [(1, 0), (2, 1), (3, 2)]);
    // Once the queue has drained, frames are taken again.
    a.send(&frame(9)).unwrap();
    clock.set(Instant::from_millis(5));
    a.flush().unwrap();
    assert_eq!(drain(&mut b), [frame(9)]);
}

#[test]
fn jitter_varies_the_delay_but_keeps_the_order() {
    let config = both(|i| {
        i.delay = Duration::from_millis(10);
        i.jitter = Duration::from_millis(5);
    });
    let (mut a, mut b, clock) = faulty(config);
    let mut arrivals = Vec::new();
    for n in 0..200u16 {
        clock.set(Instant::from_millis(u64::from(n)));
        a.send(&frame(n)).unwrap();
        arrivals.extend(drain(&mut b).iter().map(|f| (u64::from(n), number(f))));
    }
    clock.set(Instant::from_secs(1));
    a.flush().unwrap();
    arrivals.extend(drain(&mut b).iter().map(|f| (1000, number(f))));
    let order: Vec<u16> = arrivals.iter().map(|&(_, n)| n).collect();
    assert_eq!(order, (0..200).collect::<Vec<_>>());
    // Delivered at the first look after the frame was due: 5..=15 ms after sending,
    // or behind a later-due frame before it.
    let late: Vec<u64> = arrivals
        .iter()
        .filter(|&&(at, _)| at < 1000)
        .map(|&(at, n)| at - u64::from(n))
        .collect();
    assert!(late.iter().all(|&l| (5..=25).contains(&l)), "{late:?}");
    assert!(late.iter().any(|&l| l < 10) && late.iter().any(|&l| l > 10));
}

#[test]
fn bursty_loss_loses_frames_in_runs() {
    let config = both(|i| {
        i.burst = Some(Burst {
            enter: 0.05,
            leave: 0.2,
            loss: 1.0,
        })
    });
    let (got, counters) = through_tx(config, 2000);
    assert_eq!(counters.burst_dropped + got.len() as u64, 2000);
    // Stationary loss 0.05 / 0.25 = 20%, in runs of 5 on average.
    assert!((300..500).contains(&counters.burst_dropped), "{counters:?}");
    let numbers: Vec<u16> = got.iter().map(|f| number(f)).collect();
    let gaps = numbers.windows(2).filter(|w| w[1] != w[0] + 1).count() as u64;
    assert!(gaps * 3 < counters.burst_dropped, "{gaps} gaps");
}

#[test]
fn probabilities_outside_zero_to_one_are_refused() {
    for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
        let config = both(|i| i.reorder = bad);
        let e = config.validate().unwrap_err();
        assert_eq!(e.field, "reorder");
        assert!(e.to_string().contains("between 0 and 1"), "{e}");
        let (a, _b) = memory::link(1500).unwrap();
        assert!(Faulty::new(a, config).is_err());
    }
    assert!(everything(1).validate().is_ok());
}

#[test]
fn empty_and_short_frames_do_not_panic() {
    let (a, mut b) = memory::link(1500).unwrap();
    let mut a = Faulty::new(
        a,
        both(|i| {
            i.corrupt = 1.0;
            i.duplicate = 0.5;
            i.reorder = 0.5;
        }),
    )
    .unwrap();
    for len in 0..4 {
        a.send(&vec![0; len]).unwrap();
        b.send(&vec![0; len]).unwrap();
    }
    a.release_held().unwrap();
    drain(&mut a);
    drain(&mut b);
}

#[test]
fn a_plain_device_reports_no_faults_and_wrappers_pass_them_on() {
    let (a, _b) = memory::link(1500).unwrap();
    assert!(a.faults().is_none() && a.next_wake().is_none());
    let (a, _b, _clock) = faulty(both(|i| i.delay = Duration::from_millis(1)));
    let boxed: Box<dyn Device> = Box::new(a);
    let traced = crate::Trace::new(boxed);
    assert!(traced.faults().is_some());
}

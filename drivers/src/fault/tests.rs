//! Tests of [`Faulty`]: determinism from the seed, and each fault at probability 1.

use super::*;
use crate::memory::{self, MemoryDevice};

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

fn faulty(config: FaultConfig) -> (Faulty<MemoryDevice>, MemoryDevice) {
    let (a, b) = memory::link(1500).unwrap();
    (Faulty::new(a, config).unwrap(), b)
}

/// Sends frames 0..n through a faulty end; returns what arrived at the other end.
fn through_tx(config: FaultConfig, n: u16) -> (Vec<Vec<u8>>, FaultCounters) {
    let (mut a, mut b) = faulty(config);
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
    let (mut a, mut b) = faulty(config);
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
        drop: 0.2,
        duplicate: 0.2,
        corrupt: 0.2,
        reorder: 0.2,
        seed,
        direction: FaultDirection::Both,
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
fn drop_one_drops_everything_in_both_directions() {
    let config = FaultConfig {
        drop: 1.0,
        ..FaultConfig::default()
    };
    let (got, counters) = through_tx(config, 50);
    assert!(got.is_empty());
    assert_eq!((counters.frames, counters.dropped), (50, 50));
    let (got, counters) = through_rx(config, 50);
    assert!(got.is_empty());
    assert_eq!((counters.frames, counters.dropped), (50, 50));
}

#[test]
fn duplicate_one_delivers_every_frame_twice() {
    let config = FaultConfig {
        duplicate: 1.0,
        ..FaultConfig::default()
    };
    let expected: Vec<Vec<u8>> = (0..20).flat_map(|i| [frame(i), frame(i)]).collect();
    let (got, counters) = through_tx(config, 20);
    assert_eq!(got, expected);
    assert_eq!(counters.duplicated, 20);
    let (got, _) = through_rx(config, 20);
    assert_eq!(got, expected);
}

#[test]
fn reorder_one_swaps_neighbours() {
    let config = FaultConfig {
        reorder: 1.0,
        ..FaultConfig::default()
    };
    for through in [through_tx, through_rx] {
        let (got, counters) = through(config, 6);
        let order: Vec<u16> = got.iter().map(|f| number(f)).collect();
        assert_eq!(order, [1, 0, 3, 2, 5, 4]);
        assert_eq!(counters.reordered, 3);
    }
}

#[test]
fn a_held_frame_waits_for_the_next_or_for_release() {
    let config = FaultConfig {
        reorder: 1.0,
        ..FaultConfig::default()
    };
    let (mut a, mut b) = faulty(config);
    a.send(&frame(0)).unwrap();
    assert!(drain(&mut b).is_empty());
    a.release_held().unwrap();
    assert_eq!(drain(&mut b), [frame(0)]);
}

#[test]
fn corrupt_one_changes_exactly_one_byte_of_every_frame() {
    let config = FaultConfig {
        corrupt: 1.0,
        seed: 7,
        ..FaultConfig::default()
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
fn direction_limits_the_faults_to_one_side() {
    let rx_only = FaultConfig {
        drop: 1.0,
        direction: FaultDirection::Rx,
        ..FaultConfig::default()
    };
    assert_eq!(through_tx(rx_only, 5).0.len(), 5);
    assert!(through_rx(rx_only, 5).0.is_empty());
    let tx_only = FaultConfig {
        direction: FaultDirection::Tx,
        ..rx_only
    };
    assert!(through_tx(tx_only, 5).0.is_empty());
    assert_eq!(through_rx(tx_only, 5).0.len(), 5);
}

#[test]
fn probabilities_outside_zero_to_one_are_refused() {
    for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
        let config = FaultConfig {
            reorder: bad,
            ..FaultConfig::default()
        };
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
        FaultConfig {
            corrupt: 1.0,
            duplicate: 0.5,
            reorder: 0.5,
            ..FaultConfig::default()
        },
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

//! Tests of [`Lane`] alone: the sans-IO core, driven with explicit times.

use super::*;
use std::time::Duration;

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

#[test]
fn a_transparent_lane_passes_frames_at_once_in_order() {
    let mut lane = Lane::new(Impairment::default(), 1);
    assert!(lane.is_transparent());
    lane.push(at(0), vec![1]);
    lane.push(at(0), vec![2]);
    assert_eq!(lane.next_due(), Some(at(0)));
    assert_eq!(lane.pop(at(0)), Some(vec![1]));
    assert_eq!(lane.pop(at(0)), Some(vec![2]));
    assert_eq!(lane.pop(at(0)), None);
    assert!(lane.is_empty() && lane.next_due().is_none());
}

#[test]
fn delay_is_counted_from_the_end_of_sending() {
    // 1000 bytes at 8 Mbit/s take 1 ms, then 5 ms to cross.
    let imp = Impairment {
        delay: Duration::from_millis(5),
        rate: 8_000_000,
        ..Impairment::default()
    };
    let mut lane = Lane::new(imp, 1);
    lane.push(at(0), vec![0; 1000]);
    lane.push(at(0), vec![1; 1000]);
    assert_eq!(lane.next_due(), Some(at(6)));
    assert!(lane.pop(Instant::from_micros(5_999)).is_none());
    assert_eq!(lane.pop(at(6)).map(|f| f[0]), Some(0));
    assert_eq!(lane.next_due(), Some(at(7)));
    assert_eq!(lane.pop(at(7)).map(|f| f[0]), Some(1));
    assert_eq!(lane.counters().delayed, 2);
}

#[test]
fn the_delay_line_is_bounded() {
    let imp = Impairment {
        delay: Duration::from_secs(1),
        ..Impairment::default()
    };
    let mut lane = Lane::new(imp, 1);
    let frames = MAX_IN_FLIGHT_BYTES / 1500 + 10;
    for _ in 0..frames {
        lane.push(at(0), vec![0; 1500]);
    }
    assert_eq!(lane.counters().queue_dropped, 10);
    assert_eq!(lane.len(), frames - 10);
}

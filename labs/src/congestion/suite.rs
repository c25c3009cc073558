//! The congestion-control suite: each check builds fresh controllers with `make` and
//! feeds them the hooks as the sender would, comparing cwnd and ssthresh with what the
//! RFCs say. SMSS is 1000 bytes unless a check says otherwise, to keep numbers round.

use netstack_core::Instant;

use super::{CongestionControl, Make};
use crate::grade::{expect_eq, Check};

const MSS: usize = 1000;

/// Every check, in the order a connection meets the rules.
pub const SUITE: &[Check<Make>] = &[
    Check {
        name: "initial_window",
        rule: "RFC 6928 2",
        run: initial_window,
    },
    Check {
        name: "ssthresh_starts_arbitrarily_high",
        rule: "RFC 5681 3.1",
        run: ssthresh_starts_high,
    },
    Check {
        name: "slow_start_grows_by_acked_bytes",
        rule: "RFC 5681 3.1, RFC 3465 2.2",
        run: slow_start_grows,
    },
    Check {
        name: "slow_start_growth_per_ack_is_limited",
        rule: "RFC 3465 2.2 (L = 2*SMSS)",
        run: slow_start_limit,
    },
    Check {
        name: "slow_start_doubles_per_round_trip",
        rule: "RFC 5681 3.1",
        run: slow_start_doubles,
    },
    Check {
        name: "congestion_avoidance_one_smss_per_window",
        rule: "RFC 5681 3.1, RFC 3465 2.1",
        run: congestion_avoidance,
    },
    Check {
        name: "fast_recovery_halves_the_flight",
        rule: "RFC 5681 3.2 steps 2-3",
        run: fast_recovery,
    },
    Check {
        name: "ssthresh_is_at_least_two_segments",
        rule: "RFC 5681 3.2 step 2",
        run: ssthresh_floor,
    },
    Check {
        name: "duplicate_acks_inflate",
        rule: "RFC 5681 3.2 step 4",
        run: dup_acks_inflate,
    },
    Check {
        name: "partial_ack_deflates",
        rule: "RFC 6582 3.2 step 5",
        run: partial_ack,
    },
    Check {
        name: "full_ack_ends_recovery",
        rule: "RFC 6582 3.2 step 6",
        run: full_ack,
    },
    Check {
        name: "sack_recovery_sets_cwnd_to_ssthresh",
        rule: "RFC 6675 5 step 4.2",
        run: sack_recovery,
    },
    Check {
        name: "timeout_collapses_to_one_segment",
        rule: "RFC 5681 3.1 equation 4",
        run: timeout,
    },
    Check {
        name: "slow_start_after_timeout_stops_at_ssthresh",
        rule: "RFC 5681 3.1",
        run: after_timeout,
    },
    Check {
        name: "never_panics",
        rule: "the trait's contract",
        run: never_panics,
    },
];

/// A controller for MSS after the handshake (`init`).
fn fresh(make: &Make, mss: usize) -> Box<dyn CongestionControl> {
    let mut cc = make(mss);
    cc.init(mss);
    cc
}

fn ack(cc: &mut dyn CongestionControl, acked: usize) {
    cc.on_ack(Instant::ZERO, acked, MSS);
}

/// A controller in congestion avoidance with cwnd = ssthresh = `w` (a recovery from a
/// flight of 2w, ended by a full ACK with plenty outstanding).
fn avoiding(make: &Make, w: usize) -> Box<dyn CongestionControl> {
    let mut cc = fresh(make, MSS);
    cc.on_enter_recovery(2 * w, MSS);
    cc.on_exit_recovery(4 * w, MSS);
    cc
}

fn initial_window(make: &Make) -> Result<(), String> {
    for (mss, iw) in [
        (1460, 14600),
        (1000, 10000),
        (536, 5360),
        (9000, 18000),
        (4000, 14600),
    ] {
        expect_eq(
            &format!("cwnd for an MSS of {mss}"),
            fresh(make, mss).cwnd(),
            iw,
        )?;
    }
    Ok(())
}

fn ssthresh_starts_high(make: &Make) -> Result<(), String> {
    expect_eq(
        "ssthresh before any loss",
        fresh(make, MSS).ssthresh(),
        usize::MAX,
    )
}

fn slow_start_grows(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    let start = cc.cwnd();
    ack(&mut *cc, 1000);
    expect_eq("cwnd after an ACK of 1000 bytes", cc.cwnd(), start + 1000)?;
    ack(&mut *cc, 500);
    expect_eq("cwnd after an ACK of 500 more", cc.cwnd(), start + 1500)
}

fn slow_start_limit(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    let start = cc.cwnd();
    ack(&mut *cc, 10 * MSS);
    expect_eq(
        "cwnd after one ACK of ten segments",
        cc.cwnd(),
        start + 2 * MSS,
    )
}

fn slow_start_doubles(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    for round in 1..=4 {
        let before = cc.cwnd();
        // One round trip: every segment of the window acknowledged, one ACK each.
        for _ in 0..before / MSS {
            ack(&mut *cc, MSS);
        }
        expect_eq(
            &format!("cwnd after round trip {round}"),
            cc.cwnd(),
            2 * before,
        )?;
    }
    Ok(())
}

fn congestion_avoidance(make: &Make) -> Result<(), String> {
    let mut cc = avoiding(make, 10 * MSS);
    expect_eq(
        "cwnd at the start of congestion avoidance",
        cc.cwnd(),
        10 * MSS,
    )?;
    let mut windows = 0;
    while windows < 5 {
        let before = cc.cwnd();
        for _ in 0..before / MSS {
            ack(&mut *cc, MSS);
        }
        let grown = cc.cwnd() - before;
        if !(MSS * 3 / 4..=MSS).contains(&grown) {
            return Err(format!(
                "a window of {before} bytes acknowledged grew cwnd by {grown} bytes; expected about one SMSS ({MSS}), never more"
            ));
        }
        windows += 1;
    }
    Ok(())
}

fn fast_recovery(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    cc.on_enter_recovery(20 * MSS, MSS);
    expect_eq(
        "ssthresh after 3 duplicate ACKs with 20000 bytes in flight",
        cc.ssthresh(),
        10 * MSS,
    )?;
    expect_eq(
        "cwnd in fast recovery (ssthresh + 3*SMSS)",
        cc.cwnd(),
        13 * MSS,
    )
}

fn ssthresh_floor(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    cc.on_enter_recovery(MSS, MSS);
    expect_eq(
        "ssthresh after a loss with one segment in flight",
        cc.ssthresh(),
        2 * MSS,
    )?;
    let mut cc = fresh(make, MSS);
    cc.on_rto(0, MSS);
    expect_eq(
        "ssthresh after a timeout with nothing counted in flight",
        cc.ssthresh(),
        2 * MSS,
    )
}

fn dup_acks_inflate(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    cc.on_enter_recovery(20 * MSS, MSS);
    for n in 1..=3 {
        cc.on_dup_ack_in_recovery(MSS);
        expect_eq(
            &format!("cwnd after {n} more duplicate ACKs"),
            cc.cwnd(),
            (13 + n) * MSS,
        )?;
    }
    Ok(())
}

fn partial_ack(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    cc.on_enter_recovery(20 * MSS, MSS);
    cc.on_partial_ack(4 * MSS, MSS);
    expect_eq(
        "cwnd after a partial ACK of 4 segments (13 - 4 + 1)",
        cc.cwnd(),
        10 * MSS,
    )?;
    cc.on_partial_ack(MSS / 2, MSS);
    expect_eq(
        "cwnd after a partial ACK of half a segment",
        cc.cwnd(),
        10 * MSS - MSS / 2,
    )?;
    expect_eq("ssthresh during recovery", cc.ssthresh(), 10 * MSS)
}

fn full_ack(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    cc.on_enter_recovery(20 * MSS, MSS);
    cc.on_exit_recovery(30 * MSS, MSS);
    expect_eq("cwnd after a full ACK, much in flight", cc.cwnd(), 10 * MSS)?;
    let mut cc = fresh(make, MSS);
    cc.on_enter_recovery(20 * MSS, MSS);
    cc.on_exit_recovery(2 * MSS, MSS);
    expect_eq(
        "cwnd after a full ACK, 2 segments in flight (no burst)",
        cc.cwnd(),
        3 * MSS,
    )
}

fn sack_recovery(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    cc.on_sack_recovery(20 * MSS, MSS);
    expect_eq("ssthresh", cc.ssthresh(), 10 * MSS)?;
    expect_eq("cwnd", cc.cwnd(), 10 * MSS)
}

fn timeout(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    cc.on_rto(20 * MSS, MSS);
    expect_eq(
        "ssthresh after a timeout with 20000 bytes in flight",
        cc.ssthresh(),
        10 * MSS,
    )?;
    expect_eq("cwnd after a timeout (the loss window)", cc.cwnd(), MSS)
}

fn after_timeout(make: &Make) -> Result<(), String> {
    let mut cc = fresh(make, MSS);
    cc.on_rto(8 * MSS, MSS);
    // Slow start from one segment: 1, 2, 4, then ssthresh (4000) is reached.
    for _ in 0..3 {
        ack(&mut *cc, MSS);
    }
    expect_eq(
        "cwnd after three ACKs from the loss window",
        cc.cwnd(),
        4 * MSS,
    )?;
    ack(&mut *cc, MSS);
    if cc.cwnd() > 4 * MSS + MSS {
        return Err(format!(
            "cwnd {} after reaching ssthresh {}: congestion avoidance grows by one SMSS per window, not per ACK",
            cc.cwnd(),
            4 * MSS
        ));
    }
    Ok(())
}

fn never_panics(make: &Make) -> Result<(), String> {
    for mss in [0, 1, MSS, usize::MAX] {
        let mut cc = make(mss);
        cc.init(mss);
        for n in [0, 1, usize::MAX] {
            cc.on_ack(Instant::ZERO, n, mss);
            cc.on_enter_recovery(n, mss);
            cc.on_dup_ack_in_recovery(mss);
            cc.on_partial_ack(n, mss);
            cc.on_exit_recovery(n, mss);
            cc.on_sack_recovery(n, mss);
            cc.on_rto(n, mss);
            cc.on_ack(Instant::ZERO, n, mss);
        }
        let _ = (cc.cwnd(), cc.ssthresh(), cc.name());
    }
    Ok(())
}

//! The RTO suite: samples in, SRTT, RTTVAR and RTO out, checked against RFC 6298's
//! arithmetic. Unless a check says otherwise the configuration is the stack's: initial
//! 1 s, minimum 200 ms, maximum 120 s.

use super::{Duration, Make, RtoConfig};
use crate::grade::{expect_eq, Check};

/// Every check.
pub const SUITE: &[Check<Make>] = &[
    Check {
        name: "initial_rto_before_any_sample",
        rule: "RFC 6298 2.1",
        run: initial,
    },
    Check {
        name: "first_sample_sets_srtt_and_rttvar",
        rule: "RFC 6298 2.2",
        run: first_sample,
    },
    Check {
        name: "later_samples_are_smoothed",
        rule: "RFC 6298 2.3",
        run: later_samples,
    },
    Check {
        name: "rto_is_raised_to_the_minimum",
        rule: "RFC 6298 2.4",
        run: minimum,
    },
    Check {
        name: "rto_is_capped_at_the_maximum",
        rule: "RFC 6298 2.5",
        run: maximum,
    },
    Check {
        name: "steady_samples_leave_the_granularity",
        rule: "RFC 6298 2.3 (G)",
        run: granularity,
    },
    Check {
        name: "each_timeout_doubles_the_rto",
        rule: "RFC 6298 5.5",
        run: backoff,
    },
    Check {
        name: "backoff_stops_at_the_maximum",
        rule: "RFC 6298 5.5, 2.5",
        run: backoff_cap,
    },
    Check {
        name: "a_new_sample_ends_the_backoff",
        rule: "RFC 6298 5 (Karn)",
        run: sample_ends_backoff,
    },
    Check {
        name: "never_panics",
        rule: "nothing from the wire may panic",
        run: never_panics,
    },
];

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn stack() -> RtoConfig {
    RtoConfig {
        initial: Duration::from_secs(1),
        min: ms(200),
        max: Duration::from_secs(120),
    }
}

fn initial(make: &Make) -> Result<(), String> {
    let e = make(stack());
    expect_eq("RTO before any sample", e.rto(), Duration::from_secs(1))?;
    expect_eq("SRTT before any sample", e.srtt(), None)?;
    let e = make(RtoConfig {
        initial: ms(3000),
        ..stack()
    });
    expect_eq("RTO before any sample, initial 3 s", e.rto(), ms(3000))
}

fn first_sample(make: &Make) -> Result<(), String> {
    let mut e = make(stack());
    e.sample(ms(100));
    expect_eq("SRTT after a sample of 100 ms", e.srtt(), Some(ms(100)))?;
    expect_eq("RTTVAR after a sample of 100 ms", e.rttvar(), ms(50))?;
    expect_eq("RTO = SRTT + 4 RTTVAR", e.rto(), ms(300))
}

fn later_samples(make: &Make) -> Result<(), String> {
    let mut e = make(stack());
    e.sample(ms(100));
    e.sample(ms(200));
    // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
    expect_eq("RTTVAR after 100 then 200 ms", e.rttvar(), us(62_500))?;
    expect_eq("SRTT after 100 then 200 ms", e.srtt(), Some(us(112_500)))?;
    expect_eq("RTO", e.rto(), us(362_500))?;
    e.sample(ms(50));
    // RTTVAR = 3/4 * 62.5 + 1/4 * 62.5 = 62.5; SRTT = 7/8 * 112.5 + 1/8 * 50 = 104.6875.
    expect_eq(
        "RTTVAR after a third sample of 50 ms",
        e.rttvar(),
        us(62_500),
    )?;
    expect_eq(
        "SRTT after a third sample of 50 ms",
        e.srtt(),
        Some(us(104_687)),
    )
}

fn minimum(make: &Make) -> Result<(), String> {
    let mut e = make(stack());
    e.sample(ms(1));
    expect_eq(
        "RTO after a sample of 1 ms (minimum 200 ms)",
        e.rto(),
        ms(200),
    )?;
    let mut e = make(RtoConfig {
        min: Duration::from_secs(1),
        ..stack()
    });
    e.sample(ms(100));
    expect_eq(
        "RTO after a sample of 100 ms (RFC's minimum, 1 s)",
        e.rto(),
        Duration::from_secs(1),
    )
}

fn maximum(make: &Make) -> Result<(), String> {
    let mut e = make(RtoConfig {
        max: Duration::from_secs(60),
        ..stack()
    });
    e.sample(Duration::from_secs(100));
    expect_eq(
        "RTO after a sample of 100 s (maximum 60 s)",
        e.rto(),
        Duration::from_secs(60),
    )
}

fn granularity(make: &Make) -> Result<(), String> {
    let mut e = make(RtoConfig {
        min: Duration::ZERO,
        ..stack()
    });
    for _ in 0..200 {
        e.sample(ms(100));
    }
    let srtt = e.srtt().ok_or("no SRTT after 200 samples")?;
    expect_eq("SRTT after 200 samples of 100 ms", srtt, ms(100))?;
    // RTTVAR has decayed to (nearly) nothing: RTO = SRTT + max(G, 4 RTTVAR) = SRTT + G.
    expect_eq(
        "RTO after 200 samples of 100 ms (G = 1 ms)",
        e.rto(),
        ms(101),
    )
}

fn backoff(make: &Make) -> Result<(), String> {
    let mut e = make(stack());
    e.sample(ms(100));
    for (n, want) in [(1, 600), (2, 1200), (3, 2400)] {
        e.backoff();
        expect_eq(&format!("RTO after {n} timeouts"), e.rto(), ms(want))?;
    }
    let mut e = make(stack());
    e.backoff();
    expect_eq(
        "RTO after a timeout before any sample",
        e.rto(),
        Duration::from_secs(2),
    )
}

fn backoff_cap(make: &Make) -> Result<(), String> {
    let mut e = make(stack());
    for _ in 0..100 {
        e.backoff();
    }
    expect_eq("RTO after 100 timeouts", e.rto(), Duration::from_secs(120))
}

fn sample_ends_backoff(make: &Make) -> Result<(), String> {
    let mut e = make(stack());
    e.sample(ms(100));
    e.backoff();
    e.backoff();
    e.sample(ms(100));
    // RTTVAR = 3/4 * 50 + 0 = 37.5; RTO = 100 + 150.
    expect_eq("RTO after two timeouts and a new sample", e.rto(), ms(250))
}

fn never_panics(make: &Make) -> Result<(), String> {
    let huge = Duration::from_micros(u64::MAX);
    let mut e = make(RtoConfig {
        initial: huge,
        min: huge,
        max: Duration::ZERO,
    });
    for d in [Duration::ZERO, huge, ms(1), huge] {
        e.sample(d);
        e.backoff();
        let _ = (e.rto(), e.srtt(), e.rttvar());
    }
    let mut e = make(RtoConfig {
        max: huge,
        ..stack()
    });
    for _ in 0..200 {
        e.backoff();
    }
    e.sample(huge);
    let _ = e.rto();
    Ok(())
}

//! Ping statistics, counted and printed exactly as iputils' `ping` does, so that our
//! output can be compared line by line with the system's.
//!
//! Round-trip times are whole microseconds. As in iputils, duplicates count towards the
//! times, and the mean deviation is `sqrt(mean(t²) - mean(t)²)` in integer arithmetic.

use std::fmt::Write as _;
use std::time::Duration;

/// What one ping run has seen so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Echo requests sent.
    pub transmitted: u64,
    /// Distinct sequence numbers answered.
    pub received: u64,
    /// Replies for a sequence number already answered.
    pub duplicates: u64,
    /// Requests reported lost by the stack (the destination did not answer ARP).
    pub errors: u64,
    /// The most requests seen in flight at once, as iputils' "pipe" (printed when over 1).
    pub pipe: u64,
    rtt: RttSums,
}

/// Sums of round-trip times, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct RttSums {
    count: u64,
    sum: u128,
    sum_of_squares: u128,
    min: u64,
    max: u64,
}

impl Statistics {
    /// Counts one reply's round-trip time (duplicates included, as iputils does).
    pub fn record_rtt(&mut self, rtt: Duration) {
        let us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
        let r = &mut self.rtt;
        r.min = if r.count == 0 { us } else { r.min.min(us) };
        r.max = r.max.max(us);
        r.count += 1;
        r.sum += u128::from(us);
        r.sum_of_squares += u128::from(us) * u128::from(us);
    }

    /// Notes that request `seq` was answered or reported lost, `transmitted` having been
    /// sent by then: how far behind the answer came sets [`pipe`](Self::pipe) (iputils'
    /// `acknowledge`, with its 16-bit wrap-around).
    pub fn acknowledge(&mut self, seq: u16) {
        let behind = (self.transmitted as u16).wrapping_sub(seq);
        if behind <= 0x7fff {
            self.pipe = self.pipe.max(u64::from(behind) + 1);
        }
    }

    /// The largest round-trip time seen, which sets how long to wait for stragglers.
    pub fn max_rtt(&self) -> Duration {
        Duration::from_micros(self.rtt.max)
    }

    /// `(min, avg, max, mdev)` in microseconds, once a time has been recorded.
    pub fn rtt_summary(&self) -> Option<(u64, u64, u64, u64)> {
        let r = self.rtt;
        if r.count == 0 {
            return None;
        }
        let n = u128::from(r.count);
        let mean = r.sum / n;
        let mean_of_squares = r.sum_of_squares / n;
        let variance = mean_of_squares.saturating_sub(mean * mean);
        let to_u64 = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
        Some((r.min, to_u64(mean), r.max, to_u64(variance.isqrt())))
    }

    /// The closing block, from the blank line to the end, as iputils prints it:
    ///
    /// ```text
    ///
    /// --- 10.0.0.1 ping statistics ---
    /// 3 packets transmitted, 3 received, 0% packet loss, time 2003ms
    /// rtt min/avg/max/mdev = 0.180/0.210/0.250/0.029 ms
    /// ```
    ///
    /// `elapsed` is the time from the first request to the last event (request, reply or
    /// error), as iputils counts it. With no round-trip time and no pipe the last line is
    /// empty, as in iputils.
    pub fn summary(&self, host: &str, elapsed: Duration) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "\n--- {host} ping statistics ---");
        let _ = write!(
            s,
            "{} packets transmitted, {} received",
            self.transmitted, self.received
        );
        if self.duplicates > 0 {
            let _ = write!(s, ", +{} duplicates", self.duplicates);
        }
        if self.errors > 0 {
            let _ = write!(s, ", +{} errors", self.errors);
        }
        if self.transmitted > 0 {
            let _ = write!(
                s,
                ", {}% packet loss",
                loss_percent(self.transmitted, self.received)
            );
            let _ = write!(s, ", time {}ms", (elapsed.as_micros() + 500) / 1000);
        }
        s.push('\n');
        let mut comma = "";
        if let Some((min, avg, max, mdev)) = self.rtt_summary() {
            let _ = write!(
                s,
                "rtt min/avg/max/mdev = {}/{}/{}/{} ms",
                millis3(min),
                millis3(avg),
                millis3(max),
                millis3(mdev)
            );
            comma = ", ";
        }
        if self.pipe > 1 {
            let _ = write!(s, "{comma}pipe {}", self.pipe);
        }
        s.push('\n');
        s
    }
}

/// A reply's time as iputils prints it after `time=`: three significant digits, from
/// "0.045" through "1.23" and "12.3" to "123".
pub fn format_rtt(rtt: Duration) -> String {
    let us = rtt.as_micros();
    if us >= 100_000 {
        format!("{}", (us + 500) / 1000)
    } else if us >= 10_000 {
        format!("{}.{}", (us + 50) / 1000, ((us + 50) % 1000) / 100)
    } else if us >= 1_000 {
        format!("{}.{:02}", (us + 5) / 1000, ((us + 5) % 1000) / 10)
    } else {
        format!("0.{us:03}")
    }
}

/// Microseconds as milliseconds with three decimals ("0.213").
fn millis3(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

/// The loss percentage as iputils prints it: C's `%g` of a `float` (six significant
/// digits, no trailing zeros), so one loss in three is "33.3333".
pub fn loss_percent(transmitted: u64, received: u64) -> String {
    if transmitted == 0 {
        return "0".to_string();
    }
    let lost = transmitted.saturating_sub(received);
    // Single precision, as iputils' cast to float.
    let pct = f64::from((lost as f64 * 100.0 / transmitted as f64) as f32);
    format_g(pct)
}

/// C's `%g` for values in [0, 1e6): six significant digits, trailing zeros removed.
fn format_g(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    let int_digits = x.abs().log10().floor() as i32 + 1;
    let decimals = usize::try_from(6 - int_digits).unwrap_or(0);
    let mut s = format!("{x:.decimals$}");
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn reply_times_keep_three_significant_digits_like_iputils() {
        assert_eq!(format_rtt(us(45)), "0.045");
        assert_eq!(format_rtt(us(999)), "0.999");
        assert_eq!(format_rtt(us(1_234)), "1.23");
        assert_eq!(format_rtt(us(9_996)), "10.00"); // iputils rounds inside its branch
        assert_eq!(format_rtt(us(12_345)), "12.3");
        assert_eq!(format_rtt(us(99_960)), "100.0");
        assert_eq!(format_rtt(us(123_456)), "123");
        assert_eq!(format_rtt(us(2_000_499)), "2000");
    }

    #[test]
    fn loss_is_printed_as_c_percent_g() {
        assert_eq!(loss_percent(3, 3), "0");
        assert_eq!(loss_percent(3, 0), "100");
        assert_eq!(loss_percent(3, 2), "33.3333");
        assert_eq!(loss_percent(3, 1), "66.6667");
        assert_eq!(loss_percent(4, 3), "25");
        assert_eq!(loss_percent(8, 7), "12.5");
        assert_eq!(loss_percent(1000, 999), "0.1");
        assert_eq!(loss_percent(7, 0), "100");
    }

    #[test]
    fn min_avg_max_mdev_follow_iputils_integer_math() {
        let mut s = Statistics {
            transmitted: 3,
            received: 3,
            ..Default::default()
        };
        for t in [180, 200, 250] {
            s.record_rtt(us(t));
        }
        // mean 210 (630/3); mean of squares 44966 (134900/3); variance 44966 - 44100 = 866;
        // sqrt 29.4 -> 29.
        assert_eq!(s.rtt_summary(), Some((180, 210, 250, 29)));
        assert_eq!(
            s.summary("10.0.0.1", Duration::from_micros(2_002_600)),
            "\n--- 10.0.0.1 ping statistics ---\n\
             3 packets transmitted, 3 received, 0% packet loss, time 2003ms\n\
             rtt min/avg/max/mdev = 0.180/0.210/0.250/0.029 ms\n"
        );
    }

    #[test]
    fn pipe_is_how_far_behind_answers_come() {
        let mut s = Statistics {
            transmitted: 4,
            errors: 3,
            ..Default::default()
        };
        s.acknowledge(1);
        s.acknowledge(2);
        assert_eq!(s.pipe, 4);
        assert!(s
            .summary("10.0.0.9", Duration::from_millis(4097))
            .ends_with("time 4097ms\npipe 4\n"));
        // Across the 16-bit wrap: request 65537 went out as sequence number 1.
        let mut s = Statistics {
            transmitted: 65_537,
            ..Default::default()
        };
        s.acknowledge(65_535);
        assert_eq!(s.pipe, 3);
        s.record_rtt(us(1));
        assert!(s.summary("h", Duration::ZERO).ends_with(" ms, pipe 3\n"));
    }

    #[test]
    fn identical_times_have_zero_deviation() {
        let mut s = Statistics::default();
        s.record_rtt(us(1_500));
        s.record_rtt(us(1_500));
        assert_eq!(s.rtt_summary(), Some((1_500, 1_500, 1_500, 0)));
    }

    #[test]
    fn duplicates_and_errors_are_listed_and_no_reply_means_no_rtt_line() {
        let s = Statistics {
            transmitted: 5,
            received: 0,
            errors: 3,
            ..Default::default()
        };
        assert_eq!(
            s.summary("10.0.0.9", Duration::from_millis(4080)),
            "\n--- 10.0.0.9 ping statistics ---\n\
             5 packets transmitted, 0 received, +3 errors, 100% packet loss, time 4080ms\n\n"
        );
        let mut s = Statistics {
            transmitted: 2,
            received: 2,
            duplicates: 1,
            ..Default::default()
        };
        for t in [100, 100, 400] {
            s.record_rtt(us(t));
        }
        let text = s.summary("10.0.0.3", Duration::from_millis(1001));
        assert!(
            text.contains("2 packets transmitted, 2 received, +1 duplicates, 0% packet loss"),
            "{text}"
        );
        // (100 + 100 + 400) / 3 = 200; duplicates count, as in iputils.
        assert!(text.contains("= 0.100/0.200/0.400/0.141 ms"), "{text}");
    }
}

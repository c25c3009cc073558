//! The text form of a [`FaultConfig`], as `netstack --impair` takes it:
//!
//! ```text
//! SPEC  = FIELD ("," FIELD)*
//! FIELD = ["tx:" | "rx:"] NAME "=" VALUE        (no prefix: both directions)
//!
//! loss=5%          frames lost at random            percent (5%) or fraction (0.05)
//! burst=1%/25%     Gilbert-Elliott bursty loss: enter the bad state with 1% per frame,
//!   or 1%/25%/50%  leave it with 25% (bursts of 4 on average); in it lose 100% (or 50%)
//! dup=1%           frames delivered twice
//! reorder=2%       frames delivered after the next one
//! corrupt=0.5%     frames with one byte changed
//! delay=10ms       one-way delay                    us, ms or s; fractions allowed
//! jitter=2ms       delay varies by up to this either way (frames stay in order)
//! rate=100mbit     link rate                        bit, kbit, mbit or gbit (x1000)
//! queue=1000       frames the rate limiter holds before it drops (default 1000)
//! seed=7           seed of every decision (no prefix; default 1)
//! ```
//!
//! Fields apply in order, so a later one overrides an earlier one: `loss=5%,tx:loss=0`
//! loses 5% of the frames received and none of those sent. The `Display` of a config
//! prints this form back, with only what is not the default.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::config::{Burst, FaultConfig, Impairment};

/// The seed when the text names none.
pub const DEFAULT_SEED: u64 = 1;

/// A `--impair` text that does not parse: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpecError {
    /// The field as written (`tx:loss=abc`), or the whole text when it is empty.
    pub field: String,
    /// What is wrong with it.
    pub why: String,
}

impl fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad impairment field `{}`: {}", self.field, self.why)
    }
}

impl std::error::Error for FaultSpecError {}

impl FromStr for FaultConfig {
    type Err = FaultSpecError;

    fn from_str(text: &str) -> Result<FaultConfig, FaultSpecError> {
        let mut config = FaultConfig {
            seed: DEFAULT_SEED,
            ..FaultConfig::default()
        };
        if text.trim().is_empty() {
            return Err(error(
                text,
                "empty; expected NAME=VALUE, for example loss=5%",
            ));
        }
        for field in text.split(',') {
            apply(&mut config, field.trim()).map_err(|why| error(field.trim(), &why))?;
        }
        config.validate().map_err(|e| error(text, &e.to_string()))?;
        Ok(config)
    }
}

fn error(field: &str, why: &str) -> FaultSpecError {
    FaultSpecError {
        field: field.to_string(),
        why: why.to_string(),
    }
}

/// Which directions a field applies to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Both,
    Tx,
    Rx,
}

/// Applies one `[tx:|rx:]NAME=VALUE` field to `config`.
fn apply(config: &mut FaultConfig, field: &str) -> Result<(), String> {
    let (scope, rest) = match field.split_once(':') {
        Some(("tx", rest)) => (Scope::Tx, rest),
        Some(("rx", rest)) => (Scope::Rx, rest),
        Some((prefix, _)) if !prefix.contains('=') => {
            return Err(format!("unknown direction `{prefix}:`; use tx: or rx:"))
        }
        _ => (Scope::Both, field),
    };
    let Some((name, value)) = rest.split_once('=') else {
        return Err("expected NAME=VALUE, for example loss=5%".to_string());
    };
    let value = value.trim();
    if name == "seed" {
        if scope != Scope::Both {
            return Err("the seed applies to both directions; drop the prefix".to_string());
        }
        config.seed = value
            .parse()
            .map_err(|_| "expected a whole number from 0 to 2^64-1".to_string())?;
        return Ok(());
    }
    let set: Box<dyn Fn(&mut Impairment)> = match name {
        "loss" => {
            let p = probability(value)?;
            Box::new(move |i| i.loss = p)
        }
        "dup" | "duplicate" => {
            let p = probability(value)?;
            Box::new(move |i| i.duplicate = p)
        }
        "reorder" => {
            let p = probability(value)?;
            Box::new(move |i| i.reorder = p)
        }
        "corrupt" => {
            let p = probability(value)?;
            Box::new(move |i| i.corrupt = p)
        }
        "burst" => {
            let b = burst(value)?;
            Box::new(move |i| i.burst = b)
        }
        "delay" => {
            let d = duration(value)?;
            Box::new(move |i| i.delay = d)
        }
        "jitter" => {
            let d = duration(value)?;
            Box::new(move |i| i.jitter = d)
        }
        "rate" => {
            let r = rate(value)?;
            Box::new(move |i| i.rate = r)
        }
        "queue" => {
            let q = value
                .parse()
                .ok()
                .filter(|&q: &usize| q > 0)
                .ok_or("expected a number of frames, at least 1")?;
            Box::new(move |i| i.queue = q)
        }
        _ => {
            return Err(format!(
                "unknown name `{name}`; known: loss, burst, dup, reorder, corrupt, delay, \
                 jitter, rate, queue, seed"
            ))
        }
    };
    if scope != Scope::Rx {
        set(&mut config.tx);
    }
    if scope != Scope::Tx {
        set(&mut config.rx);
    }
    Ok(())
}

/// `5%` or `0.05`.
fn probability(value: &str) -> Result<f64, String> {
    const WANT: &str = "expected a percentage from 0% to 100% (5%) or a fraction from 0 to 1";
    let p = match value.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map_err(|_| WANT)? / 100.0,
        None => value.parse::<f64>().map_err(|_| WANT)?,
    };
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(WANT.to_string())
    }
}

/// `ENTER/LEAVE` or `ENTER/LEAVE/LOSS`, each a probability; `0` turns bursts off.
fn burst(value: &str) -> Result<Option<Burst>, String> {
    if value == "0" || value == "0%" || value == "off" {
        return Ok(None);
    }
    let parts: Vec<&str> = value.split('/').collect();
    let [enter, leave, loss] = match parts[..] {
        [enter, leave] => [enter, leave, "100%"],
        [enter, leave, loss] => [enter, leave, loss],
        _ => return Err("expected ENTER/LEAVE or ENTER/LEAVE/LOSS, for example 1%/25%".into()),
    };
    let burst = Burst {
        enter: probability(enter)?,
        leave: probability(leave)?,
        loss: probability(loss)?,
    };
    if burst.leave == 0.0 && burst.enter > 0.0 {
        return Err("LEAVE must be above 0, or a burst never ends".to_string());
    }
    Ok(Some(burst))
}

/// `10ms`, `1.5ms`, `250us`, `2s`, or `0`.
fn duration(value: &str) -> Result<Duration, String> {
    const WANT: &str = "expected a duration such as 10ms, 250us or 1.5s";
    if value == "0" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = split_unit(value);
    let scale = match unit {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        _ => return Err(WANT.to_string()),
    };
    let n: f64 = number.parse().map_err(|_| WANT)?;
    let d = Duration::try_from_secs_f64(n * scale).map_err(|_| WANT)?;
    if d > Duration::from_secs(3600) {
        return Err("at most 3600s".to_string());
    }
    Ok(d)
}

/// `100mbit`, `1.5gbit`, `64kbit`, `9600bit`, or `0` (unlimited), in bits per second.
fn rate(value: &str) -> Result<u64, String> {
    const WANT: &str = "expected a rate such as 100mbit, 512kbit or 1gbit (bits per second)";
    if value == "0" {
        return Ok(0);
    }
    let (number, unit) = split_unit(value);
    let scale = match unit.to_ascii_lowercase().as_str() {
        "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        _ => return Err(WANT.to_string()),
    };
    let n: f64 = number.parse().map_err(|_| WANT)?;
    let bps = n * scale;
    if !(8.0..=1e12).contains(&bps) {
        return Err("from 8bit to 1000gbit".to_string());
    }
    Ok(bps.round() as u64)
}

/// `"1.5ms"` into `("1.5", "ms")`.
fn split_unit(value: &str) -> (&str, &str) {
    let at = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    value.split_at(at)
}

impl fmt::Display for FaultConfig {
    /// The `--impair` form: fields common to both directions unprefixed, the rest with
    /// `tx:` or `rx:`, defaults left out; `none` when nothing is impaired.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tx = fields(&self.tx);
        let rx = fields(&self.rx);
        let mut out: Vec<String> = Vec::new();
        for field in &tx {
            if rx.contains(field) {
                out.push(field.clone());
            } else {
                out.push(format!("tx:{field}"));
            }
        }
        out.extend(
            rx.iter()
                .filter(|f| !tx.contains(f))
                .map(|f| format!("rx:{f}")),
        );
        if out.is_empty() {
            return f.write_str("none");
        }
        out.push(format!("seed={}", self.seed));
        f.write_str(&out.join(","))
    }
}

/// One direction's fields that are not the default, as text.
fn fields(i: &Impairment) -> Vec<String> {
    let d = Impairment::default();
    let pct = |p: f64| format!("{}%", (p * 1e6).round() / 1e4);
    let mut out = Vec::new();
    for (name, p, default) in [
        ("loss", i.loss, d.loss),
        ("dup", i.duplicate, d.duplicate),
        ("reorder", i.reorder, d.reorder),
        ("corrupt", i.corrupt, d.corrupt),
    ] {
        if p != default {
            out.push(format!("{name}={}", pct(p)));
        }
    }
    if let Some(b) = i.burst {
        out.push(format!(
            "burst={}/{}/{}",
            pct(b.enter),
            pct(b.leave),
            pct(b.loss)
        ));
    }
    let time = |t: Duration| format!("{}ms", t.as_micros() as f64 / 1000.0);
    if i.delay != d.delay {
        out.push(format!("delay={}", time(i.delay)));
    }
    if i.jitter != d.jitter {
        out.push(format!("jitter={}", time(i.jitter)));
    }
    if i.rate != d.rate {
        out.push(format!("rate={}", rate_text(i.rate)));
    }
    if i.queue != d.queue {
        out.push(format!("queue={}", i.queue));
    }
    out
}

/// A rate in the largest unit that shows it whole.
fn rate_text(bps: u64) -> String {
    for (unit, scale) in [
        ("gbit", 1_000_000_000),
        ("mbit", 1_000_000),
        ("kbit", 1_000),
    ] {
        if bps % scale == 0 {
            return format!("{}{unit}", bps / scale);
        }
    }
    format!("{bps}bit")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> FaultConfig {
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} refused: {e}"))
    }

    #[track_caller]
    fn refused(text: &str) -> FaultSpecError {
        match text.parse::<FaultConfig>() {
            Ok(config) => panic!("{text:?} accepted as {config:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn the_issue_example_sets_both_directions() {
        let c = parse(
            "loss=5%,dup=1%,reorder=2%,corrupt=0.5%,delay=10ms,jitter=2ms,rate=100mbit,seed=7",
        );
        assert_eq!(c.tx, c.rx);
        let i = c.tx;
        assert_eq!((i.loss, i.duplicate, i.reorder), (0.05, 0.01, 0.02));
        assert!((i.corrupt - 0.005).abs() < 1e-12);
        assert_eq!(i.delay, Duration::from_millis(10));
        assert_eq!(i.jitter, Duration::from_millis(2));
        assert_eq!(i.rate, 100_000_000);
        assert_eq!(i.queue, 1000);
        assert_eq!(c.seed, 7);
    }

    #[test]
    fn prefixes_pick_a_direction_and_later_fields_override() {
        let c = parse("tx:loss=5%,rx:delay=10ms");
        assert_eq!(c.tx.loss, 0.05);
        assert_eq!(c.rx.loss, 0.0);
        assert_eq!(c.rx.delay, Duration::from_millis(10));
        assert_eq!(c.tx.delay, Duration::ZERO);
        assert_eq!(c.seed, DEFAULT_SEED);
        let c = parse("loss=5%,tx:loss=0");
        assert_eq!((c.tx.loss, c.rx.loss), (0.0, 0.05));
        let c = parse("loss=0.05, burst=1%/25%, tx:burst=2%/50%/50%, queue=64, rate=1.5gbit");
        assert_eq!(
            c.rx.burst,
            Some(Burst {
                enter: 0.01,
                leave: 0.25,
                loss: 1.0
            })
        );
        assert_eq!(
            c.tx.burst,
            Some(Burst {
                enter: 0.02,
                leave: 0.5,
                loss: 0.5
            })
        );
        assert_eq!((c.tx.queue, c.tx.rate), (64, 1_500_000_000));
    }

    #[test]
    fn every_mistake_names_its_field() {
        for (text, field, why) in [
            ("", "", "empty"),
            ("loss=abc", "loss=abc", "percentage"),
            ("loss=5", "loss=5", "fraction from 0 to 1"),
            ("loss=150%", "loss=150%", "percentage"),
            ("delay=10", "delay=10", "duration"),
            ("delay=10ms,jitter=-1ms", "jitter=-1ms", "duration"),
            ("rate=100mbps", "rate=100mbps", "rate such as"),
            ("rate=1bit", "rate=1bit", "from 8bit"),
            ("queue=0", "queue=0", "at least 1"),
            ("burst=1%", "burst=1%", "ENTER/LEAVE"),
            ("burst=1%/0", "burst=1%/0", "never ends"),
            ("tx:seed=3", "tx:seed=3", "both directions"),
            ("up:loss=1%", "up:loss=1%", "unknown direction"),
            ("loss=1%,jitter", "jitter", "NAME=VALUE"),
            ("los=1%", "los=1%", "unknown name `los`"),
            ("seed=-1", "seed=-1", "whole number"),
        ] {
            let e = refused(text);
            assert_eq!(e.field, field, "{text:?}: {e}");
            assert!(e.to_string().contains(why), "{text:?}: {e}");
            assert!(!e.to_string().contains('\n'), "{text:?}: {e}");
        }
    }

    #[test]
    fn display_gives_back_what_parses_to_the_same() {
        for text in [
            "loss=5%,dup=1%,reorder=2%,corrupt=0.5%,delay=10ms,jitter=2ms,rate=100mbit,seed=7",
            "tx:loss=5%,rx:delay=10ms,seed=1",
            "burst=1%/25%/100%,rx:rate=512kbit,queue=50,seed=3",
        ] {
            let c = parse(text);
            assert_eq!(parse(&c.to_string()), c, "{text} -> {c}");
        }
        assert_eq!(FaultConfig::default().to_string(), "none");
        assert_eq!(
            parse("tx:loss=5%,rx:delay=10ms").to_string(),
            "tx:loss=5%,rx:delay=10ms,seed=1"
        );
    }
}

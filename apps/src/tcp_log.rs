//! Where the stack's per-connection TCP events go: `--tcp-log FILE` (one JSON object per
//! line) and `--trace` (a state change as a line among the frames).
//!
//! # The log's format
//!
//! One JSON object per line, one line per event, in the order they happened:
//!
//! ```text
//! {"t":0.012345,"conn":"10.0.0.2:40312>10.0.0.1:80","event":"sent","state":"ESTABLISHED",
//!  "snd_una":1001,"snd_nxt":2449,"cwnd":14480,"ssthresh":null,"srtt_us":180,"rto_ms":200,
//!  "peer_window":65535,"in_flight":1448,"retransmit":false,"sacked":0,
//!  "seq":1001,"len":1448,"flags":"P.","ack":5001}
//! ```
//!
//! (on one line). `t` is seconds since the command started, on the same clock as
//! `--trace`'s times; `conn` is the connection as seen from the stack that logged it
//! (local>remote; with `--driver memory` both ends are ours, and both are logged).
//! `event` is one of `state` (with `from`, the state left), `sent` (with the segment's
//! `seq`, `len`, `flags` and `ack`; `retransmit` says it repeats data sent before),
//! `ack` (SND.UNA moved by `acked` bytes), `recovery` (a loss was found: fast
//! retransmit and recovery begin), `recovery-end`, `rto` (the retransmission timer
//! expired) and `cwnd` (cwnd or ssthresh changed). The other fields are the
//! connection's variables right after the event, named as RFC 9293 names them;
//! `ssthresh` is `null` until the first loss sets it, `srtt_us` until the first RTT
//! sample; `in_flight` is SND.MAX - SND.UNA, SACKed bytes included (`sacked`).
//! `netstack plot` reads this file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant as StdInstant;

use netstack_core::tcp::{ConnEvent, EventKind};

use crate::error::CliError;
use crate::runtime::{Clock, EventSink};

/// The instant every time printed by this process counts from: the first call.
/// Traces of frames and of state changes, and the log, share it.
pub fn epoch() -> StdInstant {
    static EPOCH: OnceLock<StdInstant> = OnceLock::new();
    *EPOCH.get_or_init(StdInstant::now)
}

/// Seconds from [`epoch`] to the stack instant `at` on `clock`.
pub fn seconds(at: netstack_core::Instant, clock: Clock) -> f64 {
    clock
        .to_std(at)
        .map_or(0.0, |t| t.saturating_duration_since(epoch()).as_secs_f64())
}

/// A connection as `tcpdump` prints the ends of a segment: `10.0.0.2.40312 > 10.0.0.1.80`.
fn ends(event: &ConnEvent) -> String {
    format!(
        "{}.{} > {}.{}",
        event.local.ip(),
        event.local.port(),
        event.remote.ip(),
        event.remote.port()
    )
}

/// The `--trace` line for `event`, if it is a state change:
/// `  0.001234 tcp 10.0.0.2.40312 > 10.0.0.1.80: SYN-SENT -> ESTABLISHED`.
pub fn state_line(event: &ConnEvent, t: f64) -> Option<String> {
    let EventKind::State { from } = event.kind else {
        return None;
    };
    Some(format!(
        "{t:10.6} tcp {}: {from} -> {}\n",
        ends(event),
        event.state
    ))
}

/// The `--tcp-log` line for `event` at `t` seconds (see the module docs).
pub fn json_line(event: &ConnEvent, t: f64) -> String {
    let e = event;
    let opt = |v: Option<u64>| v.map_or_else(|| "null".to_string(), |v| v.to_string());
    let ssthresh = (e.ssthresh != usize::MAX).then_some(e.ssthresh as u64);
    let mut line = format!(
        "{{\"t\":{t:.6},\"conn\":\"{}>{}\",\"event\":\"{}\",\"state\":\"{}\",\
         \"snd_una\":{},\"snd_nxt\":{},\"cwnd\":{},\"ssthresh\":{},\"srtt_us\":{},\
         \"rto_ms\":{},\"peer_window\":{},\"in_flight\":{},\"retransmit\":{},\"sacked\":{}",
        e.local,
        e.remote,
        e.kind.name(),
        e.state,
        e.snd_una,
        e.snd_nxt,
        e.cwnd,
        opt(ssthresh),
        opt(e.srtt_us),
        e.rto_ms,
        e.peer_window,
        e.in_flight,
        e.retransmit,
        e.sacked,
    );
    match e.kind {
        EventKind::State { from } => line.push_str(&format!(",\"from\":\"{from}\"")),
        EventKind::Sent {
            seq,
            len,
            flags,
            ack,
        } => line.push_str(&format!(
            ",\"seq\":{seq},\"len\":{len},\"flags\":\"{flags}\",\"ack\":{ack}"
        )),
        EventKind::Acked { acked } => line.push_str(&format!(",\"acked\":{acked}")),
        _ => {}
    }
    line.push_str("}\n");
    line
}

/// A writer several runtimes share (two hosts log to one file), which gives up after its
/// first failure with one warning.
#[derive(Clone)]
struct Shared(Arc<Mutex<Output>>);

struct Output {
    name: String,
    out: Box<dyn Write + Send>,
    failed: bool,
}

impl Shared {
    fn new(name: &str, out: Box<dyn Write + Send>) -> Shared {
        Shared(Arc::new(Mutex::new(Output {
            name: name.to_string(),
            out,
            failed: false,
        })))
    }

    fn write(&self, text: &str) {
        let mut o = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if o.failed {
            return;
        }
        if let Err(e) = o.out.write_all(text.as_bytes()) {
            log::warn!("{} stopped: {e}", o.name);
            o.failed = true;
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Err(e) = self.out.flush() {
            log::warn!("{}: {e}", self.name);
        }
    }
}

/// The outputs one command's runtimes send their events to.
#[derive(Clone, Default)]
pub struct EventOutputs {
    log: Option<Shared>,
    trace: Option<Shared>,
}

impl EventOutputs {
    /// Creates `log` (for `--tcp-log`) and takes `trace` (for `--trace`'s state lines),
    /// either optional.
    pub fn new(log: Option<&Path>, trace: Option<Box<dyn Write + Send>>) -> Result<Self, CliError> {
        let log = match log {
            Some(path) => {
                let file = File::create(path).map_err(|e| {
                    CliError::failure(format!("cannot create {}: {e}", path.display()))
                })?;
                Some(Shared::new(
                    &format!("--tcp-log {}", path.display()),
                    Box::new(BufWriter::new(file)),
                ))
            }
            None => None,
        };
        let trace = trace.map(|out| Shared::new("the trace of state changes", out));
        // Start the clock now, before any runtime, so no time is negative.
        epoch();
        Ok(EventOutputs { log, trace })
    }

    /// The outputs of the options: `--tcp-log`, and `--trace` on stderr.
    pub fn from_options(net: &crate::cli::NetOptions) -> Result<Self, CliError> {
        let trace = net
            .trace
            .then(|| Box::new(io::stderr()) as Box<dyn Write + Send>);
        EventOutputs::new(net.tcp_log.as_deref(), trace)
    }

    /// The same log, with state changes traced to `out` instead (`demo` prints each
    /// host's after its letter).
    pub fn with_trace(&self, out: Box<dyn Write + Send>) -> EventOutputs {
        EventOutputs {
            log: self.log.clone(),
            trace: Some(Shared::new("the trace of state changes", out)),
        }
    }

    /// True when some output wants events.
    pub fn wanted(&self) -> bool {
        self.log.is_some() || self.trace.is_some()
    }

    /// A sink for one runtime, or `None` when nothing wants events.
    pub fn sink(&self) -> Option<EventSink> {
        if !self.wanted() {
            return None;
        }
        let outputs = self.clone();
        Some(Box::new(move |event: &ConnEvent, clock: Clock| {
            let t = seconds(event.at, clock);
            if let Some(log) = &outputs.log {
                log.write(&json_line(event, t));
            }
            if let (Some(trace), Some(line)) = (&outputs.trace, state_line(event, t)) {
                trace.write(&line);
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netstack_core::{Instant, TcpState};

    fn event(kind: EventKind) -> ConnEvent {
        ConnEvent {
            at: Instant::ZERO,
            local: "10.0.0.2:40312".parse().unwrap(),
            remote: "10.0.0.1:80".parse().unwrap(),
            kind,
            state: TcpState::Established,
            snd_una: 1001,
            snd_nxt: 2449,
            cwnd: 14480,
            ssthresh: usize::MAX,
            srtt_us: None,
            rto_ms: 1000,
            peer_window: 65535,
            in_flight: 1448,
            retransmit: false,
            sacked: 0,
        }
    }

    #[test]
    fn a_state_change_is_a_trace_line_and_a_json_object() {
        let e = event(EventKind::State {
            from: TcpState::SynSent,
        });
        assert_eq!(
            state_line(&e, 0.25).unwrap(),
            "  0.250000 tcp 10.0.0.2.40312 > 10.0.0.1.80: SYN-SENT -> ESTABLISHED\n"
        );
        assert_eq!(
            json_line(&e, 0.25),
            "{\"t\":0.250000,\"conn\":\"10.0.0.2:40312>10.0.0.1:80\",\"event\":\"state\",\
             \"state\":\"ESTABLISHED\",\"snd_una\":1001,\"snd_nxt\":2449,\"cwnd\":14480,\
             \"ssthresh\":null,\"srtt_us\":null,\"rto_ms\":1000,\"peer_window\":65535,\
             \"in_flight\":1448,\"retransmit\":false,\"sacked\":0,\"from\":\"SYN-SENT\"}\n"
        );
    }

    #[test]
    fn a_segment_carries_its_numbers() {
        let e = event(EventKind::Sent {
            seq: 1001,
            len: 1448,
            flags: netstack_core::wire::tcp::Flags::ACK,
            ack: 5001,
        });
        assert!(state_line(&e, 0.0).is_none());
        assert!(json_line(&e, 0.0)
            .ends_with(",\"seq\":1001,\"len\":1448,\"flags\":\".\",\"ack\":5001}\n"));
    }
}

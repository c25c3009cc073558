//! A ping session: echo requests sent through a runtime [`Handle`], replies printed as
//! iputils' `ping` prints them. Used by `netstack ping` and by the demo.
//!
//! Like ping(8), it works on an ICMP raw socket ([`RawSocket`]): it builds each echo
//! request itself and reads every ICMP datagram the stack received, IPv4 header
//! included, keeping the echo replies that carry its identifier.
//!
//! The session runs on the caller's thread and waits with [`Handle::wait_until`], so a
//! reply is printed as soon as the event loop has received it, and Ctrl-C (a flag plus
//! [`Handle::notify_waiters`]) ends it at once.

pub mod payload;
pub mod stats;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant as StdInstant, SystemTime};

use netstack_core::wire::ipv4::protocol;
use netstack_core::wire::{icmp, IcmpRepr, Ipv4Repr};
use netstack_core::{Counters, EchoReply, SocketHandle, Stack, TxDrop};

use crate::net::RawSocket;

use crate::runtime::Handle;
use stats::{format_rtt, Statistics};

/// Bytes an echo request adds to its data: 20 of IPv4 header and 8 of ICMP header.
pub const HEADERS_LEN: usize = 28;

/// Sequence numbers remembered as "sent, not answered" for error reports; older ones
/// are forgotten so a host that never answers cannot grow the list forever.
const MAX_OUTSTANDING: usize = 1024;

/// What to ping and how, as ping(8)'s options say.
#[derive(Clone, Debug, PartialEq)]
pub struct PingOptions {
    /// Whom to ping.
    pub destination: Ipv4Addr,
    /// Stop after this many replies (`-c`); `None` pings until interrupted.
    pub count: Option<u32>,
    /// Bytes of data per request (`-s`, 56 by default).
    pub size: usize,
    /// Time between requests (`-i`, 1 s by default).
    pub interval: Duration,
    /// With `count`, how long to wait after the last request when nothing has been
    /// answered at all (`-W`, 10 s by default). Once replies have come, the wait is
    /// twice the longest round trip, at least `interval`, as in iputils.
    pub linger: Duration,
    /// Print only the summary (`-q`).
    pub quiet: bool,
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `count` replies came, or the wait after the last request ran out.
    Finished,
    /// The stop flag was raised (Ctrl-C).
    Interrupted,
    /// The runtime's event loop stopped (see [`Handle::error`]).
    RuntimeStopped,
}

/// The result of a session that ran.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// What was sent and received.
    pub stats: Statistics,
    /// Why it stopped.
    pub ending: Ending,
}

/// Why a session could not start.
#[derive(Debug)]
pub enum PingFailure {
    /// The stack refused the ICMP raw socket.
    Open(io::Error),
    /// The first request could not be sent (no route, a destination we cannot use):
    /// nothing was printed, as ping(8) fails on connect() before its header.
    Send(io::Error),
    /// Writing the output failed (a closed pipe).
    Output(io::Error),
}

/// One thing that happened while waiting.
enum Event {
    Reply(EchoReply),
    Lost(Lost),
    Stop,
}

/// Requests the stack reported dropped since the last look, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Lost {
    /// Next hop did not answer ARP: the kernel would report "Destination Host
    /// Unreachable" for each.
    unresolved: u64,
    /// Pushed out of the queue of packets waiting for ARP: lost silently, as in Linux.
    queue_full: u64,
}

/// Watches the stack's ARP drop counters, so drops can be matched to our requests.
#[derive(Clone, Copy, Debug, Default)]
struct DropWatch {
    unresolved: u64,
    queue_full: u64,
}

impl DropWatch {
    fn new(counters: &Counters) -> DropWatch {
        DropWatch {
            unresolved: counters.tx_dropped(TxDrop::ArpUnresolved),
            queue_full: counters.tx_dropped(TxDrop::ArpQueueFull),
        }
    }

    /// Drops since the last call.
    fn update(&mut self, counters: &Counters) -> Lost {
        let now = DropWatch::new(counters);
        let lost = Lost {
            unresolved: now.unresolved - self.unresolved,
            queue_full: now.queue_full - self.queue_full,
        };
        *self = now;
        lost
    }
}

/// A ping in progress. Create with [`Session::start`], run with [`Session::run`].
pub struct Session<'a> {
    handle: &'a Handle,
    options: PingOptions,
    socket: RawSocket,
    ident: u16,
    our_addr: Ipv4Addr,
    stats: Statistics,
    /// When each sequence number was last sent, on the runtime's clock.
    sent: HashMap<u16, netstack_core::Instant>,
    /// Sequence numbers answered (to spot duplicates).
    answered: HashSet<u16>,
    /// Sent, unanswered, not reported lost; oldest first.
    outstanding: VecDeque<u16>,
    drops: DropWatch,
    started: StdInstant,
    /// The last request, reply or error: the end of iputils' "time".
    last_event: StdInstant,
}

impl<'a> Session<'a> {
    /// Opens an ICMP raw socket, picks an identifier (random, from the stack's seeded
    /// generator) and sends the first request. Prints nothing: on success,
    /// [`run`](Session::run) prints the header.
    pub fn start(handle: &'a Handle, options: PingOptions) -> Result<Session<'a>, PingFailure> {
        let socket = RawSocket::new(handle, protocol::ICMP).map_err(PingFailure::Open)?;
        let (ident, our_addr, drops) = handle.with_stack(|stack, _| {
            // Any 16 bits of the random number will do.
            let ident = stack.random_u32() as u16;
            (
                ident,
                stack.config().addr,
                DropWatch::new(&stack.counters()),
            )
        });
        let mut session = Session {
            handle,
            options,
            socket,
            ident,
            our_addr,
            stats: Statistics::default(),
            sent: HashMap::new(),
            answered: HashSet::new(),
            outstanding: VecDeque::new(),
            drops,
            started: StdInstant::now(),
            last_event: StdInstant::now(),
        };
        let mut no_output = io::sink();
        session.send_next(&mut no_output)?;
        Ok(session)
    }

    /// The ICMP identifier in use.
    pub fn ident(&self) -> u16 {
        self.ident
    }

    /// Prints the header, then replies as they come, until the session ends; then the
    /// statistics. Raise `stop` and call [`Handle::notify_waiters`] to end it early.
    pub fn run(mut self, out: &mut dyn Write, stop: &AtomicBool) -> Result<Outcome, PingFailure> {
        let ending = self.run_inner(out, stop)?;
        let host = self.options.destination.to_string();
        let elapsed = self.last_event.saturating_duration_since(self.started);
        out.write_all(self.stats.summary(&host, elapsed).as_bytes())
            .map_err(PingFailure::Output)?;
        out.flush().map_err(PingFailure::Output)?;
        Ok(Outcome {
            stats: self.stats,
            ending,
        })
    }

    fn run_inner(&mut self, out: &mut dyn Write, stop: &AtomicBool) -> Result<Ending, PingFailure> {
        let dst = self.options.destination;
        let size = self.options.size;
        writeln!(
            out,
            "PING {dst} ({dst}) {size}({}) bytes of data.",
            size + HEADERS_LEN
        )
        .map_err(PingFailure::Output)?;
        let mut next_send = StdInstant::now() + self.options.interval;
        let mut exit_at = self.exit_time_if_done();
        loop {
            let now = StdInstant::now();
            if let Some(count) = self.options.count {
                if self.stats.received + self.stats.errors >= u64::from(count) {
                    return Ok(Ending::Finished);
                }
            }
            if exit_at.is_some_and(|t| now >= t) {
                return Ok(Ending::Finished);
            }
            if exit_at.is_none() && now >= next_send {
                self.send_next(out)?;
                next_send = now + self.options.interval;
                exit_at = self.exit_time_if_done();
                continue;
            }
            let wake = exit_at.unwrap_or(next_send);
            let (ident, drops) = (self.ident, &mut self.drops);
            let socket = self.socket.handle();
            // Replies already received count even when Ctrl-C comes with them.
            let event = self.handle.wait_until(Some(wake), |stack| {
                if let Some(reply) = next_reply(stack, socket, ident) {
                    return Some(Event::Reply(reply));
                }
                let lost = drops.update(&stack.counters());
                if lost != Lost::default() {
                    return Some(Event::Lost(lost));
                }
                stop.load(Ordering::Acquire).then_some(Event::Stop)
            });
            match event {
                Some(Event::Reply(reply)) => self.on_reply(reply, out)?,
                Some(Event::Lost(lost)) => self.on_lost(lost, out)?,
                Some(Event::Stop) => return Ok(Ending::Interrupted),
                None if !self.handle.is_running() => return Ok(Ending::RuntimeStopped),
                None => {}
            }
        }
    }

    /// After the last of `count` requests: when to give up waiting (iputils'
    /// `schedule_exit`).
    fn exit_time_if_done(&self) -> Option<StdInstant> {
        let count = self.options.count?;
        if self.stats.transmitted < u64::from(count) {
            return None;
        }
        let wait = if self.stats.received > 0 {
            (self.stats.max_rtt() * 2).max(self.options.interval)
        } else {
            self.options.linger
        };
        Some(StdInstant::now() + wait)
    }

    /// Sends the next request; sequence numbers start at 1.
    fn send_next(&mut self, out: &mut dyn Write) -> Result<(), PingFailure> {
        // Truncated to 16 bits on purpose: sequence numbers wrap, as in iputils.
        let seq = (self.stats.transmitted + 1) as u16;
        let data = payload::build(self.options.size, SystemTime::now());
        let (dst, ident) = (self.options.destination, self.ident);
        let mut request = vec![0; icmp::HEADER_LEN + data.len()];
        IcmpRepr::EchoRequest { ident, seq }.emit(&data, &mut request);
        let sent_at = self.handle.now();
        let result = self.socket.send_to(&request, dst).map(|_| sent_at);
        let lost = self
            .handle
            .with_stack(|stack, _| self.drops.update(&stack.counters()));
        match result {
            Ok(sent_at) => {
                self.sent.insert(seq, sent_at);
                self.answered.remove(&seq);
                if self.outstanding.len() >= MAX_OUTSTANDING {
                    self.outstanding.pop_front();
                }
                self.outstanding.push_back(seq);
            }
            // Before the header: the caller reports it as a setup error.
            Err(err) if self.stats.transmitted == 0 => {
                let named = io::Error::new(err.kind(), format!("cannot send to {dst}: {err}"));
                return Err(PingFailure::Send(named));
            }
            Err(err) => {
                log::warn!("icmp_seq={seq}: {err}");
                self.stats.errors += 1;
            }
        }
        self.stats.transmitted += 1;
        self.last_event = StdInstant::now();
        self.on_lost(lost, out)
    }

    fn on_reply(&mut self, reply: EchoReply, out: &mut dyn Write) -> Result<(), PingFailure> {
        let Some(&sent_at) = self.sent.get(&reply.seq) else {
            log::debug!("echo reply with icmp_seq={} we never sent", reply.seq);
            return Ok(());
        };
        let rtt: Duration = reply.received_at.saturating_since(sent_at).into();
        self.last_event = StdInstant::now();
        self.stats.acknowledge(reply.seq);
        let duplicate = !self.answered.insert(reply.seq);
        if duplicate {
            self.stats.duplicates += 1;
        } else {
            self.stats.received += 1;
            self.outstanding.retain(|&s| s != reply.seq);
        }
        let size = self.options.size;
        let timing = size >= payload::TIMESTAMP_LEN;
        if timing && reply.payload.len() >= payload::TIMESTAMP_LEN {
            self.stats.record_rtt(rtt);
        }
        if self.options.quiet {
            return Ok(());
        }
        let mut line = format!(
            "{} bytes from {}: icmp_seq={} ttl={}",
            reply.payload.len() + 8,
            reply.from,
            reply.seq,
            reply.ttl
        );
        if reply.payload.len() < size {
            line.push_str(" (truncated)");
        } else {
            if timing {
                line.push_str(&format!(" time={} ms", format_rtt(rtt)));
            }
            if duplicate {
                line.push_str(" (DUP!)");
            }
            if let Some(wrong) = payload::check(size, &reply.payload) {
                line.push_str(&payload::describe_mismatch(&wrong, size, &reply.payload));
            }
        }
        writeln!(out, "{line}").map_err(PingFailure::Output)
    }

    /// Matches drops reported by the stack to our oldest outstanding requests.
    fn on_lost(&mut self, lost: Lost, out: &mut dyn Write) -> Result<(), PingFailure> {
        for _ in 0..lost.queue_full {
            self.outstanding.pop_front();
        }
        for _ in 0..lost.unresolved {
            let Some(seq) = self.outstanding.pop_front() else {
                break;
            };
            self.stats.errors += 1;
            self.stats.acknowledge(seq);
            self.last_event = StdInstant::now();
            if !self.options.quiet {
                writeln!(
                    out,
                    "From {} icmp_seq={seq} Destination Host Unreachable",
                    self.our_addr
                )
                .map_err(PingFailure::Output)?;
            }
        }
        Ok(())
    }
}

/// The next echo reply for `ident` on the ICMP raw socket `socket`, skipping every other
/// datagram it received (requests, other pingers' replies, errors), as ping(8) does.
fn next_reply(stack: &mut Stack, socket: SocketHandle, ident: u16) -> Option<EchoReply> {
    while let Ok(Some(d)) = stack.raw().recv(socket) {
        // The stack checked header and length before copying; parse again regardless.
        let Ok((ip, body)) = Ipv4Repr::parse(&d.data) else {
            continue;
        };
        match IcmpRepr::parse(body) {
            Ok((IcmpRepr::EchoReply { ident: id, seq }, data)) if id == ident => {
                return Some(EchoReply {
                    from: ip.src,
                    ident,
                    seq,
                    ttl: ip.ttl,
                    payload: data.to_vec(),
                    received_at: d.received_at,
                });
            }
            _ => continue,
        }
    }
    None
}

impl fmt::Display for PingFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PingFailure::Open(err) => write!(f, "cannot start ping: {err}"),
            PingFailure::Send(err) => write!(f, "cannot ping: {err}"),
            PingFailure::Output(err) => write!(f, "cannot write output: {err}"),
        }
    }
}

impl std::error::Error for PingFailure {}

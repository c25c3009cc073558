//! netstack running on one end of a lab link, driven by `netstack::runtime`.
//!
//! [`Netstack::start`] hands the stack and the device to a runtime (its event loop runs
//! on a thread of its own); the test thread reaches the stack with
//! [`Netstack::with_stack`] and waits for conditions on it with [`Netstack::wait_for`],
//! which fails the test with the stack's counters, its ARP table and the kernel's after
//! [`TIMEOUT`].

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Instant as StdInstant;

use netstack::runtime::{Handle, Runtime};
use netstack_core::{Config, EchoReply, Stack};
use netstack_drivers::{Batch, Device};

use super::{echo_payload, kernel_neighbours, TIMEOUT};

/// The seed of every stack in these tests, so a failure replays the same choices.
pub const SEED: u64 = 0x6e65_7473_7461_636b;

/// A running netstack. Dropping it stops the event loop and closes the device.
pub struct Netstack {
    runtime: Option<Runtime>,
    handle: Handle,
}

impl Netstack {
    /// Starts a stack with `Config::default()` (10.0.0.2/24, gateway 10.0.0.1, MAC
    /// 02:00:00:00:00:02) and [`SEED`] on `device`.
    #[track_caller]
    pub fn start<D: Device + 'static>(device: D) -> Netstack {
        Netstack::start_with(device, Config::default())
    }

    /// Starts a stack with `config` and [`SEED`] on `device`, with TSO if the device
    /// offers it (as `netstack serve` does).
    #[track_caller]
    pub fn start_with<D: Device + 'static>(device: D, config: Config) -> Netstack {
        Netstack::start_batched(device, config, Batch::On)
    }

    /// Like [`start_with`](Netstack::start_with), the event loop reading up to a batch
    /// of frames per wake-up ([`Batch::On`], as always elsewhere) or one.
    #[track_caller]
    pub fn start_batched<D: Device + 'static>(
        device: D,
        mut config: Config,
        batch: Batch,
    ) -> Netstack {
        config.tcp.tso = device.offloads().tso;
        let stack = Stack::new(config, SEED).expect("a valid config");
        let runtime = Runtime::spawn_with(stack, device, batch)
            .unwrap_or_else(|e| panic!("cannot start the runtime: {e}"));
        Netstack {
            handle: runtime.handle(),
            runtime: Some(runtime),
        }
    }

    /// The runtime's handle, for the socket facade (`netstack::net::UdpSocket::bind(net.handle(), ..)`).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `f` on the locked stack with the current time; frames it queues are sent
    /// at once.
    pub fn with_stack<R>(&self, f: impl FnOnce(&mut Stack, netstack_core::Instant) -> R) -> R {
        self.handle.with_stack(f)
    }

    /// Waits until `ready` returns `Some` (checked after every event loop round) and
    /// returns it. After [`TIMEOUT`], or if the event loop stops, fails the test naming
    /// `what` and showing the stack's counters and both ARP tables.
    #[track_caller]
    pub fn wait_for<R>(&self, what: &str, ready: impl FnMut(&mut Stack) -> Option<R>) -> R {
        let deadline = StdInstant::now() + TIMEOUT;
        if let Some(r) = self.handle.wait_until(Some(deadline), ready) {
            return r;
        }
        let why = match self.handle.error() {
            Some(e) => format!("the event loop stopped: {e}"),
            None if !self.handle.is_running() => "the event loop stopped".to_string(),
            None => format!("timed out after {TIMEOUT:?}"),
        };
        panic!(
            "{why} waiting for {what}\n{}kernel neighbours:\n{}",
            self.describe(),
            kernel_neighbours()
        );
    }

    /// netstack pings `dst`: `count` echo requests with `payload_len` bytes of data, one
    /// at a time, each answered before the next is sent. Checks every reply's source,
    /// sequence number and data, and returns them.
    #[track_caller]
    pub fn ping(&self, dst: Ipv4Addr, count: u16, payload_len: usize) -> Vec<EchoReply> {
        let ident = 0x4e53; // "NS"
        self.with_stack(|stack, _| stack.ping().open(ident))
            .unwrap_or_else(|e| panic!("ping_open: {e}"));
        let mut replies = Vec::new();
        for seq in 1..=count {
            let payload = echo_payload(payload_len, seq);
            self.with_stack(|stack, now| stack.ping().send_request(now, dst, ident, seq, &payload))
                .unwrap_or_else(|e| panic!("send_echo_request to {dst}: {e}"));
            let reply = self.wait_for(&format!("echo reply seq {seq} from {dst}"), |stack| {
                stack.ping().poll_reply(ident)
            });
            assert_eq!(
                (reply.from, reply.ident, reply.seq),
                (dst, ident, seq),
                "unexpected echo reply {reply:?}"
            );
            assert!(reply.payload == payload, "seq {seq}: echoed data differs");
            replies.push(reply);
        }
        self.with_stack(|stack, _| stack.ping().close(ident));
        replies
    }

    /// The stack's counters, ARP table and so on, for failure messages.
    pub fn describe(&self) -> String {
        self.handle.with_stack(|stack, _| describe(stack))
    }

    /// Stops the event loop and closes the device (a `Pcap` wrapper closes its file).
    /// Fails the test if the loop had stopped on its own (device failure, panic).
    #[track_caller]
    pub fn stop(mut self) {
        let runtime = self.runtime.take().expect("stopped only once");
        if let Err(e) = runtime.shutdown() {
            panic!("the event loop had stopped on its own: {e}");
        }
    }
}

/// Counters with named drop reasons and the ARP table, one item per line.
pub fn describe(stack: &Stack) -> String {
    let c = stack.counters();
    let mut out = format!(
        "netstack counters: rx_frames={} rx_accepted={} tx_frames={} arp_requests_sent={} \
         arp_replies_sent={} icmp_echo_replies_sent={} icmp_echo_requests_sent={} \
         icmp_echo_replies_received={} icmp_errors_sent={} ipv4_reassembled={} \
         ipv4_fragmented={} udp_datagrams_received={} udp_datagrams_sent={}\n",
        c.rx_frames,
        c.rx_accepted,
        c.tx_frames,
        c.arp_requests_sent,
        c.arp_replies_sent,
        c.icmp_echo_replies_sent,
        c.icmp_echo_requests_sent,
        c.icmp_echo_replies_received,
        c.icmp_errors_sent,
        c.ipv4_reassembled,
        c.ipv4_fragmented,
        c.udp_datagrams_received,
        c.udp_datagrams_sent,
    );
    for (reason, n) in c.rx_drops() {
        let _ = writeln!(out, "  rx dropped {reason}: {n}");
    }
    for (reason, n) in c.tx_drops() {
        let _ = writeln!(out, "  tx dropped {reason}: {n}");
    }
    out.push_str("netstack ARP table:\n");
    for e in stack.arp_entries() {
        let mac = e.mac.map_or("-".to_string(), |m| m.to_string());
        let _ = writeln!(out, "  {} {mac} {}", e.ip, e.state);
    }
    out
}

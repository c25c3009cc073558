//! The [`Stack`]: one IPv4 host on one Ethernet link, composed of its layers, and its four
//! sans-IO entry points.
//!
//! Each layer owns its state; the stack only routes between them. A received frame goes
//! down one chain, each step a function of its own layer:
//!
//! ```text
//! receive ─ Ethernet checks (here)
//!   ├─ ARP  ─ Outbound::receive_arp      (outbound/link.rs: learn, answer)
//!   └─ IPv4 ─ Ipv4::receive              (ipv4.rs: checks, reassembly)
//!               └─ dispatch (here) by protocol:
//!                    ICMP ─ Icmp::receive    (icmp/mod.rs; errors go on to UDP or TCP)
//!                    UDP  ─ Udp::receive     (udp/mod.rs)
//!                    TCP  ─ Tcp::receive     (tcp/demux.rs)
//!                  (before which raw sockets of its protocol get a copy: raw/mod.rs)
//! ```
//!
//! Whatever a layer sends goes through the one [`Outbound`] it is handed, which routes,
//! resolves and queues it for [`Stack::transmit`].

use log::debug;

use crate::arp::EntryInfo;
use crate::coalesce::{self, Ended, Flows};
use crate::config::{Config, ConfigError};
use crate::counters::{Counters, RxDrop};
use crate::icmp::errors::ErrorReport;
use crate::icmp::ping::Ping;
use crate::icmp::Icmp;
use crate::ipv4::Ipv4;
use crate::outbound::{Origin, Outbound, TxOffload};
use crate::raw::api::RawSockets;
use crate::raw::Raw;
use crate::rng::Rng;
use crate::socket::ports::PortAllocator;
use crate::socket::SocketHandle;
use crate::tcp::api::TcpSockets;
use crate::tcp::events::ConnEvent;
use crate::tcp::layer::Tcp;
use crate::time::Instant;
use crate::udp::api::UdpSockets;
use crate::udp::Udp;
use crate::wire::ipv4::protocol;
use crate::wire::{self, EtherType, EthernetRepr, IcmpRepr};

/// What the stack itself counts: frames in, and why those it refused were dropped.
#[derive(Clone, Copy, Debug)]
struct RxCounters {
    frames: u64,
    bytes: u64,
    accepted: u64,
    /// Frames joined onto the segment before them by the receive coalescer.
    coalesced: u64,
    drops: [u64; RxDrop::COUNT],
}

/// A frame for [`Stack::receive_batch`]: when it arrived, its bytes, and whether the link
/// verified its TCP or UDP checksum already (receive checksum offload: a virtio-net
/// header's `NEEDS_CSUM` or `DATA_VALID`, a packet socket's `TP_STATUS_CSUM_VALID`). A
/// frame the link vouched for is not summed again; its checksum field may then hold
/// only a partial sum, as the kernel left it.
#[derive(Clone, Copy, Debug)]
pub struct Received<'a> {
    /// When it arrived.
    pub at: Instant,
    /// The Ethernet frame, without FCS.
    pub frame: &'a [u8],
    /// The link verified (or, for a frame from the kernel's own stack, never needed to
    /// verify) its TCP or UDP checksum.
    pub checksum_valid: bool,
}

impl<'a> From<(Instant, &'a [u8])> for Received<'a> {
    /// A frame the link says nothing about: every checksum is verified.
    fn from((at, frame): (Instant, &'a [u8])) -> Received<'a> {
        Received {
            at,
            frame,
            checksum_valid: false,
        }
    }
}

/// One IPv4 host on one Ethernet link. See the [crate docs](crate) for how to drive it.
#[derive(Debug)]
pub struct Stack {
    rng: Rng,
    /// The way out, shared by every layer: routing, ICMP errors, ARP, the transmit queue.
    out: Outbound,
    ipv4: Ipv4,
    icmp: Icmp,
    udp: Udp,
    tcp: Tcp,
    raw: Raw,
    rx: RxCounters,
    /// Where the receive coalescer joins segments, one buffer per connection it joins
    /// at once, kept from batch to batch.
    joined: Vec<Vec<u8>>,
}

impl Stack {
    /// A stack with the given configuration. Every random choice it makes derives from
    /// `seed`: pass a value from the OS in production and a fixed one in tests.
    pub fn new(config: Config, seed: u64) -> Result<Stack, ConfigError> {
        config.validate()?;
        let mut rng = Rng::new(seed);
        let out = Outbound::new(config.clone(), &mut rng);
        // One keyed allocator, copied for each protocol: the ports of UDP and TCP are
        // separate spaces (RFC 6056 works per protocol).
        let ports = PortAllocator::new(config.ephemeral_ports.clone(), &mut rng);
        let udp = Udp::new(&config, ports.clone());
        let tcp = Tcp::new(config.tcp.clone(), config.max_sockets, ports, &mut rng);
        Ok(Stack {
            ipv4: Ipv4::new(config.reassembly.clone()),
            icmp: Icmp::default(),
            raw: Raw::new(&config),
            udp,
            tcp,
            out,
            rng,
            joined: Vec::new(),
            rx: RxCounters {
                frames: 0,
                bytes: 0,
                accepted: 0,
                coalesced: 0,
                drops: [0; RxDrop::COUNT],
            },
        })
    }

    /// Processes one Ethernet frame (without FCS) that arrived at `now`.
    ///
    /// Never panics, whatever the bytes: a frame is either accepted or dropped and
    /// counted under an [`RxDrop`] reason. Replies are queued for [`Stack::transmit`].
    pub fn receive(&mut self, now: Instant, frame: &[u8]) {
        self.receive_frames(now, frame, false, 1, frame.len() as u64);
    }

    /// Processes a batch of frames, each with the time it arrived (a
    /// `(Instant, &[u8])` pair, or a [`Received`] that also says whether the link
    /// verified its checksum), as [`receive`](Stack::receive) would one by one, except
    /// that consecutive in-order TCP segments of one connection are first joined into
    /// one segment (receive coalescing, a software GRO: see [`coalesce`](crate::coalesce)
    /// for the rules), and that TCP sends what the batch made it decide once the whole
    /// batch is read: one ACK for a batch of data, one large segment for a batch of ACKs
    /// that opened the window. Counters still count each frame. With
    /// [`Config::rx_coalesce`] off, frames are received one by one, as by `receive`.
    pub fn receive_batch<'a, F: Into<Received<'a>>>(
        &mut self,
        frames: impl IntoIterator<Item = F>,
    ) {
        let config = self.out.config();
        let (mac, addr, coalesce) = (config.mac, config.addr, config.rx_coalesce);
        let mut bufs = core::mem::take(&mut self.joined);
        bufs.resize_with(coalesce::FLOWS, Vec::new);
        let mut flows = Flows::new();
        // Held here unless the caller holds output already (`hold_output`).
        let holding = coalesce && self.tcp.hold_output();
        let mut last = None;
        for f in frames {
            let Received {
                at,
                frame,
                checksum_valid,
            } = f.into();
            last = Some(at);
            let piece = coalesce
                .then(|| coalesce::piece(frame, mac, addr, checksum_valid))
                .flatten();
            let Some(piece) = piece else {
                // Its connection's segments so far go first; a frame that is not TCP
                // (ARP, ICMP) waits for every connection's.
                match coalesce::flow(frame) {
                    Some(flow) => {
                        let ended = flows.end_flow(&flow);
                        self.end_run(ended, &mut bufs);
                    }
                    None => self.end_all_runs(&mut flows, &mut bufs),
                }
                self.receive_frames(at, frame, checksum_valid, 1, frame.len() as u64);
                continue;
            };
            let ended = flows.add(piece, at, &mut bufs);
            self.end_run(ended, &mut bufs);
        }
        self.end_all_runs(&mut flows, &mut bufs);
        self.joined = bufs;
        if holding {
            // An empty batch held nothing, so any time will do.
            self.tcp
                .release_output(last.unwrap_or(Instant::ZERO), &mut self.out);
        }
    }

    /// Ends every run, oldest first.
    fn end_all_runs(&mut self, flows: &mut Flows<'_>, bufs: &mut [Vec<u8>]) {
        while let Some(ended) = flows.end_oldest() {
            self.end_run(Some(ended), bufs);
        }
    }

    /// Hands a run of joined segments to the stack: its one piece as it came, or the
    /// segment joined in its slot's buffer.
    fn end_run(&mut self, ended: Option<Ended<'_>>, bufs: &mut [Vec<u8>]) {
        let Some((slot, run, at)) = ended else { return };
        let buf = &mut bufs[slot];
        if run.pieces() == 1 {
            let frame = run.first().frame;
            self.receive_frames(at, frame, true, 1, frame.len() as u64);
        } else {
            run.finish(buf);
            self.rx.coalesced += run.pieces() - 1;
            self.receive_frames(at, buf, true, run.pieces(), run.wire_bytes());
        }
    }

    /// Processes `frame`, which stands for `pieces` frames of `bytes` bytes on the wire.
    fn receive_frames(
        &mut self,
        now: Instant,
        frame: &[u8],
        checksum_verified: bool,
        pieces: u64,
        bytes: u64,
    ) {
        self.rx.frames += pieces;
        self.rx.bytes += bytes;
        match self.receive_ethernet(now, frame, checksum_verified) {
            Ok(()) => self.rx.accepted += pieces,
            Err(reason) => {
                debug!("drop {reason}: {}", wire::describe::describe(frame));
                self.rx.drops[reason as usize] += pieces;
            }
        }
    }

    /// Until [`release_output`](Stack::release_output), TCP connections send nothing:
    /// what received segments and the application's sends and reads make them decide
    /// goes out at the release, one connection after another. A driver loop holds
    /// output while its application code runs, so that what is written in pieces
    /// leaves as one large segment, as Linux's autocorking does ([`receive_batch`]
    /// holds by itself). Timers, the other socket calls (close, shutdown ...) and what
    /// is not TCP send as usual. Nothing is lost, only delayed to the release.
    ///
    /// [`receive_batch`]: Stack::receive_batch
    pub fn hold_output(&mut self) {
        self.tcp.hold_output();
    }

    /// Ends [`hold_output`](Stack::hold_output): every connection that was held sends
    /// what it decided, as at `now`. Harmless without a hold.
    pub fn release_output(&mut self, now: Instant) {
        self.tcp.release_output(now, &mut self.out);
    }

    /// Runs every timer due at `now` (TCP, reassembly, ARP). Harmless to call early.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.ipv4.handle_timeout(now, &mut self.out);
        self.tcp.handle_timeout(now, &mut self.out);
        self.out.handle_timeout(now);
    }

    /// When [`Stack::handle_timeout`] next has work, if nothing arrives before then.
    /// `None` means no timer is running. Frames already queued are not a timer: call
    /// [`Stack::transmit`] after every `receive`/`handle_timeout`/socket call.
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Connections held back by a full transmit queue are due once it has room again,
        // not before: a driver waiting for its device would otherwise spin.
        let room = self.out.transmit_room() > 0;
        let timers = [
            self.out.poll_timeout(),
            self.ipv4.poll_timeout(),
            self.tcp.poll_timeout(room),
        ];
        timers.into_iter().flatten().min()
    }

    /// Hands every frame waiting to be sent to `emit`, oldest first, and returns how
    /// many there were.
    pub fn transmit(&mut self, mut emit: impl FnMut(&[u8])) -> usize {
        self.out.transmit_while(|frame, _| {
            emit(frame);
            true
        })
    }

    /// Like [`Stack::transmit`] for a driver whose device can be full: hands frames to
    /// `emit`, oldest first, while it returns true. The frame it refuses, and those
    /// behind it, stay queued for the next call (the queue is bounded: past it new
    /// datagrams are dropped and counted, and TCP waits, see
    /// [`outbound::TCP_LIMIT`](crate::outbound::TCP_LIMIT)). Returns how many it took.
    ///
    /// With [`TcpConfig::tso`](crate::TcpConfig::tso) on, use
    /// [`transmit_offloaded`](Stack::transmit_offloaded) instead: this hands over TSO
    /// frames without saying so.
    pub fn transmit_while(&mut self, mut emit: impl FnMut(&[u8]) -> bool) -> usize {
        self.out.transmit_while(|frame, _| emit(frame))
    }

    /// Like [`transmit_while`](Stack::transmit_while), for a link that segments TCP and
    /// completes checksums for us ([`TcpConfig::tso`](crate::TcpConfig::tso) on): each
    /// frame comes with the work it leaves to the link, `None` for a finished frame.
    pub fn transmit_offloaded(
        &mut self,
        emit: impl FnMut(&[u8], Option<&TxOffload>) -> bool,
    ) -> usize {
        self.out.transmit_while(emit)
    }

    /// Frames waiting for [`Stack::transmit`].
    pub fn pending_transmit(&self) -> usize {
        self.out.pending_transmit()
    }

    /// The TCP socket calls: listen, accept, connect, send, recv, close ...
    pub fn tcp(&mut self) -> TcpSockets<'_> {
        TcpSockets::new(&mut self.tcp, &mut self.out)
    }

    /// The UDP socket calls: bind, connect, send_to, recv_from, close ...
    pub fn udp(&mut self) -> UdpSockets<'_> {
        UdpSockets::new(&mut self.udp, &mut self.out)
    }

    /// The raw IP socket calls: open for a protocol, send with or without a header,
    /// receive whole datagrams.
    pub fn raw(&mut self) -> RawSockets<'_> {
        RawSockets::new(&mut self.raw, &mut self.out)
    }

    /// The ping calls: open an ICMP identifier, send echo requests, read replies.
    pub fn ping(&mut self) -> Ping<'_> {
        Ping::new(&mut self.icmp, &mut self.out)
    }

    /// Moves into `out` the sockets whose readiness (data, room, connection state, an
    /// error) may have changed since the last call, so a runtime wakes only their waiters,
    /// as epoll does. Returns true when there were too many to list: wake every waiter.
    pub fn take_touched(&mut self, out: &mut Vec<SocketHandle>) -> bool {
        out.clear();
        let udp_all = self.udp.touched.drain_into(out);
        let tcp_all = self.tcp.touched.drain_into(out);
        let raw_all = self.raw.touched.drain_into(out);
        udp_all || tcp_all || raw_all
    }

    /// Starts recording per-connection TCP events ([`ConnEvent`]: state changes,
    /// segments sent, ACKs, losses, timeouts, cwnd changes), keeping at most `capacity`
    /// until [`drain_tcp_events`](Stack::drain_tcp_events) takes them; 0 stops. Off by
    /// default. Events that find the queue full are dropped and counted
    /// ([`tcp_events_dropped`](Stack::tcp_events_dropped)).
    pub fn enable_tcp_events(&mut self, capacity: usize) {
        self.tcp.events.enable(capacity);
    }

    /// Hands every recorded TCP event to `each`, oldest first; returns how many.
    pub fn drain_tcp_events(&mut self, each: impl FnMut(&ConnEvent)) -> usize {
        self.tcp.events.drain(each)
    }

    /// TCP events lost because the queue was full.
    pub fn tcp_events_dropped(&self) -> u64 {
        self.tcp.events.dropped()
    }

    /// The configuration the stack was built with.
    pub fn config(&self) -> &Config {
        self.out.config()
    }

    /// Counters of everything received, sent and dropped, gathered from every layer.
    pub fn counters(&self) -> Counters {
        let link = self.out.link_counters();
        let (ip_out, ipv4) = (&self.out.counters, &self.ipv4.counters);
        let (icmp, udp, tcp) = (&self.icmp.counters, &self.udp.counters, &self.tcp.counters);
        let raw = &self.raw.counters;
        Counters {
            rx_frames: self.rx.frames,
            rx_bytes: self.rx.bytes,
            rx_accepted: self.rx.accepted,
            rx_coalesced: self.rx.coalesced,
            tx_frames: link.tx_frames,
            tx_bytes: link.tx_bytes,
            arp_requests_sent: link.arp_requests_sent,
            arp_replies_sent: link.arp_replies_sent,
            icmp_echo_replies_sent: icmp.echo_replies_sent,
            icmp_echo_requests_sent: icmp.echo_requests_sent,
            icmp_echo_replies_received: icmp.echo_replies_received,
            icmp_errors_sent: ip_out.icmp_errors_sent,
            icmp_errors_delivered: icmp.errors_delivered,
            ipv4_fragmented: ip_out.ipv4_fragmented,
            ipv4_fragments_sent: ip_out.ipv4_fragments_sent,
            ipv4_reassembled: ipv4.reassembled,
            ipv4_reassembly_failed: ipv4.reassembly_failed,
            tcp_segments_sent: tcp.segments_sent,
            tcp_resets_sent: tcp.resets_sent,
            tcp_challenge_acks: tcp.challenge_acks,
            tcp_syn_queue_evictions: tcp.syn_queue_evictions,
            tcp_syn_cookies_sent: tcp.syn_cookies_sent,
            tcp_syn_cookies_accepted: tcp.syn_cookies_accepted,
            tcp_accept_queue_overflows: tcp.accept_queue_overflows,
            udp_datagrams_received: udp.datagrams_received,
            udp_datagrams_sent: udp.datagrams_sent,
            raw_datagrams_delivered: raw.delivered,
            raw_queue_full: raw.queue_full,
            raw_datagrams_sent: raw.sent,
            raw_bad_headers: raw.bad_headers,
            rx_drops: self.rx.drops,
            tx_drops: link.tx_drops,
        }
    }

    /// A random number from the stack's seeded generator, for callers that need one
    /// that replays with the stack (the ping command's ICMP identifier).
    pub fn random_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    /// A snapshot of the ARP cache.
    pub fn arp_entries(&self) -> Vec<EntryInfo> {
        self.out.arp_entries()
    }

    /// Datagrams being reassembled and the buffer bytes they hold; both stay within
    /// [`Config::reassembly`](crate::Config::reassembly)'s bounds.
    pub fn reassembly_usage(&self) -> (usize, usize) {
        self.ipv4.reassembly_usage()
    }

    /// Sockets open, of all protocols.
    pub fn socket_count(&self) -> usize {
        self.udp.len() + self.tcp.len() + self.raw.len()
    }

    /// The largest IP payload that fits the link MTU unfragmented.
    pub fn max_ip_payload(&self) -> usize {
        self.out.max_ip_payload()
    }

    /// Ethernet II: is the frame for us, and which layer takes it?
    fn receive_ethernet(
        &mut self,
        now: Instant,
        frame: &[u8],
        checksum_verified: bool,
    ) -> Result<(), RxDrop> {
        let (eth, payload) = EthernetRepr::parse(frame).map_err(|_| RxDrop::EthernetTruncated)?;
        // We join no multicast group, so only our unicast address and broadcast are ours.
        if eth.dst != self.out.config().mac && !eth.dst.is_broadcast() {
            return Err(RxDrop::EthernetNotForUs);
        }
        match eth.ethertype {
            EtherType::Arp => self.out.receive_arp(now, payload),
            EtherType::Ipv4 => {
                let Stack {
                    out,
                    ipv4,
                    icmp,
                    udp,
                    tcp,
                    raw,
                    ..
                } = self;
                ipv4.receive(
                    now,
                    &eth,
                    payload,
                    checksum_verified,
                    out,
                    |out, origin, body| {
                        // raw(7): raw sockets get their copy before the protocol's layer.
                        let raw_took = raw.deliver(now, origin, body);
                        dispatch(now, out, origin, body, raw_took, icmp, udp, tcp)
                    },
                )
            }
            EtherType::Other(_) => Err(RxDrop::EthernetUnknownType),
        }
    }
}

/// Hands a whole datagram to its protocol (RFC 1122 3.2.2.1 for the ones we lack).
/// `raw_took` says a raw socket took a copy already: then a protocol we do not speak is
/// no error, and an echo reply no pinger waits for is not unsolicited (Linux's ping
/// reads replies on a raw socket).
#[allow(clippy::too_many_arguments)]
fn dispatch(
    now: Instant,
    out: &mut Outbound,
    origin: &Origin<'_>,
    body: &[u8],
    raw_took: bool,
    icmp: &mut Icmp,
    udp: &mut Udp,
    tcp: &mut Tcp,
) -> Result<(), RxDrop> {
    match origin.ip.protocol {
        protocol::ICMP => {
            let handled = icmp.receive(now, &origin.ip, body, out, |report, out| {
                deliver_icmp_error(now, out, report, udp, tcp)
            });
            match handled {
                // An echo reply for a ping on a raw socket, as ping(8)'s: received.
                Err(RxDrop::IcmpUnsolicitedReply) if raw_took => {
                    icmp.counters.echo_replies_received += 1;
                    Ok(())
                }
                Err(RxDrop::IcmpUnhandledType) if raw_took => Ok(()),
                other => other,
            }
        }
        protocol::UDP => udp.receive(now, origin, body, out),
        protocol::TCP => tcp.receive(now, origin, body, out),
        _ if raw_took => Ok(()),
        _ => {
            // RFC 1122 3.2.2.1: a host SHOULD answer a protocol it does not speak with
            // Destination Unreachable, code 2.
            let unreachable = IcmpRepr::DestUnreachable {
                code: 2,
                next_hop_mtu: 0,
            };
            out.send_icmp_error(now, origin, body, unreachable);
            Err(RxDrop::Ipv4UnknownProtocol)
        }
    }
}

/// An ICMP error about a datagram we sent goes to the transport that sent it (RFC 1122
/// 3.2.2.1, 4.1.3.3, 4.2.3.9). Returns whether a socket took it.
fn deliver_icmp_error(
    now: Instant,
    out: &mut Outbound,
    r: ErrorReport,
    udp: &mut Udp,
    tcp: &mut Tcp,
) -> bool {
    match r.protocol {
        protocol::UDP => udp.on_icmp_error(r.local, r.remote, r.error),
        protocol::TCP => tcp.on_icmp_error(now, out, r.local, r.remote, r.error, r.seq),
        _ => false,
    }
}

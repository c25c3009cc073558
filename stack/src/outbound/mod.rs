//! The one way out: everything the stack sends leaves through an `Outbound`.
//!
//! Each protocol layer is handed `&mut Outbound` as an argument whenever it may need to
//! send; it never reaches into the stack for anything else. `Outbound` owns what every
//! sender shares:
//!
//! * routing (RFC 1122 3.3.1.1: on-link or through the gateway) and our addresses;
//! * the IPv4 header of every datagram we originate, its Identification counter, and
//!   fragmentation on send (RFC 791 3.2);
//! * ICMP error messages about datagrams we received (RFC 792, RFC 1122 3.2.2), with
//!   their rate limit (`ratelimit.rs`);
//! * the link (`link.rs`): ARP resolution, Ethernet framing and the transmit queue
//!   (`tx.rs`);
//! * the transmit counters, including every [`TxDrop`].
//!
//! A received frame travels up the layers once; what they send travels down here once.

mod link;
mod offload;
mod ratelimit;
mod tx;

use core::fmt;
use core::net::Ipv4Addr;

use crate::arp::EntryInfo;
use crate::config::Config;
use crate::counters::{RxDrop, TxDrop};
use crate::rng::Rng;
use crate::time::Instant;
use crate::wire::ipv4::{protocol, HEADER_LEN};
use crate::wire::{ethernet, icmp, ipv4, IcmpRepr, Ipv4Repr};
use link::Link;
pub(crate) use link::LinkCounters;
use ratelimit::IcmpRateLimiter;

pub use offload::{LinkOffload, TxOffload, MAX_TSO_PAYLOAD};
pub use tx::{QUEUE_LIMIT, TCP_LIMIT};

/// The largest IPv4 payload: 65535 bytes minus the header.
pub const MAX_PAYLOAD: usize = 65535 - HEADER_LEN;

/// Largest ICMP error datagram we send: 576 bytes, the minimum every host must accept
/// (RFC 1812 4.3.2.3 asks routers to quote as much as fits in it; Linux does the same).
const MAX_ERROR_DATAGRAM: usize = 576;

/// Why the stack could not send a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The destination is off-link and no gateway is configured.
    NoRoute(Ipv4Addr),
    /// The destination cannot be sent to (unspecified, multicast, loopback, ourselves).
    BadDestination(Ipv4Addr),
    /// The payload is larger than an IPv4 datagram can carry, even in fragments.
    TooBig {
        /// Bytes of IP payload asked for.
        len: usize,
        /// The most that fits.
        max: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoRoute(ip) => write!(f, "no route to {ip} (off-link and no gateway)"),
            SendError::BadDestination(ip) => write!(f, "cannot send to {ip}"),
            SendError::TooBig { len, max } => {
                write!(f, "{len} bytes do not fit an IPv4 datagram ({max} at most)")
            }
        }
    }
}

impl std::error::Error for SendError {}

/// Where a received datagram came from, as needed to answer it with an ICMP error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin<'a> {
    /// It arrived in a link-layer broadcast frame.
    pub link_broadcast: bool,
    /// Its IPv4 header as parsed.
    pub ip: Ipv4Repr,
    /// Its IPv4 header as received (with options), for quoting.
    pub header: &'a [u8],
    /// Its TCP or UDP checksum was verified already: by the receive coalescer
    /// ([`coalesce`](crate::coalesce)), or by the link ([`Received::checksum_valid`](crate::Received)).
    pub checksum_verified: bool,
}

/// What the IP output path counts.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OutboundCounters {
    pub ipv4_fragmented: u64,
    pub ipv4_fragments_sent: u64,
    pub icmp_errors_sent: u64,
}

/// The narrow path every layer sends through. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Outbound {
    config: Config,
    link: Link,
    /// IPv4 Identification for the next datagram we originate.
    next_ip_ident: u16,
    icmp_limiter: IcmpRateLimiter,
    pub counters: OutboundCounters,
}

impl Outbound {
    pub fn new(config: Config, rng: &mut Rng) -> Outbound {
        Outbound {
            link: Link::new(config.arp.clone()),
            next_ip_ident: rng.next_u32() as u16,
            config,
            icmp_limiter: IcmpRateLimiter::default(),
            counters: OutboundCounters::default(),
        }
    }

    /// Our configuration: addresses, MTU, TTL.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Our IPv4 address.
    pub fn addr(&self) -> Ipv4Addr {
        self.config.addr
    }

    /// True for the limited broadcast address and our prefix's directed broadcast.
    pub fn is_broadcast(&self, ip: Ipv4Addr) -> bool {
        self.config.is_broadcast(ip)
    }

    /// The largest IP payload that fits the link MTU unfragmented.
    pub fn max_ip_payload(&self) -> usize {
        usize::from(self.config.mtu) - HEADER_LEN
    }

    /// Counts an outgoing datagram dropped before reaching the wire.
    pub fn count_tx_drop(&mut self, reason: TxDrop) {
        self.link.count_tx_drop(reason);
    }

    /// The link's counters (frames sent, ARP, transmit drops).
    pub fn link_counters(&self) -> &LinkCounters {
        &self.link.counters
    }

    /// Builds a datagram of `payload_len` bytes to `dst`, lets `fill` write the payload,
    /// and routes it, in fragments if it does not fit the MTU (RFC 791 3.2). `fill`
    /// receives exactly `payload_len` bytes.
    pub fn send_ipv4(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        proto: u8,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<(), SendError> {
        let ttl = self.config.ttl;
        self.send_ipv4_ttl(now, dst, proto, ttl, payload_len, fill)
    }

    /// [`Outbound::send_ipv4`] with a TTL of the caller's (a socket's `IP_TTL`).
    pub fn send_ipv4_ttl(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        proto: u8,
        ttl: u8,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<(), SendError> {
        let (next_hop, mut ip) = self.originate(dst, proto, ttl, payload_len)?;
        self.next_ip_ident = self.next_ip_ident.wrapping_add(1);
        if payload_len <= self.max_ip_payload() {
            let buf = self.frame(&ip, fill);
            self.link
                .send_ipv4_frame(now, &self.config, buf, None, next_hop);
            return Ok(());
        }
        // RFC 791 3.2, "An Example Fragmentation Procedure": every fragment but the last
        // carries a multiple of 8 bytes; all copy the header, with MF and the offset set.
        let mut whole = self.link.buffer();
        whole.resize(payload_len, 0);
        fill(&mut whole);
        let chunk = self.max_ip_payload() & !7;
        let mut offset = 0;
        while offset < payload_len {
            let len = chunk.min(payload_len - offset);
            ip.frag_offset = offset as u16;
            ip.more_frags = offset + len < payload_len;
            ip.payload_len = len;
            let buf = self.frame(&ip, |b| b.copy_from_slice(&whole[offset..offset + len]));
            self.link
                .send_ipv4_frame(now, &self.config, buf, None, next_hop);
            self.counters.ipv4_fragments_sent += 1;
            offset += len;
        }
        self.counters.ipv4_fragmented += 1;
        self.link.recycle(whole);
        Ok(())
    }

    /// Sends a datagram whose IPv4 header the caller built (a raw socket with
    /// `IP_HDRINCL`), routed towards `dst`. `datagram` must start with a header whose
    /// version and IHL the caller checked and must fit the link MTU (no fragmentation,
    /// as Linux). Fills in what Linux's `raw_send_hdrinc` fills in: the total length and
    /// the header checksum always, the identification when zero and DF is clear, the
    /// source when 0.0.0.0.
    pub fn send_ipv4_prebuilt(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        datagram: &[u8],
    ) -> Result<(), SendError> {
        let next_hop = self.route(dst)?;
        let max = usize::from(self.config.mtu);
        let ihl = usize::from(datagram.first().map_or(0, |b| b & 0x0f)) * 4;
        if datagram.len() > max || ihl < HEADER_LEN || ihl > datagram.len() {
            return Err(SendError::TooBig {
                len: datagram.len(),
                max,
            });
        }
        let start = ethernet::HEADER_LEN;
        let mut buf = self.link.buffer();
        buf.extend_from_slice(&[0; ethernet::HEADER_LEN]);
        buf.extend_from_slice(datagram);
        let h = &mut buf[start..start + ihl];
        // len <= mtu <= 65535 (checked above).
        h[2..4].copy_from_slice(&(datagram.len() as u16).to_be_bytes());
        // Linux (`__ip_select_ident`) picks an identification for a zero one only when DF
        // is clear: a DF datagram is atomic and its ID unused (RFC 6864 4.1).
        let dont_frag = h[6] & 0x40 != 0;
        if h[4..6] == [0, 0] && !dont_frag {
            h[4..6].copy_from_slice(&self.next_ip_ident.to_be_bytes());
            self.next_ip_ident = self.next_ip_ident.wrapping_add(1);
        }
        if h[12..16] == [0; 4] {
            h[12..16].copy_from_slice(&self.config.addr.octets());
        }
        h[10..12].copy_from_slice(&[0, 0]);
        let sum = crate::wire::checksum::checksum(h);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        self.link
            .send_ipv4_frame(now, &self.config, buf, None, next_hop);
        Ok(())
    }

    /// Sends one TCP segment larger than the MTU as a single frame for a link doing TSO
    /// ([`LinkOffload::tso`]): the link cuts it into segments of `segment_size` bytes of
    /// data, each with a copy of the IP and TCP headers, and completes their checksums.
    /// `fill` writes the TCP segment (its header and data, `payload_len` bytes in all)
    /// with the pseudo-header sum in the checksum field, as
    /// [`TcpRepr::emit_partial`](crate::wire::tcp::TcpRepr::emit_partial) does.
    pub fn send_tcp_tso(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        ttl: u8,
        payload_len: usize,
        segment_size: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<(), SendError> {
        let (next_hop, ip) = self.originate(dst, protocol::TCP, ttl, payload_len)?;
        let buf = self.frame(&ip, fill);
        let checksum_start = ethernet::HEADER_LEN + HEADER_LEN;
        // RFC 9293 3.1: the Data Offset, in 32-bit words (0 if `fill` wrote nothing).
        let tcp_header_len = buf
            .get(checksum_start + 12)
            .map_or(0, |b| usize::from(b >> 4) * 4)
            .min(payload_len);
        // Each segment the link cuts takes the next Identification (Linux's GSO does).
        let segments = (payload_len - tcp_header_len).div_ceil(segment_size.max(1));
        self.next_ip_ident = self.next_ip_ident.wrapping_add(segments as u16);
        // All fit 16 bits: the frame is at most 14 + 65535 bytes, and the TCP header
        // 60 (checked by MAX_PAYLOAD above).
        let offload = TxOffload {
            segment_size: segment_size.min(usize::from(u16::MAX)) as u16,
            header_len: (checksum_start + tcp_header_len) as u16,
            checksum_start: checksum_start as u16,
            checksum_offset: 16, // RFC 9293 3.1: the checksum field's place
        };
        self.link
            .send_ipv4_frame(now, &self.config, buf, Some(offload), next_hop);
        Ok(())
    }

    /// The next hop for `dst` and the header of a datagram we originate towards it with
    /// `payload_len` bytes after the header, taking the next identification (the caller
    /// advances `next_ip_ident` past what it uses).
    fn originate(
        &self,
        dst: Ipv4Addr,
        protocol: u8,
        ttl: u8,
        payload_len: usize,
    ) -> Result<(Option<Ipv4Addr>, Ipv4Repr), SendError> {
        let next_hop = self.route(dst)?;
        if payload_len > MAX_PAYLOAD {
            return Err(SendError::TooBig {
                len: payload_len,
                max: MAX_PAYLOAD,
            });
        }
        let ip = Ipv4Repr {
            src: self.config.addr,
            dst,
            protocol,
            ttl,
            ident: self.next_ip_ident,
            // No path MTU discovery for the datagrams we originate yet, so routers may
            // fragment them further.
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
            payload_len,
        };
        Ok((next_hop, ip))
    }

    /// A frame with room for the Ethernet header, then `ip` and its payload as `fill`
    /// writes it (`ip.payload_len` bytes).
    fn frame(&mut self, ip: &Ipv4Repr, fill: impl FnOnce(&mut [u8])) -> Vec<u8> {
        let start = ethernet::HEADER_LEN;
        let mut buf = self.link.buffer();
        buf.resize(start + HEADER_LEN + ip.payload_len, 0);
        ip.emit(&mut buf[start..]);
        fill(&mut buf[start + HEADER_LEN..]);
        buf
    }

    /// RFC 1122 3.3.1.1: the next hop for `dst`. `Ok(None)` means link broadcast.
    fn route(&self, dst: Ipv4Addr) -> Result<Option<Ipv4Addr>, SendError> {
        if dst.is_unspecified()
            || dst.is_multicast()
            || dst.is_loopback()
            || dst == self.config.addr
        {
            return Err(SendError::BadDestination(dst));
        }
        if self.is_broadcast(dst) {
            return Ok(None);
        }
        if self.config.on_link(dst) {
            return Ok(Some(dst));
        }
        self.config.gateway.map(Some).ok_or(SendError::NoRoute(dst))
    }

    /// Sends an ICMP error about a datagram we received, unless RFC 1122 3.2.2 forbids it
    /// or the rate limit says no. `body` is the datagram's payload after its header.
    pub fn send_icmp_error(
        &mut self,
        now: Instant,
        origin: &Origin<'_>,
        body: &[u8],
        msg: IcmpRepr,
    ) {
        let ip = &origin.ip;
        // RFC 1122 3.2.2: never in response to an ICMP error, a datagram sent to a
        // broadcast or multicast address or as a link broadcast, a non-initial fragment,
        // or one whose source is not a single host.
        let about_icmp_error = ip.protocol == protocol::ICMP
            && body
                .first()
                .is_some_and(|&t| !matches!(t, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18));
        if about_icmp_error
            || origin.link_broadcast
            || self.is_broadcast(ip.dst)
            || ip.dst.is_multicast()
            || ip.frag_offset != 0
            || !self.config.is_host_address(ip.src)
        {
            return;
        }
        if !self.icmp_limiter.allow(now, ip.src) {
            self.count_tx_drop(TxDrop::IcmpRateLimited);
            return;
        }
        let room = MAX_ERROR_DATAGRAM - ipv4::HEADER_LEN - icmp::HEADER_LEN;
        let header_len = origin.header.len().min(room);
        let body_len = body.len().min(room - header_len);
        let mut quote = self.link.buffer();
        quote.extend_from_slice(&origin.header[..header_len]);
        quote.extend_from_slice(&body[..body_len]);
        let len = icmp::HEADER_LEN + quote.len();
        let sent = self.send_ipv4(now, ip.src, protocol::ICMP, len, |buf| {
            msg.emit(&quote, buf);
        });
        self.link.recycle(quote);
        if sent.is_ok() {
            self.counters.icmp_errors_sent += 1;
        }
    }

    /// A received ARP packet (RFC 826): the link learns from it and may answer.
    pub fn receive_arp(&mut self, now: Instant, payload: &[u8]) -> Result<(), RxDrop> {
        self.link.receive_arp(now, &self.config, payload)
    }

    /// Runs the link's timers (ARP retries and expiry).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.link.handle_timeout(now, &self.config);
    }

    /// When the link next has timer work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.link.poll_timeout()
    }

    /// Hands queued frames to `emit`, oldest first, with the work each leaves to the
    /// link, while it takes them (returns true); returns how many it took.
    pub fn transmit_while(&mut self, emit: impl FnMut(&[u8], Option<&TxOffload>) -> bool) -> usize {
        self.link.transmit_while(emit)
    }

    /// Frames waiting to be transmitted.
    pub fn pending_transmit(&self) -> usize {
        self.link.pending()
    }

    /// Segments TCP may still add to the transmit queue ([`TCP_LIMIT`] less what waits).
    /// TCP, which can wait, stops at zero rather than have its segments dropped, and
    /// goes on once the driver has drained the queue, as a NIC's full queue stops
    /// Linux's qdisc; the room above `TCP_LIMIT` stays for datagrams.
    pub fn transmit_room(&self) -> usize {
        TCP_LIMIT.saturating_sub(self.link.pending())
    }

    /// A snapshot of the ARP cache.
    pub fn arp_entries(&self) -> Vec<EntryInfo> {
        self.link.arp_entries()
    }
}

//! IPv4 input checks, routing and output (RFC 791, RFC 1122 3.2.1 and 3.3).
//!
//! We are a host, not a router: datagrams not addressed to us are dropped, never
//! forwarded (RFC 1122 3.3.1.6 lets a host do exactly that).

use core::net::Ipv4Addr;

use crate::counters::RxDrop;
use crate::iface::{is_host_address, SendError, Stack};
use crate::time::Instant;
use crate::wire::ipv4::{protocol, HEADER_LEN};
use crate::wire::{ethernet, EthernetRepr, Ipv4Repr, WireError};

impl Stack {
    /// Checks a received IPv4 datagram and hands it to its protocol.
    pub(crate) fn process_ipv4(
        &mut self,
        now: Instant,
        eth: &EthernetRepr,
        payload: &[u8],
    ) -> Result<(), RxDrop> {
        let (ip, body) = Ipv4Repr::parse(payload).map_err(|e| match e {
            WireError::Unsupported => RxDrop::Ipv4BadVersion,
            WireError::BadChecksum => RxDrop::Ipv4BadChecksum,
            WireError::Truncated | WireError::Malformed => RxDrop::Ipv4Malformed,
        })?;
        let broadcast = self.is_broadcast(ip.dst);
        if ip.dst != self.config.addr && !broadcast {
            return Err(RxDrop::Ipv4NotForUs);
        }
        // RFC 1122 3.3.6: a unicast datagram that arrived as a link-layer broadcast is
        // discarded (someone is confused, or probing).
        if eth.dst.is_broadcast() && !broadcast {
            return Err(RxDrop::Ipv4NotForUs);
        }
        // RFC 1122 3.2.1.3: a source must be a host address; 127/8 never appears on a
        // wire; 0.0.0.0 only while booting, so only towards a broadcast. Our own address
        // as source means a loop or a spoof.
        let unspecified_ok = ip.src.is_unspecified() && broadcast;
        if (!is_host_address(&self.config, ip.src) && !unspecified_ok) || ip.src == self.config.addr
        {
            return Err(RxDrop::Ipv4BadSource);
        }
        if ip.is_fragment() {
            return Err(RxDrop::Ipv4Fragment);
        }
        match ip.protocol {
            protocol::ICMP => self.process_icmp(now, &ip, body),
            _ => Err(RxDrop::Ipv4UnknownProtocol),
        }
    }

    /// True for the limited broadcast address and our prefix's directed broadcast.
    pub(crate) fn is_broadcast(&self, ip: Ipv4Addr) -> bool {
        ip.is_broadcast() || ip == self.config.broadcast()
    }

    /// The largest IP payload that fits the link MTU unfragmented.
    pub fn max_ip_payload(&self) -> usize {
        usize::from(self.config.mtu) - HEADER_LEN
    }

    /// Builds a datagram of `payload_len` bytes to `dst`, lets `fill` write the payload,
    /// and routes it. `fill` receives exactly `payload_len` bytes.
    pub(crate) fn send_ipv4(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        proto: u8,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<(), SendError> {
        let next_hop = self.route(dst)?;
        if payload_len > self.max_ip_payload() {
            return Err(SendError::TooBig {
                len: payload_len,
                max: self.max_ip_payload(),
            });
        }
        let ip = Ipv4Repr {
            src: self.config.addr,
            dst,
            protocol: proto,
            ttl: self.config.ttl,
            ident: self.next_ip_ident,
            // We do not fragment yet, so every datagram we send is whole.
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
            payload_len,
        };
        self.next_ip_ident = self.next_ip_ident.wrapping_add(1);
        let start = ethernet::HEADER_LEN;
        let mut buf = self.tx.buffer();
        buf.resize(start + HEADER_LEN + payload_len, 0);
        ip.emit(&mut buf[start..]);
        fill(&mut buf[start + HEADER_LEN..]);
        self.route_frame(now, buf, next_hop);
        Ok(())
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
}

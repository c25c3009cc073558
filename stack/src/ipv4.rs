//! IPv4 input checks, reassembly, routing and output with fragmentation (RFC 791,
//! RFC 1122 3.2.1 and 3.3).
//!
//! We are a host, not a router: datagrams not addressed to us are dropped, never
//! forwarded (RFC 1122 3.3.1.6 lets a host do exactly that).

pub mod reassembly;

use core::net::Ipv4Addr;

use crate::counters::RxDrop;
use crate::icmp::errors::Origin;
use crate::iface::{is_host_address, SendError, Stack};
use crate::time::Instant;
use crate::wire::ipv4::{protocol, HEADER_LEN};
use crate::wire::{ethernet, EthernetRepr, IcmpRepr, Ipv4Repr, WireError};
use reassembly::Outcome;

/// The largest IPv4 payload: 65535 bytes minus the header.
pub const MAX_PAYLOAD: usize = 65535 - HEADER_LEN;

impl Stack {
    /// Checks a received IPv4 datagram, reassembles it if it is a fragment, and hands it
    /// to its protocol.
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
        // parse() checked IHL against the buffer, so this slice is in bounds.
        let header = &payload[..usize::from(payload[0] & 0x0f) * 4];
        if !ip.is_fragment() {
            let origin = Origin {
                link_broadcast: eth.dst.is_broadcast(),
                ip,
                header,
            };
            return self.dispatch(now, &origin, body);
        }
        // RFC 791 3.2 / RFC 815: hold fragments until the datagram is whole.
        let evicted_before = self.reassembly.evicted();
        let outcome = self.reassembly.add(now, &ip, body);
        self.counters.ipv4_reassembly_failed += self.reassembly.evicted() - evicted_before;
        match outcome {
            Outcome::Held => Ok(()),
            Outcome::Duplicate => Err(RxDrop::Ipv4FragmentDuplicate),
            Outcome::Overlap => Err(RxDrop::Ipv4FragmentOverlap),
            Outcome::Malformed => Err(RxDrop::Ipv4FragmentMalformed),
            Outcome::Complete(whole, data) => {
                self.counters.ipv4_reassembled += 1;
                let mut rebuilt = [0u8; HEADER_LEN];
                // The reassembled datagram fits 65535 bytes: the reassembler checked.
                whole.emit(&mut rebuilt);
                let origin = Origin {
                    link_broadcast: eth.dst.is_broadcast(),
                    ip: whole,
                    header: &rebuilt,
                };
                self.dispatch(now, &origin, &data)
            }
        }
    }

    /// Hands a whole datagram to its protocol.
    fn dispatch(&mut self, now: Instant, origin: &Origin<'_>, body: &[u8]) -> Result<(), RxDrop> {
        match origin.ip.protocol {
            protocol::ICMP => self.process_icmp(now, &origin.ip, body),
            protocol::UDP => self.process_udp(now, origin, body),
            protocol::TCP => self.process_tcp(now, origin, body),
            _ => {
                // RFC 1122 3.2.2.1: a host SHOULD answer a protocol it does not speak
                // with Destination Unreachable, code 2.
                self.send_icmp_error(
                    now,
                    origin,
                    body,
                    IcmpRepr::DestUnreachable {
                        code: 2,
                        next_hop_mtu: 0,
                    },
                );
                Err(RxDrop::Ipv4UnknownProtocol)
            }
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
    /// and routes it, in fragments if it does not fit the MTU (RFC 791 3.2). `fill`
    /// receives exactly `payload_len` bytes.
    pub(crate) fn send_ipv4(
        &mut self,
        now: Instant,
        dst: Ipv4Addr,
        proto: u8,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<(), SendError> {
        let next_hop = self.route(dst)?;
        if payload_len > MAX_PAYLOAD {
            return Err(SendError::TooBig {
                len: payload_len,
                max: MAX_PAYLOAD,
            });
        }
        let mut ip = Ipv4Repr {
            src: self.config.addr,
            dst,
            protocol: proto,
            ttl: self.config.ttl,
            ident: self.next_ip_ident,
            // No path MTU discovery for the datagrams we originate yet, so routers may
            // fragment them further.
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
            payload_len,
        };
        self.next_ip_ident = self.next_ip_ident.wrapping_add(1);
        let start = ethernet::HEADER_LEN;
        if payload_len <= self.max_ip_payload() {
            let mut buf = self.tx.buffer();
            buf.resize(start + HEADER_LEN + payload_len, 0);
            ip.emit(&mut buf[start..]);
            fill(&mut buf[start + HEADER_LEN..]);
            self.route_frame(now, buf, next_hop);
            return Ok(());
        }
        // RFC 791 3.2, "An Example Fragmentation Procedure": every fragment but the last
        // carries a multiple of 8 bytes; all copy the header, with MF and the offset set.
        let mut whole = self.tx.buffer();
        whole.resize(payload_len, 0);
        fill(&mut whole);
        let chunk = self.max_ip_payload() & !7;
        let mut offset = 0;
        while offset < payload_len {
            let len = chunk.min(payload_len - offset);
            ip.frag_offset = offset as u16;
            ip.more_frags = offset + len < payload_len;
            ip.payload_len = len;
            let mut buf = self.tx.buffer();
            buf.resize(start + HEADER_LEN + len, 0);
            ip.emit(&mut buf[start..]);
            buf[start + HEADER_LEN..].copy_from_slice(&whole[offset..offset + len]);
            self.route_frame(now, buf, next_hop);
            self.counters.ipv4_fragments_sent += 1;
            offset += len;
        }
        self.counters.ipv4_fragmented += 1;
        self.tx.recycle(whole);
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

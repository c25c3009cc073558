//! The UDP receive path: from a whole IPv4 datagram to a socket's queue.

use core::net::SocketAddrV4;

use super::{Datagram, DATAGRAM_OVERHEAD};
use crate::counters::RxDrop;
use crate::icmp::errors::{Origin, SoftError};
use crate::iface::Stack;
use crate::socket::{Protocol, Socket};
use crate::time::Instant;
use crate::wire::{IcmpRepr, UdpRepr, WireError};

impl Stack {
    /// Delivers a UDP datagram to its socket (one to three hash lookups, see
    /// [`crate::socket::demux`]), or answers with port unreachable.
    pub(crate) fn process_udp(
        &mut self,
        now: Instant,
        origin: &Origin<'_>,
        body: &[u8],
    ) -> Result<(), RxDrop> {
        let ip = &origin.ip;
        // RFC 1122 4.1.3.4: verify the checksum if present, discard silently if wrong.
        let (udp, data) = UdpRepr::parse(ip.src, ip.dst, body).map_err(|e| match e {
            WireError::BadChecksum => RxDrop::UdpBadChecksum,
            _ => RxDrop::UdpMalformed,
        })?;
        let local = SocketAddrV4::new(ip.dst, udp.dst_port);
        let remote = SocketAddrV4::new(ip.src, udp.src_port);
        let broadcast = self.is_broadcast(ip.dst);
        let found = if broadcast {
            self.sockets.demux.lookup_bound(Protocol::Udp, local)
        } else {
            self.sockets.demux.lookup(Protocol::Udp, local, remote)
        };
        let Some(h) = found else {
            // RFC 1122 4.1.3.1: a datagram to a port with no socket SHOULD get port
            // unreachable (send_icmp_error skips broadcasts and rate-limits).
            self.send_icmp_error(
                now,
                origin,
                body,
                IcmpRepr::DestUnreachable {
                    code: 3,
                    next_hop_mtu: 0,
                },
            );
            return Err(RxDrop::UdpNoSocket);
        };
        let limit = self.config.udp_recv_buffer;
        let Ok(Socket::Udp(s)) = self.sockets.table.get_mut(h) else {
            // The demultiplexer only holds live UDP handles; treat a miss as no socket.
            return Err(RxDrop::UdpNoSocket);
        };
        if broadcast && !s.broadcast {
            return Err(RxDrop::UdpBroadcastNotWanted);
        }
        let cost = data.len() + DATAGRAM_OVERHEAD;
        if s.queued_bytes + cost > limit {
            return Err(RxDrop::UdpRecvBufferFull);
        }
        s.queued_bytes += cost;
        s.queue.push_back(Datagram {
            from: remote,
            data: data.to_vec(),
        });
        self.counters.udp_datagrams_received += 1;
        Ok(())
    }

    /// Records an ICMP error on the connected socket that sent `local` -> `remote`.
    /// Returns whether a socket took it.
    pub(crate) fn udp_icmp_error(
        &mut self,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        error: SoftError,
    ) -> bool {
        if !self
            .sockets
            .demux
            .is_connected(Protocol::Udp, local, remote)
        {
            return false;
        }
        let Some(h) = self.sockets.demux.lookup(Protocol::Udp, local, remote) else {
            return false;
        };
        match self.sockets.table.get_mut(h) {
            Ok(Socket::Udp(s)) => {
                s.error = Some(error);
                self.touch(h);
                true
            }
            _ => false,
        }
    }
}

//! From an arriving segment to whoever takes it (RFC 9293 3.10.7): a TIME-WAIT entry, a
//! connection, a listener, or nobody, which earns a reset. ICMP errors about segments
//! we sent arrive here too (RFC 5927).

use core::net::SocketAddrV4;

use super::error::TcpError;
use super::layer::{Tcp, TcpSocket};
use super::state::State;
use super::time_wait::Verdict;
use crate::counters::RxDrop;
use crate::icmp::errors::SoftError;
use crate::outbound::{Origin, Outbound};
use crate::socket::Protocol;
use crate::time::Instant;
use crate::wire::seq::Seq;
use crate::wire::tcp::{Flags, TcpRepr};
use crate::wire::WireError;

impl Tcp {
    /// Delivers a TCP segment (RFC 9293 3.10.7).
    pub fn receive(
        &mut self,
        now: Instant,
        origin: &Origin<'_>,
        body: &[u8],
        out: &mut Outbound,
    ) -> Result<(), RxDrop> {
        let ip = &origin.ip;
        // TCP is unicast only (RFC 1122 4.2.3.10).
        if out.is_broadcast(ip.dst) || origin.link_broadcast {
            return Err(RxDrop::TcpBroadcast);
        }
        let parsed = if origin.checksum_verified {
            TcpRepr::parse_verified(body)
        } else {
            TcpRepr::parse(ip.src, ip.dst, body)
        };
        let (seg, data) = parsed.map_err(|e| match e {
            WireError::BadChecksum => RxDrop::TcpBadChecksum,
            _ => RxDrop::TcpMalformed,
        })?;
        let local = SocketAddrV4::new(ip.dst, seg.dst_port);
        let remote = SocketAddrV4::new(ip.src, seg.src_port);
        if seg.src_port == 0 || seg.dst_port == 0 {
            return Err(RxDrop::TcpMalformed);
        }
        let msl = self.config.msl;
        match self
            .time_wait
            .on_segment(now, msl, local, remote, &seg, data.len())
        {
            None | Some(Verdict::Reopen) => {}
            Some(Verdict::Drop) => return Ok(()),
            Some(Verdict::Ack(ack)) => {
                self.emit_header(now, out, *remote.ip(), &ack);
                return Ok(());
            }
        }
        let Some(h) = self.demux.lookup(Protocol::Tcp, local, remote) else {
            // RFC 9293 3.10.7.1: CLOSED. Answer anything but a RST with a RST.
            self.send_reset_for(now, out, local, remote, &seg, data.len());
            return Err(RxDrop::TcpNoSocket);
        };
        // RFC 9293 3.10.7.1: a connection in CLOSED whose handle the application still
        // holds has no TCB either: it answers like nobody, with a RST.
        if matches!(self.table.get(h), Ok(TcpSocket::Conn(c)) if c.state == State::Closed) {
            self.send_reset_for(now, out, local, remote, &seg, data.len());
            return Err(RxDrop::TcpNoSocket);
        }
        match self.table.get(h) {
            Ok(TcpSocket::Conn(conn)) => {
                // The handshake's last ACK while the listener's accept queue is full:
                // drop it and stay in SYN-RECEIVED; our SYN-ACK retransmission draws the
                // ACK again later, when `accept` may have made room. Linux does the same
                // by default (tcp_abort_on_overflow = 0), so a burst of clients is slowed
                // down rather than reset.
                let completes = conn.state == State::SynReceived
                    && seg.flags.has(Flags::ACK)
                    && !seg.flags.has(Flags::RST);
                if let Some(lh) = conn.parent.filter(|_| completes) {
                    if self.accept_queue_full(lh) {
                        self.counters.accept_queue_overflows += 1;
                        return Err(RxDrop::TcpAcceptQueueFull);
                    }
                }
                self.on_connection_segment(now, out, h, &seg, data);
                Ok(())
            }
            Ok(TcpSocket::Listener(_)) => {
                self.on_listener_segment(now, out, h, (local, remote), &seg, data)
            }
            Err(_) => Err(RxDrop::TcpNoSocket),
        }
    }

    /// RFC 9293 3.10.7.1: the reset for a segment nobody takes. Never for a RST. If the
    /// segment had ACK: <SEQ=SEG.ACK><CTL=RST>; else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    pub(super) fn send_reset_for(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        seg: &TcpRepr,
        data_len: usize,
    ) {
        if seg.flags.has(Flags::RST) {
            return;
        }
        let mut rst = TcpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            ..TcpRepr::default()
        };
        if seg.flags.has(Flags::ACK) {
            rst.seq = seg.ack;
            rst.flags = Flags::RST;
        } else {
            rst.seq = Seq(0);
            rst.ack = seg.seq + seg.segment_len(data_len);
            rst.flags = Flags::RST | Flags::ACK;
        }
        self.counters.resets_sent += 1;
        self.emit_header(now, out, *remote.ip(), &rst);
    }

    /// An ICMP error about a segment we sent (RFC 5927, RFC 1122 4.2.3.9). Only errors
    /// quoting a sequence number in flight count, so an off-path attacker must guess it.
    /// Hard errors (port or protocol unreachable) abort a connection still in SYN-SENT;
    /// later they, like every soft error, are only remembered, never fatal. Fragmentation
    /// needed lowers the MSS (RFC 1191). Returns whether a connection took it.
    pub fn on_icmp_error(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        error: SoftError,
        quoted_seq: Option<Seq>,
    ) -> bool {
        let Some(h) = self.demux.lookup(Protocol::Tcp, local, remote) else {
            return false;
        };
        let Ok(TcpSocket::Conn(conn)) = self.table.get_mut(h) else {
            return false;
        };
        let Some(seq) = quoted_seq else { return false };
        // RFC 5927 4.1: believe only errors quoting a sequence number we have in flight.
        let in_flight = conn.snd_una.le(seq) && seq.lt(conn.snd_max);
        let our_syn = conn.state == State::SynSent && seq == conn.iss;
        if !in_flight && !our_syn {
            return false;
        }
        match (error, conn.state) {
            (SoftError::ConnectionRefused, State::SynSent) => {
                conn.fail(TcpError::ConnectionRefused)
            }
            (SoftError::MessageTooBig(mtu), _) if mtu >= 68 => {
                let mss = usize::from(mtu).saturating_sub(40).max(64);
                if mss < conn.mss {
                    conn.mss = mss;
                    conn.snd_nxt = conn.snd_una;
                }
            }
            (SoftError::HostUnreachable, State::SynSent)
            | (SoftError::NetworkUnreachable, State::SynSent) => {
                // Soft: remembered, reported if the connect finally times out.
                conn.error = conn.error.or(Some(TcpError::HostUnreachable));
            }
            _ => {}
        }
        // Send what changed (a smaller resend) and wake the socket's waiters.
        self.flush_handle(now, out, h);
        true
    }
}

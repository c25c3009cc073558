//! The TCP calls an application (or the socket facade) makes on the stack: listen,
//! accept, connect, send, receive, shutdown, close, abort, and what to ask of a socket.
//! Every call takes the handle the stack gave out; a stale handle is `InvalidHandle`.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::error::TcpError;
use super::listen::Listener;
use super::state::State;
use super::tcb::{ConnCounters, Tcb};
use crate::iface::Stack;
use crate::socket::{Protocol, Socket, SocketHandle};
use crate::time::Instant;
use crate::wire::tcp::{Flags, TcpRepr, HEADER_LEN};

/// One row of the stack's `netstat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSocketInfo {
    /// The socket's handle.
    pub handle: SocketHandle,
    /// Local address.
    pub local: SocketAddrV4,
    /// Remote address (0.0.0.0:0 for a listener).
    pub remote: SocketAddrV4,
    /// Its state.
    pub state: State,
    /// Bytes queued to send (unsent and unacknowledged).
    pub send_queue: usize,
    /// Bytes received and not read yet.
    pub recv_queue: usize,
    /// Per-connection counters.
    pub counters: ConnCounters,
    /// Transmission details, as `ss -i` shows them (None for a listener).
    pub details: Option<TcpDetails>,
}

/// A connection's sending variables, for display and debugging.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpDetails {
    /// SND.UNA, SND.NXT and the highest sequence sent.
    pub snd_una: u32,
    /// SND.NXT.
    pub snd_nxt: u32,
    /// Highest SND.NXT so far.
    pub snd_max: u32,
    /// The peer's window (SND.WND).
    pub snd_wnd: usize,
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Send MSS.
    pub mss: usize,
    /// Current retransmission timeout, milliseconds.
    pub rto_ms: u64,
    /// Smoothed round-trip time, microseconds.
    pub srtt_us: Option<u64>,
    /// The timers armed, as deadlines in microseconds.
    pub next_timer_us: Option<u64>,
}

impl Stack {
    /// Opens a listening socket on `local` (0.0.0.0 or our address; port 0 picks one)
    /// holding up to `backlog` established connections for [`Stack::tcp_accept`].
    pub fn tcp_listen(
        &mut self,
        local: SocketAddrV4,
        backlog: usize,
    ) -> Result<SocketHandle, TcpError> {
        if !local.ip().is_unspecified() && *local.ip() != self.config.addr {
            return Err(TcpError::AddrNotAvailable);
        }
        let port = if local.port() == 0 {
            let our = self.config.addr;
            self.sockets
                .ports
                .allocate(Protocol::Tcp, our, (Ipv4Addr::UNSPECIFIED, 0), |_| true)
                .map_err(|_| TcpError::PortsExhausted)?
        } else {
            if self.sockets.ports.is_used(Protocol::Tcp, local.port()) {
                return Err(TcpError::AddrInUse);
            }
            self.sockets.ports.hold(Protocol::Tcp, local.port());
            local.port()
        };
        let local = SocketAddrV4::new(*local.ip(), port);
        let Ok(h) = self
            .sockets
            .table
            .insert(Socket::TcpListener(Listener::new(local, backlog)))
        else {
            self.sockets.ports.release(Protocol::Tcp, port);
            return Err(TcpError::TooManySockets);
        };
        self.sockets.demux.bind(Protocol::Tcp, local, h);
        Ok(h)
    }

    /// Takes the oldest established connection from listener `l`, if any.
    pub fn tcp_accept(&mut self, l: SocketHandle) -> Result<Option<SocketHandle>, TcpError> {
        let next = match self.sockets.table.get_mut(l) {
            Ok(Socket::TcpListener(listener)) => listener.accept_queue.pop_front(),
            Ok(_) => return Err(TcpError::InvalidState),
            Err(_) => return Err(TcpError::InvalidHandle),
        };
        let Some(h) = next else { return Ok(None) };
        if let Ok(Socket::Tcp(tcb)) = self.sockets.table.get_mut(h) {
            tcb.orphaned = false;
            tcb.parent = None;
        }
        Ok(Some(h))
    }

    /// Starts an active open to `remote` (RFC 9293 3.10.1) from an ephemeral port chosen
    /// per RFC 6056, with an RFC 6528 initial sequence number. The handle is usable at
    /// once; the connection is up when [`Stack::tcp_state`] says ESTABLISHED.
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        remote: SocketAddrV4,
    ) -> Result<SocketHandle, TcpError> {
        let ip = *remote.ip();
        if remote.port() == 0
            || ip.is_unspecified()
            || ip.is_multicast()
            || ip.is_loopback()
            || self.is_broadcast(ip)
            || ip == self.config.addr
        {
            return Err(TcpError::InvalidAddress);
        }
        if !self.config.on_link(ip) && self.config.gateway.is_none() {
            return Err(TcpError::NoRoute);
        }
        let our = self.config.addr;
        let (demux, time_wait) = (&self.sockets.demux, &self.tcp.time_wait);
        let port = self
            .sockets
            .ports
            .allocate(Protocol::Tcp, our, (ip, remote.port()), |p| {
                let local = SocketAddrV4::new(our, p);
                !demux.is_connected(Protocol::Tcp, local, remote)
                    && !time_wait.contains_key(&(local, remote))
            })
            .map_err(|_| TcpError::PortsExhausted)?;
        let local = SocketAddrV4::new(our, port);
        let iss = self.tcp.isn.isn(now, local, remote);
        let our_mss = self.max_ip_payload() - HEADER_LEN;
        let tcb = Tcb::new(
            &self.tcp.config,
            local,
            remote,
            State::SynSent,
            iss,
            our_mss,
            now,
        );
        let Ok(h) = self.sockets.table.insert(Socket::Tcp(Box::new(tcb))) else {
            self.sockets.ports.release(Protocol::Tcp, port);
            return Err(TcpError::TooManySockets);
        };
        self.sockets.demux.connect(Protocol::Tcp, local, remote, h);
        log::debug!("tcp {local} -> {remote}: CLOSED -> SYN-SENT");
        self.tcp_flush_handle(now, h);
        Ok(h)
    }

    /// Queues `data` for sending; returns how much fit (0 when the send buffer is full:
    /// wait for [`Stack::tcp_can_write`]). Errors once the connection failed or our side
    /// was shut down (`BrokenPipe`).
    pub fn tcp_send(
        &mut self,
        now: Instant,
        h: SocketHandle,
        data: &[u8],
    ) -> Result<usize, TcpError> {
        let tcb = self.tcb_mut(h)?;
        if let Some(e) = tcb.error.take() {
            return Err(e);
        }
        match tcb.state {
            State::SynSent | State::SynReceived => return Ok(0),
            State::Established | State::CloseWait if !tcb.fin_queued => {}
            State::Closed => return Err(TcpError::NotConnected),
            _ => return Err(TcpError::BrokenPipe),
        }
        let n = tcb.send.write(data);
        self.tcp_flush_handle(now, h);
        Ok(n)
    }

    /// Reads received data: `Ok(Some(n))` with n > 0 bytes, `Ok(Some(0))` at end of
    /// stream (the peer's FIN and everything before it was read), `Ok(None)` when nothing
    /// is available yet. A failure (reset, timeout) is reported once as an error.
    pub fn tcp_recv(
        &mut self,
        now: Instant,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<Option<usize>, TcpError> {
        let tcb = self.tcb_mut(h)?;
        let n = tcb.recv.read(buf);
        if n > 0 {
            // Reading opened the window; tell the peer if it grew enough to matter
            // (RFC 1122 4.2.3.3, the receiver's side of silly window avoidance).
            let offered = if tcb.rcv_adv.gt(tcb.rcv_nxt) {
                tcb.rcv_adv - tcb.rcv_nxt
            } else {
                0
            };
            if tcb.advertised_window() >= offered + (2 * tcb.our_mss).min(tcb.recv.capacity() / 2) {
                tcb.ack_now = true;
            }
            self.tcp_flush_handle(now, h);
            return Ok(Some(n));
        }
        if let Some(e) = tcb.error.take() {
            return Err(e);
        }
        let eof = matches!(
            tcb.state,
            State::CloseWait | State::LastAck | State::Closing | State::TimeWait
        ) || (tcb.state == State::Closed && tcb.peer_fin.is_some());
        if eof || tcb.state == State::Closed {
            return Ok(Some(0));
        }
        Ok(None)
    }

    /// Closes our sending side: a FIN follows the queued data (RFC 9293 3.10.4). Reading
    /// goes on until the peer closes too.
    pub fn tcp_shutdown(&mut self, now: Instant, h: SocketHandle) -> Result<(), TcpError> {
        let tcb = self.tcb_mut(h)?;
        match tcb.state {
            State::Established => {
                tcb.fin_queued = true;
                tcb.set_state(State::FinWait1);
            }
            State::CloseWait => {
                tcb.fin_queued = true;
                tcb.set_state(State::LastAck);
            }
            // RFC 9293 3.10.4: in SYN-SENT, delete the connection; in SYN-RECEIVED, queue
            // the FIN until ESTABLISHED (here: after the handshake completes, as data).
            State::SynSent => tcb.set_state(State::Closed),
            State::SynReceived => tcb.fin_queued = true,
            _ => {}
        }
        self.tcp_flush_handle(now, h);
        Ok(())
    }

    /// Closes the socket: an orderly close that the stack finishes alone (the handle goes
    /// stale at once). RFC 1122 4.2.2.13: if received data was left unread, the
    /// connection is reset instead, so the peer learns the data was lost. A listener
    /// closes its queued connections with resets.
    pub fn tcp_close(&mut self, now: Instant, h: SocketHandle) -> Result<(), TcpError> {
        match self.sockets.table.get(h) {
            Ok(Socket::TcpListener(_)) => return self.close_listener(now, h),
            Ok(Socket::Tcp(_)) => {}
            _ => return Err(TcpError::InvalidHandle),
        }
        let tcb = self.tcb_mut(h)?;
        if tcb.recv.readable() > 0 && tcb.state.is_synchronized() {
            return self.tcp_abort(now, h);
        }
        tcb.orphaned = true;
        if tcb.state.is_synchronized() || tcb.state == State::SynReceived {
            self.tcp_shutdown(now, h)?;
        } else {
            tcb.set_state(State::Closed);
            self.tcp_flush_handle(now, h);
        }
        // What the stack still has to finish, it finishes under a handle of its own.
        self.tcp_rehandle(h);
        Ok(())
    }

    /// Resets the connection (RFC 9293 3.10.5, ABORT): sends RST if synchronized and
    /// frees the socket.
    pub fn tcp_abort(&mut self, now: Instant, h: SocketHandle) -> Result<(), TcpError> {
        let tcb = self.tcb_mut(h)?;
        let rst =
            (tcb.state.is_synchronized() || tcb.state == State::SynReceived).then(|| TcpRepr {
                src_port: tcb.local.port(),
                dst_port: tcb.remote.port(),
                seq: tcb.snd_nxt,
                ack: tcb.rcv_nxt,
                flags: Flags::RST | Flags::ACK,
                ..TcpRepr::default()
            });
        let dst = *tcb.remote.ip();
        tcb.orphaned = true;
        tcb.timers.clear();
        tcb.set_state(State::Closed);
        if let Some(rst) = rst {
            self.tcp_send_raw(now, dst, &rst);
        }
        self.tcp_flush_handle(now, h);
        Ok(())
    }

    fn close_listener(&mut self, now: Instant, h: SocketHandle) -> Result<(), TcpError> {
        let Ok(Socket::TcpListener(l)) = self.sockets.table.remove(h) else {
            return Err(TcpError::InvalidHandle);
        };
        self.sockets.demux.unbind(Protocol::Tcp, l.local);
        self.sockets.ports.release(Protocol::Tcp, l.local.port());
        for c in l.syn_queue.iter().chain(l.accept_queue.iter()).copied() {
            if let Ok(Socket::Tcp(tcb)) = self.sockets.table.get_mut(c) {
                tcb.parent = None;
            }
            let _ = self.tcp_abort(now, c);
        }
        Ok(())
    }

    /// Takes the error that ended or troubles the connection, if any (SO_ERROR).
    pub fn tcp_take_error(&mut self, h: SocketHandle) -> Result<Option<TcpError>, TcpError> {
        Ok(self.tcb_mut(h)?.error.take())
    }

    /// The connection's state (LISTEN for a listener).
    pub fn tcp_state(&self, h: SocketHandle) -> Result<State, TcpError> {
        match self.sockets.table.get(h) {
            Ok(Socket::Tcp(t)) => Ok(t.state),
            Ok(Socket::TcpListener(_)) => Ok(State::Listen),
            _ => Err(TcpError::InvalidHandle),
        }
    }

    /// True when a receive would not wait: data, end of stream, or an error is there.
    pub fn tcp_can_read(&self, h: SocketHandle) -> bool {
        match self.sockets.table.get(h) {
            Ok(Socket::Tcp(t)) => {
                t.recv.readable() > 0
                    || t.error.is_some()
                    || !matches!(
                        t.state,
                        State::SynSent
                            | State::SynReceived
                            | State::Established
                            | State::FinWait1
                            | State::FinWait2
                    )
            }
            Ok(Socket::TcpListener(l)) => !l.accept_queue.is_empty(),
            _ => true,
        }
    }

    /// True when a send would not wait: there is buffer room on an open connection, or
    /// sending would fail at once.
    pub fn tcp_can_write(&self, h: SocketHandle) -> bool {
        match self.sockets.table.get(h) {
            Ok(Socket::Tcp(t)) => match t.state {
                State::SynSent | State::SynReceived => t.error.is_some(),
                State::Established | State::CloseWait if !t.fin_queued => {
                    t.send.free() > 0 || t.error.is_some()
                }
                _ => true,
            },
            _ => true,
        }
    }

    /// True when every byte sent has been acknowledged (or the connection is over).
    pub fn tcp_all_acked(&self, h: SocketHandle) -> bool {
        match self.sockets.table.get(h) {
            Ok(Socket::Tcp(t)) => t.send.is_empty() || t.state == State::Closed,
            _ => true,
        }
    }

    /// Disables (true) or enables Nagle's algorithm.
    pub fn tcp_set_nodelay(&mut self, h: SocketHandle, on: bool) -> Result<(), TcpError> {
        self.tcb_mut(h)?.nodelay = on;
        Ok(())
    }

    /// Whether Nagle's algorithm is disabled.
    pub fn tcp_nodelay(&self, h: SocketHandle) -> Result<bool, TcpError> {
        Ok(self.tcb(h)?.nodelay)
    }

    /// Turns keep-alive probes on or off (off by default, RFC 1122 4.2.3.6).
    pub fn tcp_set_keepalive(
        &mut self,
        now: Instant,
        h: SocketHandle,
        on: bool,
    ) -> Result<(), TcpError> {
        self.tcb_mut(h)?.keepalive = on;
        self.tcp_flush_handle(now, h);
        Ok(())
    }

    /// The local address.
    pub fn tcp_local_addr(&self, h: SocketHandle) -> Result<SocketAddrV4, TcpError> {
        match self.sockets.table.get(h) {
            Ok(Socket::Tcp(t)) => Ok(t.local),
            Ok(Socket::TcpListener(l)) => Ok(l.local),
            _ => Err(TcpError::InvalidHandle),
        }
    }

    /// The remote address.
    pub fn tcp_peer_addr(&self, h: SocketHandle) -> Result<SocketAddrV4, TcpError> {
        Ok(self.tcb(h)?.remote)
    }

    /// Every TCP socket, listeners first, for display. Scans the table: not for packet paths.
    pub fn tcp_sockets(&self) -> Vec<TcpSocketInfo> {
        let mut rows: Vec<TcpSocketInfo> = self
            .sockets
            .table
            .iter()
            .filter_map(|(handle, s)| match s {
                Socket::TcpListener(l) => Some(TcpSocketInfo {
                    handle,
                    local: l.local,
                    remote: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
                    state: State::Listen,
                    send_queue: 0,
                    recv_queue: l.accept_queue.len(),
                    counters: ConnCounters::default(),
                    details: None,
                }),
                Socket::Tcp(t) => Some(TcpSocketInfo {
                    handle,
                    local: t.local,
                    remote: t.remote,
                    state: t.state,
                    send_queue: t.send.len(),
                    recv_queue: t.recv.readable(),
                    counters: t.counters,
                    details: Some(TcpDetails {
                        snd_una: t.snd_una.0,
                        snd_nxt: t.snd_nxt.0,
                        snd_max: t.snd_max.0,
                        snd_wnd: t.snd_wnd,
                        cwnd: t.cc.cwnd(),
                        mss: t.mss,
                        rto_ms: t.rtt.rto().total_millis(),
                        srtt_us: t.rtt.srtt().map(|d| d.total_micros()),
                        next_timer_us: t.timers.next().map(|i| i.total_micros()),
                    }),
                }),
                Socket::Udp(_) => None,
            })
            .collect();
        rows.sort_by_key(|r| (r.state != State::Listen, r.local.port(), r.remote.port()));
        rows
    }

    /// Connections in TIME-WAIT (held without buffers), with their 4-tuples.
    pub fn tcp_time_wait(&self) -> Vec<(SocketAddrV4, SocketAddrV4)> {
        self.tcp.time_wait.keys().copied().collect()
    }

    fn tcb(&self, h: SocketHandle) -> Result<&Tcb, TcpError> {
        match self.sockets.table.get(h) {
            Ok(Socket::Tcp(t)) => Ok(t),
            Ok(_) => Err(TcpError::InvalidState),
            Err(_) => Err(TcpError::InvalidHandle),
        }
    }

    fn tcb_mut(&mut self, h: SocketHandle) -> Result<&mut Tcb, TcpError> {
        match self.sockets.table.get_mut(h) {
            Ok(Socket::Tcp(t)) => Ok(t),
            Ok(_) => Err(TcpError::InvalidState),
            Err(_) => Err(TcpError::InvalidHandle),
        }
    }
}

//! The TCP calls an application (or the socket facade) makes: a [`TcpSockets`] view of
//! the stack's TCP layer, from [`Stack::tcp`](crate::Stack::tcp). Every call takes the
//! handle the layer gave out; a stale handle, or another protocol's, is `InvalidHandle`.
//!
//! The calls on one connection find it, run the [`Connection`] method of the same name
//! (RFC 9293 3.10's user calls, in `user.rs`), and send whatever it decided.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::congestion::Algorithm;
use super::connection::{ConnCounters, Connection, Details};
use super::error::TcpError;
use super::layer::{Tcp, TcpSocket};
use super::socket_options::{clamp_buffer, SocketOptions};
use super::state::State;
use super::user::Close;
use crate::outbound::Outbound;
use crate::socket::SocketHandle;
use crate::time::{Duration, Instant};

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
    /// Bytes received and not read yet (for a listener: connections waiting in accept).
    pub recv_queue: usize,
    /// Per-connection counters.
    pub counters: ConnCounters,
    /// Transmission details, as `ss -i` shows them (None for a listener).
    pub details: Option<Details>,
}

/// The TCP socket calls.
#[derive(Debug)]
pub struct TcpSockets<'a> {
    tcp: &'a mut Tcp,
    out: &'a mut Outbound,
}

impl<'a> TcpSockets<'a> {
    pub(crate) fn new(tcp: &'a mut Tcp, out: &'a mut Outbound) -> TcpSockets<'a> {
        TcpSockets { tcp, out }
    }

    /// Opens a listening socket on `local` (0.0.0.0 or our address; port 0 picks one)
    /// holding up to `backlog` established connections for [`TcpSockets::accept`].
    /// SO_REUSEADDR is set, as std's `TcpListener::bind` sets it: a server restarted
    /// while its old connections wait in TIME-WAIT gets its port back.
    pub fn listen(
        &mut self,
        local: SocketAddrV4,
        backlog: usize,
    ) -> Result<SocketHandle, TcpError> {
        let options = SocketOptions {
            reuse_addr: true,
            ..SocketOptions::default()
        };
        self.listen_with(local, backlog, options)
    }

    /// [`listen`](TcpSockets::listen) with the socket options set before it (SO_RCVBUF,
    /// SO_SNDBUF, SO_REUSEADDR), which every connection it accepts inherits: their SYN,ACK
    /// offers the window scale of the listener's receive buffer.
    pub fn listen_with(
        &mut self,
        local: SocketAddrV4,
        backlog: usize,
        options: SocketOptions,
    ) -> Result<SocketHandle, TcpError> {
        self.tcp.listen(self.out.addr(), local, backlog, options)
    }

    /// Takes the oldest established connection from listener `l`, if any.
    pub fn accept(&mut self, l: SocketHandle) -> Result<Option<SocketHandle>, TcpError> {
        self.tcp.accept(l)
    }

    /// Starts an active open to `remote` (RFC 9293 3.10.1) from an ephemeral port chosen
    /// per RFC 6056, with an RFC 6528 initial sequence number. The handle is usable at
    /// once; the connection is up when [`TcpSockets::state`] says ESTABLISHED.
    pub fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddrV4,
    ) -> Result<SocketHandle, TcpError> {
        self.connect_with(now, remote, SocketOptions::default())
    }

    /// [`connect`](TcpSockets::connect) with the socket options set before it: the
    /// buffer sizes bound the connection from its SYN on, whose window scale follows
    /// the receive buffer (RFC 7323 2.2).
    pub fn connect_with(
        &mut self,
        now: Instant,
        remote: SocketAddrV4,
        options: SocketOptions,
    ) -> Result<SocketHandle, TcpError> {
        self.tcp.connect(now, self.out, None, remote, options)
    }

    /// [`connect_with`](TcpSockets::connect_with) from `local`, the address the socket
    /// was bound to (bind(2) before connect(2)): its port if it names one (else an
    /// ephemeral port). The port is taken as bind takes it: `AddrInUse` unless
    /// SO_REUSEADDR lets the socket share it (see [`check_bind`](TcpSockets::check_bind));
    /// `AddrNotAvailable` if a connection or TIME-WAIT already has the 4-tuple.
    pub fn connect_from(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        options: SocketOptions,
    ) -> Result<SocketHandle, TcpError> {
        self.tcp
            .connect(now, self.out, Some(local), remote, options)
    }

    /// Whether a socket with SO_REUSEADDR `reuse_addr` may bind `local` now, as Linux's
    /// bind(2) decides: `AddrInUse` when a listener holds the port, or a connection or
    /// TIME-WAIT entry holds it and either side did not set SO_REUSEADDR;
    /// `AddrNotAvailable` for an address not ours. Port 0 always may. The port is not
    /// held: [`listen_with`](TcpSockets::listen_with) and
    /// [`connect_from`](TcpSockets::connect_from) check again.
    pub fn check_bind(&self, local: SocketAddrV4, reuse_addr: bool) -> Result<(), TcpError> {
        if !local.ip().is_unspecified() && *local.ip() != self.out.addr() {
            return Err(TcpError::AddrNotAvailable);
        }
        if local.port() != 0 && self.tcp.bind_conflict(local.port(), reuse_addr) {
            return Err(TcpError::AddrInUse);
        }
        Ok(())
    }

    /// Queues `data` for sending; returns how much fit (0 when the send buffer is full:
    /// wait for [`TcpSockets::can_write`]). See [`Connection::send`].
    pub fn send(&mut self, now: Instant, h: SocketHandle, data: &[u8]) -> Result<usize, TcpError> {
        let tcp = &mut *self.tcp;
        let conn = match tcp.table.get_mut(h) {
            Ok(TcpSocket::Conn(c)) => c,
            Ok(_) => return Err(TcpError::InvalidState),
            Err(_) => return Err(TcpError::InvalidHandle),
        };
        if !data.is_empty() {
            conn.lend_send_storage(&mut tcp.pool);
        }
        let n = conn.send(data)?;
        self.tcp.flush_or_hold_handle(now, self.out, h);
        Ok(n)
    }

    /// Reads received data: `Ok(Some(n))`, `Ok(Some(0))` at end of stream, `Ok(None)`
    /// when nothing is there yet. See [`Connection::recv`].
    pub fn recv(
        &mut self,
        now: Instant,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<Option<usize>, TcpError> {
        let read = self.conn_mut(h)?.recv(buf)?;
        if read.is_some_and(|n| n > 0) {
            // Reading may have opened the window enough to tell the peer.
            self.tcp.flush_or_hold_handle(now, self.out, h);
        }
        Ok(read)
    }

    /// Closes our sending side: a FIN follows the queued data (RFC 9293 3.10.4). Reading
    /// goes on until the peer closes too.
    pub fn shutdown(&mut self, now: Instant, h: SocketHandle) -> Result<(), TcpError> {
        self.tcp.with_conn(now, self.out, h, Connection::shutdown)
    }

    /// Closes the socket: the handle goes stale at once. A connection closes in order
    /// and the stack finishes it alone, or is reset if received data was left unread
    /// (RFC 1122 4.2.2.13). A listener resets its queued connections.
    pub fn close(&mut self, now: Instant, h: SocketHandle) -> Result<(), TcpError> {
        if let Ok(TcpSocket::Listener(_)) = self.tcp.table.get(h) {
            return self.tcp.close_listener(now, self.out, h);
        }
        if self.tcp.with_conn(now, self.out, h, Connection::close)? == Close::Orderly {
            // What the stack still has to finish, it finishes under a handle of its own.
            self.tcp.rehandle(h);
        }
        Ok(())
    }

    /// Resets the connection (RFC 9293 3.10.5, ABORT) and frees the socket.
    pub fn abort(&mut self, now: Instant, h: SocketHandle) -> Result<(), TcpError> {
        self.tcp.with_conn(now, self.out, h, Connection::abort)
    }

    /// Takes the error that ended or troubles the connection, if any (SO_ERROR).
    pub fn take_error(&mut self, h: SocketHandle) -> Result<Option<TcpError>, TcpError> {
        Ok(self.conn_mut(h)?.take_error())
    }

    /// The connection's state (LISTEN for a listener).
    pub fn state(&self, h: SocketHandle) -> Result<State, TcpError> {
        match self.tcp.table.get(h) {
            Ok(TcpSocket::Conn(c)) => Ok(c.state()),
            Ok(TcpSocket::Listener(_)) => Ok(State::Listen),
            Err(_) => Err(TcpError::InvalidHandle),
        }
    }

    /// True when a receive (or an accept) would not wait: data, end of stream, an error,
    /// or a connection to accept is there.
    pub fn can_read(&self, h: SocketHandle) -> bool {
        match self.tcp.table.get(h) {
            Ok(TcpSocket::Conn(c)) => c.can_read(),
            Ok(TcpSocket::Listener(l)) => !l.accept_queue.is_empty(),
            Err(_) => true,
        }
    }

    /// True when a send would not wait: there is buffer room on an open connection, or
    /// sending would fail at once.
    pub fn can_write(&self, h: SocketHandle) -> bool {
        self.tcp.conn(h).is_none_or(Connection::can_write)
    }

    /// True when every byte sent has been acknowledged (or the connection is over).
    pub fn all_acked(&self, h: SocketHandle) -> bool {
        self.tcp.conn(h).is_none_or(Connection::all_acked)
    }

    /// Disables (true) or enables Nagle's algorithm.
    pub fn set_nodelay(&mut self, h: SocketHandle, on: bool) -> Result<(), TcpError> {
        self.conn_mut(h)?.set_nodelay(on);
        Ok(())
    }

    /// Whether Nagle's algorithm is disabled.
    pub fn nodelay(&self, h: SocketHandle) -> Result<bool, TcpError> {
        Ok(self.conn(h)?.nodelay())
    }

    /// Turns keep-alive probes on or off (off by default, RFC 1122 4.2.3.6).
    pub fn set_keepalive(
        &mut self,
        now: Instant,
        h: SocketHandle,
        on: bool,
    ) -> Result<(), TcpError> {
        self.tcp
            .with_conn(now, self.out, h, |c| c.set_keepalive(on))
    }

    /// TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT: when the first keep-alive probe goes,
    /// how far apart the next ones, and how many go unanswered before the connection is
    /// dropped (RFC 1122 4.2.3.6; the defaults are [`TcpConfig`]'s). A zero duration or
    /// count is refused as [`TcpError::InvalidState`] (EINVAL, as Linux).
    ///
    /// [`TcpConfig`]: crate::TcpConfig
    ///
    /// Like Linux's TCP_KEEPIDLE, a new idle time applies at once to a connection
    /// already waiting to probe: the first probe goes `idle` after the peer was last
    /// heard (now, if that is past).
    pub fn set_keepalive_params(
        &mut self,
        now: Instant,
        h: SocketHandle,
        idle: Duration,
        interval: Duration,
        probes: u32,
    ) -> Result<(), TcpError> {
        if idle == Duration::ZERO || interval == Duration::ZERO || probes == 0 {
            return Err(TcpError::InvalidState);
        }
        self.tcp.with_conn(now, self.out, h, |c| {
            c.set_keepalive_params(idle, interval, probes)
        })
    }

    /// The keep-alive idle time, interval and probe count.
    pub fn keepalive_params(&self, h: SocketHandle) -> Result<(Duration, Duration, u32), TcpError> {
        let c = &self.conn(h)?.config;
        Ok((c.keepalive_idle, c.keepalive_interval, c.keepalive_probes))
    }

    /// Whether keep-alive is on.
    pub fn keepalive(&self, h: SocketHandle) -> Result<bool, TcpError> {
        Ok(self.conn(h)?.keepalive)
    }

    /// SO_RCVBUF on an open socket: `bytes` of data (within 1 and
    /// [`TcpConfig::recv_buffer`]). A listener keeps it for the connections it makes
    /// from now on. A connection's window scale was settled by its SYN; its window grows
    /// to the new size at most as far as that scale can say, and never shrinks below
    /// what it has offered (RFC 9293 3.8.6: the right edge does not move left).
    ///
    /// [`TcpConfig::recv_buffer`]: crate::TcpConfig::recv_buffer
    pub fn set_recv_buffer(&mut self, h: SocketHandle, bytes: usize) -> Result<(), TcpError> {
        let bound = self.tcp.config.recv_buffer;
        match self.tcp.table.get_mut(h) {
            Ok(TcpSocket::Conn(c)) => c.set_recv_buffer(clamp_buffer(Some(bytes), bound)),
            Ok(TcpSocket::Listener(l)) => l.options.recv_buffer = Some(bytes),
            Err(_) => return Err(TcpError::InvalidHandle),
        }
        Ok(())
    }

    /// SO_SNDBUF on an open socket: `bytes` of data (within 1 and
    /// [`TcpConfig::send_buffer`]). Below what is queued, sends wait until the queue
    /// drains under it. A listener keeps it for the connections it makes from now on.
    ///
    /// [`TcpConfig::send_buffer`]: crate::TcpConfig::send_buffer
    pub fn set_send_buffer(&mut self, h: SocketHandle, bytes: usize) -> Result<(), TcpError> {
        let bound = self.tcp.config.send_buffer;
        match self.tcp.table.get_mut(h) {
            Ok(TcpSocket::Conn(c)) => c.set_send_buffer(clamp_buffer(Some(bytes), bound)),
            Ok(TcpSocket::Listener(l)) => l.options.send_buffer = Some(bytes),
            Err(_) => return Err(TcpError::InvalidHandle),
        }
        Ok(())
    }

    /// The socket's receive and send buffer sizes, in bytes of data (a listener's are
    /// those its connections get).
    pub fn buffer_sizes(&self, h: SocketHandle) -> Result<(usize, usize), TcpError> {
        match self.tcp.table.get(h) {
            Ok(TcpSocket::Conn(c)) => Ok(c.buffer_sizes()),
            Ok(TcpSocket::Listener(l)) => {
                let config = l.options.apply(&self.tcp.config);
                Ok((config.recv_buffer, config.send_buffer))
            }
            Err(_) => Err(TcpError::InvalidHandle),
        }
    }

    /// IP_TTL for the connection's segments (1-255); `None` restores the stack's.
    pub fn set_ttl(&mut self, h: SocketHandle, ttl: Option<u8>) -> Result<(), TcpError> {
        if ttl == Some(0) {
            return Err(TcpError::InvalidState);
        }
        self.conn_mut(h)?.ttl = ttl;
        Ok(())
    }

    /// The TTL the connection's segments carry.
    pub fn ttl(&self, h: SocketHandle) -> Result<u8, TcpError> {
        Ok(self.conn(h)?.ttl.unwrap_or(self.out.config().ttl))
    }

    /// TCP_CONGESTION: the connection's congestion controller, started afresh from the
    /// initial window as Linux's `tcp_reinit_congestion_control` does.
    pub fn set_congestion(
        &mut self,
        h: SocketHandle,
        algorithm: Algorithm,
    ) -> Result<(), TcpError> {
        let c = self.conn_mut(h)?;
        let mss = c.mss;
        c.set_congestion_control(algorithm.build(mss));
        Ok(())
    }

    /// The name of the connection's congestion controller ("cubic", "newreno").
    pub fn congestion(&self, h: SocketHandle) -> Result<&'static str, TcpError> {
        Ok(self.conn(h)?.cc.name())
    }

    /// Like [`recv`](TcpSockets::recv) but leaves the bytes queued (MSG_PEEK).
    pub fn peek(&self, h: SocketHandle, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
        self.conn(h)?.peek(buf)
    }

    /// The local address.
    pub fn local_addr(&self, h: SocketHandle) -> Result<SocketAddrV4, TcpError> {
        match self.tcp.table.get(h) {
            Ok(TcpSocket::Conn(c)) => Ok(c.local()),
            Ok(TcpSocket::Listener(l)) => Ok(l.local),
            Err(_) => Err(TcpError::InvalidHandle),
        }
    }

    /// The remote address.
    pub fn peer_addr(&self, h: SocketHandle) -> Result<SocketAddrV4, TcpError> {
        Ok(self.conn(h)?.remote())
    }

    /// Every TCP socket, listeners first, for display. Scans the table: not for packet paths.
    pub fn sockets(&self) -> Vec<TcpSocketInfo> {
        let mut rows: Vec<TcpSocketInfo> = self
            .tcp
            .table
            .iter()
            .map(|(handle, s)| match s {
                TcpSocket::Listener(l) => TcpSocketInfo {
                    handle,
                    local: l.local,
                    remote: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
                    state: State::Listen,
                    send_queue: 0,
                    recv_queue: l.accept_queue.len(),
                    counters: ConnCounters::default(),
                    details: None,
                },
                TcpSocket::Conn(c) => {
                    let details = c.details();
                    TcpSocketInfo {
                        handle,
                        local: c.local(),
                        remote: c.remote(),
                        state: c.state(),
                        send_queue: details.send_queue,
                        recv_queue: details.recv_queue,
                        counters: c.counters(),
                        details: Some(details),
                    }
                }
            })
            .collect();
        rows.sort_by_key(|r| (r.state != State::Listen, r.local.port(), r.remote.port()));
        rows
    }

    /// Connections in TIME-WAIT (held without buffers), with their 4-tuples.
    pub fn time_wait(&self) -> Vec<(SocketAddrV4, SocketAddrV4)> {
        self.tcp.time_wait.keys()
    }

    fn conn(&self, h: SocketHandle) -> Result<&Connection, TcpError> {
        match self.tcp.table.get(h) {
            Ok(TcpSocket::Conn(c)) => Ok(c),
            Ok(_) => Err(TcpError::InvalidState),
            Err(_) => Err(TcpError::InvalidHandle),
        }
    }

    fn conn_mut(&mut self, h: SocketHandle) -> Result<&mut Connection, TcpError> {
        match self.tcp.table.get_mut(h) {
            Ok(TcpSocket::Conn(c)) => Ok(c),
            Ok(_) => Err(TcpError::InvalidState),
            Err(_) => Err(TcpError::InvalidHandle),
        }
    }
}

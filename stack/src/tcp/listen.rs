//! Passive open: listening sockets, their SYN queue and accept queue (RFC 9293 3.10.7.2),
//! and `accept`.
//!
//! A SYN to a listening port creates a connection in SYN-RECEIVED right away, in the
//! listener's bounded SYN queue, and registered under its 4-tuple so the handshake's
//! last ACK finds it directly. Once ESTABLISHED it moves to the accept queue, bounded by
//! the backlog; `accept` takes from there.
//!
//! Under a SYN flood that fills the SYN queue, further SYNs are answered with **SYN
//! cookies** (RFC 4987 3.6, `listen_cookie.rs`): no state is kept until the ACK returns
//! the cookie, so a flood of any size costs no memory and a legitimate client still
//! connects, with its MSS (and, when it sends timestamps, its window scale and SACK
//! permission). With [`TcpConfig::syn_cookies`](super::TcpConfig::syn_cookies) off, the
//! **oldest half-open connection is evicted** to make room instead (BSD's syncache): a
//! legitimate client is then crowded out by more than `syn_backlog` SYNs per round trip.

use core::net::{Ipv4Addr, SocketAddrV4};

use log::debug;

use super::binds::Holder;
use super::config::TcpConfig;
use super::connection::Connection;
use super::error::TcpError;
use super::layer::{Tcp, TcpSocket};
use super::listener::Listener;
use super::socket_options::SocketOptions;
use crate::counters::RxDrop;
use crate::outbound::Outbound;
use crate::socket::{Protocol, SocketHandle};
use crate::time::Instant;
use crate::wire::tcp::{Flags, TcpRepr};

impl Tcp {
    /// Opens a listening socket on `local` (0.0.0.0 or `our` address; port 0 picks one)
    /// holding up to `backlog` established connections for [`Tcp::accept`]; the
    /// connections it makes inherit `options`.
    pub fn listen(
        &mut self,
        our: Ipv4Addr,
        local: SocketAddrV4,
        backlog: usize,
        options: SocketOptions,
    ) -> Result<SocketHandle, TcpError> {
        if !local.ip().is_unspecified() && *local.ip() != our {
            return Err(TcpError::AddrNotAvailable);
        }
        let binds = (&self.binds, &self.time_wait.binds);
        let port = if local.port() == 0 {
            self.ports
                .allocate(Protocol::Tcp, our, (Ipv4Addr::UNSPECIFIED, 0), |p| {
                    !binds.0.conflicts(p, false) && !binds.1.conflicts(p, false)
                })
                .map_err(|_| TcpError::PortsExhausted)?
        } else {
            // Linux's bind rule (binds.rs): a port held by a connection, listener or
            // TIME-WAIT entry is shared only when both set SO_REUSEADDR and it is
            // nobody's listening port.
            if self.bind_conflict(local.port(), options.reuse_addr) {
                return Err(TcpError::AddrInUse);
            }
            self.ports.hold(Protocol::Tcp, local.port());
            local.port()
        };
        let local = SocketAddrV4::new(*local.ip(), port);
        let listener = TcpSocket::Listener(Listener::new(local, backlog, options));
        let Ok(h) = self.table.insert(listener) else {
            self.ports.release(Protocol::Tcp, port);
            return Err(TcpError::TooManySockets);
        };
        self.binds.hold(port, listener_holder(options.reuse_addr));
        self.demux.bind(Protocol::Tcp, local, h);
        Ok(h)
    }

    /// Takes the oldest established connection from listener `l`, if any.
    pub fn accept(&mut self, l: SocketHandle) -> Result<Option<SocketHandle>, TcpError> {
        let next = match self.table.get_mut(l) {
            Ok(TcpSocket::Listener(listener)) => listener.accept_queue.pop_front(),
            Ok(_) => return Err(TcpError::InvalidState),
            Err(_) => return Err(TcpError::InvalidHandle),
        };
        let Some(h) = next else { return Ok(None) };
        if let Ok(TcpSocket::Conn(conn)) = self.table.get_mut(h) {
            // From now on the application holds it.
            conn.orphaned = false;
            conn.parent = None;
        }
        Ok(Some(h))
    }

    /// RFC 9293 3.10.7.2: a segment for listener `lh`.
    pub(super) fn on_listener_segment(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        lh: SocketHandle,
        (local, remote): (SocketAddrV4, SocketAddrV4),
        seg: &TcpRepr,
        data: &[u8],
    ) -> Result<(), RxDrop> {
        if seg.flags.has(Flags::RST) {
            return Err(RxDrop::TcpListenerIgnored);
        }
        if seg.flags.has(Flags::ACK) {
            // RFC 4987 3.6: the handshake's last ACK for a SYN answered with a cookie.
            if self.on_cookie_ack(now, out, lh, (local, remote), seg, data)? {
                return Ok(());
            }
            // An ACK to a listener: <SEQ=SEG.ACK><CTL=RST>.
            self.send_reset_for(now, out, local, remote, seg, 0);
            return Err(RxDrop::TcpListenerIgnored);
        }
        // SYN+FIN is no way to open a connection, only to probe past filters: discard it,
        // as Linux does (RFC 9293 leaves a FIN on a SYN to the state it creates).
        if !seg.flags.has(Flags::SYN) || seg.flags.has(Flags::FIN) {
            return Err(RxDrop::TcpListenerIgnored);
        }
        // With the accept queue full, a new connection could not be handed out anyway:
        // drop the SYN and let the client retry (Linux's tcp_conn_request does the same).
        if self.accept_queue_full(lh) {
            self.counters.accept_queue_overflows += 1;
            return Err(RxDrop::TcpAcceptQueueFull);
        }
        // Room in the SYN queue: if full, answer with a cookie (RFC 4987 3.6), or evict
        // the oldest half-open connection.
        let syn_backlog = self.config.syn_backlog;
        let full = match self.table.get(lh) {
            Ok(TcpSocket::Listener(l)) => l.syn_queue.len() >= syn_backlog,
            _ => return Err(RxDrop::TcpNoSocket),
        };
        if full && self.config.syn_cookies {
            self.send_syn_cookie(now, out, lh, (local, remote), seg);
            return Ok(());
        }
        let oldest = match self.table.get_mut(lh) {
            Ok(TcpSocket::Listener(l)) if full => {
                l.evicted += 1;
                l.syn_queue.pop_front()
            }
            Ok(TcpSocket::Listener(_)) => None,
            _ => return Err(RxDrop::TcpNoSocket),
        };
        if let Some(old) = oldest {
            self.discard(old);
            self.counters.syn_queue_evictions += 1;
        }
        // A connection of its own in LISTEN for this peer takes the SYN (RFC 9293's
        // model: the listener's TCB is copied, then moves to SYN-RECEIVED).
        let iss = self.isn.isn(now, local, remote);
        let our_mss = Tcp::our_mss(out);
        let config = self.child_config(lh);
        let mut conn = Connection::listen(config, local, remote, iss, our_mss, now);
        let _ = conn.handle_segment(now, seg, &[]);
        conn.pooled = true;
        let h = self.insert_child(lh, conn, local, remote)?;
        if let Ok(TcpSocket::Listener(l)) = self.table.get_mut(lh) {
            l.syn_queue.push_back(h);
        }
        debug!("tcp {local} <- {remote}: SYN, LISTEN -> SYN-RECEIVED");
        self.flush_handle(now, out, h);
        Ok(())
    }

    /// Enters `conn`, a connection listener `lh` made for `remote` to `local`, in the
    /// socket table and the demux, held by nobody until `accept` hands it out.
    pub(super) fn insert_child(
        &mut self,
        lh: SocketHandle,
        mut conn: Connection,
        local: SocketAddrV4,
        remote: SocketAddrV4,
    ) -> Result<SocketHandle, RxDrop> {
        conn.parent = Some(lh);
        conn.orphaned = true;
        // Linux's accepted sockets hold the listener's port with its SO_REUSEADDR.
        conn.reuse_addr = match self.table.get(lh) {
            Ok(TcpSocket::Listener(l)) => l.options.reuse_addr,
            _ => false,
        };
        let holder = conn.holder();
        let Ok(h) = self.table.insert(TcpSocket::Conn(Box::new(conn))) else {
            return Err(RxDrop::TcpNoRoom);
        };
        self.demux.connect(Protocol::Tcp, local, remote, h);
        self.ports.hold(Protocol::Tcp, local.port());
        self.binds.hold(local.port(), holder);
        Ok(h)
    }

    /// A half-open connection completed its handshake: move it to the accept queue (the
    /// caller checked there is room) and wake whoever waits in `accept`.
    pub(super) fn promote(&mut self, lh: SocketHandle, h: SocketHandle) {
        if let Ok(TcpSocket::Listener(l)) = self.table.get_mut(lh) {
            l.syn_queue.retain(|&x| x != h);
            l.accept_queue.push_back(h);
            self.touched.touch(lh);
        }
    }

    /// True when listener `lh` holds as many established connections as its backlog.
    pub(super) fn accept_queue_full(&self, lh: SocketHandle) -> bool {
        match self.table.get(lh) {
            Ok(TcpSocket::Listener(l)) => l.accept_queue.len() >= l.backlog,
            _ => false,
        }
    }

    /// The config of the connections listener `lh` makes: the stack's, with the
    /// options set on the listener (its buffer sizes), as Linux's children inherit them.
    pub(super) fn child_config(&self, lh: SocketHandle) -> TcpConfig {
        match self.table.get(lh) {
            Ok(TcpSocket::Listener(l)) => l.options.apply(&self.config),
            _ => self.config.clone(),
        }
    }

    /// The listener `lh` names, if it is one.
    pub(super) fn listener_mut(&mut self, lh: Option<SocketHandle>) -> Option<&mut Listener> {
        match self.table.get_mut(lh?) {
            Ok(TcpSocket::Listener(l)) => Some(l),
            _ => None,
        }
    }

    /// Closes a listener: its queued connections are reset (nobody will accept them).
    pub(super) fn close_listener(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        h: SocketHandle,
    ) -> Result<(), TcpError> {
        let Ok(TcpSocket::Listener(l)) = self.table.remove(h) else {
            return Err(TcpError::InvalidHandle);
        };
        self.demux.unbind(Protocol::Tcp, l.local);
        self.ports.release(Protocol::Tcp, l.local.port());
        let holder = listener_holder(l.options.reuse_addr);
        self.binds.release(l.local.port(), holder);
        for c in l.syn_queue.iter().chain(l.accept_queue.iter()).copied() {
            if let Ok(TcpSocket::Conn(conn)) = self.table.get_mut(c) {
                conn.parent = None;
                conn.abort();
            }
            self.flush_handle(now, out, c);
        }
        Ok(())
    }
}

/// How a listener holds its port.
fn listener_holder(reuse: bool) -> Holder {
    Holder {
        reuse,
        listening: true,
    }
}

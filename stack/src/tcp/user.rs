//! The user calls of RFC 9293 3.10 on one connection: SEND, RECEIVE, CLOSE (as shutdown
//! and close), ABORT and STATUS, and the options an application sets. The stack's socket
//! API ([`super::api`]) finds the connection by handle and calls these.

use super::connection::Connection;
use super::error::TcpError;
use super::segment::Segment;
use super::state::State;
use super::timer::Timer;
use crate::time::Duration;
use crate::wire::tcp::{Flags, TcpRepr};

/// What [`Connection::close`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// An orderly close: our FIN follows the queued data, and the connection finishes
    /// (FIN-WAIT, LAST-ACK, TIME-WAIT) without the application.
    Orderly,
    /// Received data was left unread, so the connection was reset instead (RFC 1122
    /// 4.2.2.13): the peer learns the data was lost.
    Reset,
}

impl Connection {
    /// SEND (RFC 9293 3.10.2): queues `data`; returns how much fit (0 when the send buffer
    /// is full, or before the handshake completes). Errors once the connection failed or
    /// our side was shut down (`BrokenPipe`). In LISTEN it turns the passive open into an
    /// active one: our SYN goes out and the connection is in SYN-SENT.
    pub fn send(&mut self, data: &[u8]) -> Result<usize, TcpError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        match self.state {
            // RFC 9293 3.10.2, SEND in LISTEN: a connection always has its foreign
            // socket, so "change the connection from passive to active, select an ISS.
            // Send a SYN segment ... Enter SYN-SENT state" (the ISS is the one given at
            // LISTEN). The data may be "queued for transmission after entering
            // ESTABLISHED": as in SYN-SENT, none is taken before then.
            State::Listen => {
                self.passive = false;
                self.set_state(State::SynSent);
                return Ok(0);
            }
            State::SynSent | State::SynReceived => return Ok(0),
            State::Established | State::CloseWait if !self.fin_queued => {}
            State::Closed => return Err(TcpError::NotConnected),
            _ => return Err(TcpError::BrokenPipe),
        }
        Ok(self.send.write(data))
    }

    /// RECEIVE (RFC 9293 3.10.3): `Ok(Some(n))` with n > 0 bytes read into `buf`,
    /// `Ok(Some(0))` at end of stream (the peer's FIN and everything before it was read),
    /// `Ok(None)` when nothing is available yet. A failure (reset, timeout) is reported
    /// once as an error.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
        let n = self.recv.read(buf);
        if n > 0 {
            if self.recv.capacity() > self.config.recv_buffer {
                self.fit_recv_buffer();
            }
            // Reading opened the window; tell the peer if it grew enough to matter
            // (RFC 1122 4.2.3.3, the receiver's side of silly window avoidance). Not
            // once the peer's FIN is in: it sends nothing more, so the update tells it
            // nothing, and a peer that has since closed answers it with a reset (found
            // by the simulation matrix; Linux skips it too, tcp_cleanup_rbuf).
            let offered = self.rcv_wnd();
            let worth = (2 * self.our_mss).min(self.recv.capacity() / 2);
            if self.peer_fin.is_none() && self.advertised_window() >= offered + worth {
                self.ack_now = true;
            }
            return Ok(Some(n));
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        Ok(self.read_ended().then_some(0))
    }

    /// Like [`recv`](Connection::recv) but leaves the bytes in the receive buffer
    /// (MSG_PEEK), and an error in place for the next call.
    pub fn peek(&self, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
        let n = self.recv.peek(buf);
        if n > 0 {
            return Ok(Some(n));
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(self.read_ended().then_some(0))
    }

    /// Whether an empty receive buffer means end of stream: the peer's FIN is in
    /// (CLOSE-WAIT, LAST-ACK, CLOSING, TIME-WAIT) or the connection is closed.
    fn read_ended(&self) -> bool {
        matches!(
            self.state,
            State::CloseWait | State::LastAck | State::Closing | State::TimeWait | State::Closed
        )
    }

    /// CLOSE of our sending side (RFC 9293 3.10.4): a FIN follows the queued data.
    /// Reading goes on until the peer closes too.
    pub fn shutdown(&mut self) {
        match self.state {
            State::Established => {
                self.fin_queued = true;
                self.set_state(State::FinWait1);
            }
            State::CloseWait => {
                self.fin_queued = true;
                self.set_state(State::LastAck);
            }
            // RFC 9293 3.10.4: in LISTEN or SYN-SENT, delete the connection.
            State::Listen | State::SynSent => self.set_state(State::Closed),
            // RFC 9293 3.10.4, SYN-RECEIVED: "If no SENDs have been issued and there is
            // no pending data to send, then form a FIN segment and send it, and enter
            // FIN-WAIT-1 state". SEND queues nothing before ESTABLISHED here, so that is
            // always the case: the FIN follows our SYN at ISS + 1 at once, before the
            // handshake's ACK (Linux's tcp_close_state does the same).
            State::SynReceived => {
                self.fin_queued = true;
                self.set_state(State::FinWait1);
            }
            _ => {}
        }
    }

    /// The application is done with the connection: an orderly close that finishes
    /// without it, or a reset if received data was left unread (RFC 1122 4.2.2.13).
    pub fn close(&mut self) -> Close {
        if self.recv.readable() > 0 && self.state.is_synchronized() {
            self.abort();
            return Close::Reset;
        }
        self.orphaned = true;
        if self.state.is_synchronized() || self.state == State::SynReceived {
            self.shutdown();
        } else {
            self.set_state(State::Closed);
        }
        Close::Orderly
    }

    /// ABORT (RFC 9293 3.10.5): a RST goes out if the peer knows of us (SYN-RECEIVED or
    /// a synchronized state), and the connection is CLOSED at once.
    pub fn abort(&mut self) {
        if self.state.is_synchronized() || self.state == State::SynReceived {
            let rst = TcpRepr {
                src_port: self.local.port(),
                dst_port: self.remote.port(),
                seq: self.snd_nxt,
                ack: self.rcv_nxt,
                flags: Flags::RST | Flags::ACK,
                ..TcpRepr::default()
            };
            self.push_pending(Segment::header(rst));
        }
        self.orphaned = true;
        self.timers.clear();
        self.set_state(State::Closed);
    }

    /// Takes the error that ended or troubles the connection, if any (SO_ERROR).
    pub fn take_error(&mut self) -> Option<TcpError> {
        self.error.take()
    }

    /// True when a receive would not wait: data, end of stream, or an error is there.
    pub fn can_read(&self) -> bool {
        self.recv.readable() > 0
            || self.error.is_some()
            || !matches!(
                self.state,
                State::Listen
                    | State::SynSent
                    | State::SynReceived
                    | State::Established
                    | State::FinWait1
                    | State::FinWait2
            )
    }

    /// True when a send would not wait: there is buffer room on an open connection, or
    /// sending would fail at once.
    pub fn can_write(&self) -> bool {
        match self.state {
            State::Listen | State::SynSent | State::SynReceived => self.error.is_some(),
            State::Established | State::CloseWait if !self.fin_queued => {
                self.send.free() > 0 || self.error.is_some()
            }
            _ => true,
        }
    }

    /// True when every byte sent has been acknowledged (or the connection is over).
    pub fn all_acked(&self) -> bool {
        self.send.is_empty() || self.state == State::Closed
    }

    /// Disables (true) or enables Nagle's algorithm (TCP_NODELAY).
    pub fn set_nodelay(&mut self, on: bool) {
        self.nodelay = on;
    }

    /// Whether Nagle's algorithm is disabled.
    pub fn nodelay(&self) -> bool {
        self.nodelay
    }

    /// SO_RCVBUF: the receive buffer becomes `bytes` of data. Before our SYN has gone
    /// out, the window scale it will offer follows (RFC 7323 2.2); after, the scale is
    /// settled and the window grows at most as far as it can say. A smaller buffer
    /// takes effect as the application reads: the right edge of the window never moves
    /// left (RFC 9293 3.8.6).
    pub fn set_recv_buffer(&mut self, bytes: usize) {
        self.config.recv_buffer = bytes.max(1);
        self.fit_recv_buffer();
        if self.snd_max == self.iss {
            self.our_shift = super::options::shift_for(self.config.recv_buffer);
        }
    }

    /// Brings the receive buffer to its set size as far as the window already offered
    /// allows: never below the bytes held plus RCV.WND.
    fn fit_recv_buffer(&mut self) {
        let offered = self.recv.readable() + self.rcv_wnd();
        self.recv.set_capacity(self.config.recv_buffer.max(offered));
    }

    /// SO_SNDBUF: the send buffer holds at most `bytes` of data from now on. Bytes
    /// already queued beyond that stay; sending waits until the queue drains below it.
    pub fn set_send_buffer(&mut self, bytes: usize) {
        self.send.set_capacity(bytes.max(1));
        self.config.send_buffer = self.send.capacity();
    }

    /// The receive and send buffer sizes as set, in bytes of data (a receive buffer
    /// made smaller may hold more until the application reads).
    pub fn buffer_sizes(&self) -> (usize, usize) {
        (self.config.recv_buffer, self.send.capacity())
    }

    /// Turns keep-alive probes on or off (off by default, RFC 1122 4.2.3.6).
    pub fn set_keepalive(&mut self, on: bool) {
        self.keepalive = on;
    }

    /// Keep-alive's idle time, probe interval and probe count. A connection waiting for
    /// its first probe waits by the new idle time from when the peer was last heard
    /// (the timer is re-armed when the call returns), as Linux's
    /// `tcp_sock_set_keepidle_locked` does; probes already going keep their pace.
    pub fn set_keepalive_params(&mut self, idle: Duration, interval: Duration, probes: u32) {
        self.config.keepalive_idle = idle;
        self.config.keepalive_interval = interval;
        self.config.keepalive_probes = probes;
        if self.keepalive_probes == 0 {
            self.timers.stop(Timer::Keepalive);
        }
    }
}

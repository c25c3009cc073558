//! One end of a simulated connection, whatever stack runs it: the calls the simulation
//! loop makes ([`Endpoint`]) and netstack's implementation ([`NetstackEnd`]). Times are
//! the virtual clock's.

use std::net::{Ipv4Addr, SocketAddrV4};

use netstack_core::{Config, Instant, MacAddr, RxDrop, SocketHandle, Stack, TcpState};

/// The client's address (always netstack); its MAC ends in 2.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The server's address; its MAC ends in 3.
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
/// The server's port.
pub const PORT: u16 = 5001;

/// What a read found.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// This many bytes.
    Data(usize),
    /// Nothing yet.
    Nothing,
    /// End of stream: the peer's FIN.
    Eof,
}

/// One end of the connection, driven sans-IO by the simulation.
pub trait Endpoint {
    /// A frame arrived at `now`.
    fn receive(&mut self, now: Instant, frame: &[u8]);
    /// Runs what is due at `now` and hands every frame to send to `emit`.
    fn poll(&mut self, now: Instant, emit: &mut dyn FnMut(&[u8]));
    /// When the stack next wants [`Endpoint::poll`] without new input.
    fn next_timer(&mut self, now: Instant) -> Option<Instant>;
    /// Whether the connection is established (a server: accepted).
    fn established(&mut self) -> bool;
    /// Queues stream bytes; returns how many fit.
    fn send(&mut self, now: Instant, data: &[u8]) -> Result<usize, String>;
    /// Reads stream bytes into `buf`.
    fn recv(&mut self, now: Instant, buf: &mut [u8]) -> Result<Read, String>;
    /// Closes the sending side (FIN after the queued data).
    fn shutdown(&mut self, now: Instant) -> Result<(), String>;
    /// Whether the connection ended in order: TIME-WAIT or CLOSED, without a reset or
    /// an error. `Err` when it ended otherwise.
    fn closed_cleanly(&mut self) -> Result<bool, String>;
    /// The stack's counters and the connection's variables, for failure messages.
    fn describe(&mut self) -> String;
}

/// netstack as an [`Endpoint`]: a `Stack` with one connection.
pub struct NetstackEnd {
    stack: Stack,
    listener: Option<SocketHandle>,
    conn: Option<SocketHandle>,
}

impl NetstackEnd {
    /// The client, connecting to the server's port at once.
    pub fn client(seed: u64) -> NetstackEnd {
        let mut stack = stack(CLIENT, 2, seed);
        let conn = stack
            .tcp()
            .connect(Instant::ZERO, SocketAddrV4::new(SERVER, PORT))
            .expect("netstack connects");
        NetstackEnd {
            stack,
            listener: None,
            conn: Some(conn),
        }
    }

    /// The server, listening on the port.
    pub fn server(seed: u64) -> NetstackEnd {
        let mut stack = stack(SERVER, 3, seed);
        let listener = stack
            .tcp()
            .listen(SocketAddrV4::new(SERVER, PORT), 1)
            .expect("netstack listens");
        NetstackEnd {
            stack,
            listener: Some(listener),
            conn: None,
        }
    }

    fn conn(&self) -> Result<SocketHandle, String> {
        self.conn.ok_or_else(|| "not connected".to_string())
    }
}

fn stack(addr: Ipv4Addr, last: u8, seed: u64) -> Stack {
    let config = Config {
        addr,
        mac: MacAddr([2, 0, 0, 0, 0, last]),
        gateway: None,
        ..Config::default()
    };
    Stack::new(config, seed).expect("a valid configuration")
}

impl Endpoint for NetstackEnd {
    fn receive(&mut self, now: Instant, frame: &[u8]) {
        self.stack.receive(now, frame);
    }

    fn poll(&mut self, now: Instant, emit: &mut dyn FnMut(&[u8])) {
        if self.stack.poll_timeout().is_some_and(|at| at <= now) {
            self.stack.handle_timeout(now);
        }
        self.stack.transmit(|frame| emit(frame));
    }

    fn next_timer(&mut self, _now: Instant) -> Option<Instant> {
        self.stack.poll_timeout()
    }

    fn established(&mut self) -> bool {
        if let (None, Some(listener)) = (self.conn, self.listener) {
            self.conn = self.stack.tcp().accept(listener).ok().flatten();
        }
        self.conn
            .and_then(|h| self.stack.tcp().state(h).ok())
            .is_some_and(|s| s.is_synchronized())
    }

    fn send(&mut self, now: Instant, data: &[u8]) -> Result<usize, String> {
        let h = self.conn()?;
        self.stack
            .tcp()
            .send(now, h, data)
            .map_err(|e| format!("send: {e}"))
    }

    fn recv(&mut self, now: Instant, buf: &mut [u8]) -> Result<Read, String> {
        let h = self.conn()?;
        match self.stack.tcp().recv(now, h, buf) {
            Ok(Some(0)) => Ok(Read::Eof),
            Ok(Some(n)) => Ok(Read::Data(n)),
            Ok(None) => Ok(Read::Nothing),
            Err(e) => Err(format!("recv: {e}")),
        }
    }

    fn shutdown(&mut self, now: Instant) -> Result<(), String> {
        let h = self.conn()?;
        self.stack
            .tcp()
            .shutdown(now, h)
            .map_err(|e| format!("shutdown: {e}"))
    }

    fn closed_cleanly(&mut self) -> Result<bool, String> {
        let h = self.conn()?;
        if let Some(e) = self.stack.tcp().take_error(h).map_err(|e| e.to_string())? {
            return Err(format!("the connection failed: {e}"));
        }
        // A reset is an error, but for one answering a segment that came after the
        // connection had closed: a reordered ACK behind the last one, say, which
        // RFC 9293 3.10.7.1 answers with a RST (as Linux does), counted as a segment for
        // no socket.
        let c = self.stack.counters();
        let (resets, late) = (c.tcp_resets_sent, c.rx_dropped(RxDrop::TcpNoSocket));
        if resets > late {
            return Err(format!(
                "{resets} resets sent ({late} of them to segments after the close)"
            ));
        }
        let state = self.stack.tcp().state(h).map_err(|e| e.to_string())?;
        Ok(matches!(state, TcpState::TimeWait | TcpState::Closed))
    }

    fn describe(&mut self) -> String {
        let mut out = String::new();
        for row in self.stack.tcp().sockets() {
            out += &format!(
                "  {} -> {} {} {:?} {:?}\n",
                row.local, row.remote, row.state, row.counters, row.details
            );
        }
        let c = self.stack.counters();
        out += &format!(
            "  rx_frames={} tx_frames={} resets_sent={} drops: {:?}",
            c.rx_frames,
            c.tx_frames,
            c.tcp_resets_sent,
            c.rx_drops().filter(|&(_, n)| n > 0).collect::<Vec<_>>()
        );
        out
    }
}

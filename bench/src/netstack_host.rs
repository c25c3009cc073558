//! netstack as a [`Host`]: a `Stack` with one connection, client or server.

use std::net::SocketAddrV4;

use netstack_core::{Config, Instant, MacAddr, SocketHandle, Stack, TcpConfig, TcpState};

use crate::host::{Host, HostParams, CLIENT_ADDR, PORT, SERVER_ADDR};

/// A netstack end of the link.
pub struct NetstackHost {
    stack: Stack,
    /// The listener, on the server only.
    listener: Option<SocketHandle>,
    /// The connection: at once on the client, once accepted on the server.
    conn: Option<SocketHandle>,
}

impl NetstackHost {
    /// The client at 10.0.0.2, connecting to the server's port at once.
    pub fn client(params: HostParams) -> Result<NetstackHost, String> {
        let mut stack = stack(params, true)?;
        let remote = SocketAddrV4::new(SERVER_ADDR, PORT);
        let conn = stack
            .tcp()
            .connect(Instant::ZERO, remote)
            .map_err(|e| format!("netstack connect: {e}"))?;
        Ok(NetstackHost {
            stack,
            listener: None,
            conn: Some(conn),
        })
    }

    /// The server at 10.0.0.3, listening on the port.
    pub fn server(params: HostParams) -> Result<NetstackHost, String> {
        let mut stack = stack(params, false)?;
        let listener = stack
            .tcp()
            .listen(SocketAddrV4::new(SERVER_ADDR, PORT), 1)
            .map_err(|e| format!("netstack listen: {e}"))?;
        Ok(NetstackHost {
            stack,
            listener: Some(listener),
            conn: None,
        })
    }
}

/// A stack with netstack's defaults, the link's MTU and the benchmark's buffers.
fn stack(params: HostParams, client: bool) -> Result<Stack, String> {
    let (addr, mac, seed) = match client {
        true => (CLIENT_ADDR, MacAddr([2, 0, 0, 0, 0, 2]), 2),
        false => (SERVER_ADDR, MacAddr([2, 0, 0, 0, 0, 3]), 3),
    };
    let mtu = u16::try_from(params.mtu).map_err(|_| format!("MTU {} is too large", params.mtu))?;
    let config = Config {
        addr,
        mac,
        gateway: None,
        mtu,
        tcp: TcpConfig {
            send_buffer: params.buffer,
            recv_buffer: params.buffer,
            ..TcpConfig::default()
        },
        ..Config::default()
    };
    Stack::new(config, seed).map_err(|e| format!("netstack refuses the configuration: {e}"))
}

impl Host for NetstackHost {
    fn receive(&mut self, now: u64, frame: &[u8]) {
        self.stack.receive(Instant::from_micros(now), frame);
    }

    fn poll(&mut self, now: u64, emit: &mut dyn FnMut(Vec<u8>)) {
        let now = Instant::from_micros(now);
        if self.stack.poll_timeout().is_some_and(|at| at <= now) {
            self.stack.handle_timeout(now);
        }
        self.stack.transmit(|frame| emit(frame.to_vec()));
    }

    fn next_timer(&mut self, _now: u64) -> Option<u64> {
        self.stack.poll_timeout().map(Instant::total_micros)
    }

    fn connected(&mut self, _now: u64) -> bool {
        if let (None, Some(listener)) = (self.conn, self.listener) {
            self.conn = self.stack.tcp().accept(listener).ok().flatten();
        }
        self.conn
            .and_then(|h| self.stack.tcp().state(h).ok())
            .is_some_and(|s| s != TcpState::SynSent && s != TcpState::SynReceived)
    }

    fn send(&mut self, now: u64, data: &[u8]) -> usize {
        let Some(h) = self.conn else { return 0 };
        self.stack
            .tcp()
            .send(Instant::from_micros(now), h, data)
            .unwrap_or(0)
    }

    fn recv(&mut self, now: u64, buf: &mut [u8]) -> usize {
        let Some(h) = self.conn else { return 0 };
        match self.stack.tcp().recv(Instant::from_micros(now), h, buf) {
            Ok(Some(n)) => n,
            _ => 0,
        }
    }

    fn counters(&mut self) -> Option<String> {
        let h = self.conn?;
        let row = self
            .stack
            .tcp()
            .sockets()
            .into_iter()
            .find(|r| r.handle == h)?;
        let c = row.counters;
        Some(format!(
            "retransmits={} fast_retransmits={} timeouts={} dup_acks={}",
            c.retransmits, c.fast_retransmits, c.timeouts, c.dup_acks
        ))
    }
}

//! A server stack under attack and a legitimate client stack beside it, on a virtual
//! wire and a virtual clock: the attacker's frames go straight into the server; what the
//! server sends to the client crosses the wire, what it sends to anyone else (answers to
//! forged sources) is counted and dropped. The server runs an echo service on port 7,
//! as `netstack serve` does, and [`Net::echo_once`] is the proof after each attack that
//! a legitimate client is still served.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};

use netstack_core::wire::{ethernet, ipv4, EtherType, EthernetRepr, Ipv4Repr, MacAddr, TcpRepr};
use netstack_core::{Config, Duration, Instant, SocketHandle, Stack, TcpState};

pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const SERVER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const CLIENT_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
pub const ECHO: u16 = 7;

/// The server, the client, the clock, and the server's echo service.
pub struct Net {
    pub server: Stack,
    pub client: Stack,
    pub now: Instant,
    pub listener: SocketHandle,
    /// Connections the echo service accepted and still serves.
    served: Vec<SocketHandle>,
    /// Frames the server sent to someone other than the client.
    pub stray: u64,
    /// The most sockets the server held at once, sampled at every step.
    pub peak_sockets: usize,
    /// Attack frames still to come: [`Net::step`] injects `flood_rate` of them (oldest
    /// first) at each of its first four turns of the wire, so the attack runs while the
    /// client works.
    flood: std::iter::Peekable<Box<dyn Iterator<Item = Vec<u8>>>>,
    pub flood_rate: usize,
    /// Attack frames injected so far.
    pub flooded: usize,
    /// The wire between server and client is cut: every frame is lost.
    pub cut: bool,
}

/// A default client configuration.
pub fn client_config() -> Config {
    Config {
        addr: CLIENT_IP,
        mac: CLIENT_MAC,
        gateway: None,
        ..Config::default()
    }
}

/// A default server configuration.
pub fn server_config() -> Config {
    Config {
        addr: SERVER_IP,
        mac: SERVER_MAC,
        ..Config::default()
    }
}

impl Net {
    pub fn new(server: Config) -> Net {
        Net::with_client(server, client_config())
    }

    /// A server and client with these configurations.
    pub fn with_client(server: Config, client: Config) -> Net {
        let mut server = Stack::new(server, 11).unwrap();
        let client = Stack::new(client, 22).unwrap();
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, ECHO);
        let listener = server.tcp().listen(any, 128).unwrap();
        Net {
            server,
            client,
            now: Instant::from_secs(1),
            listener,
            served: vec![],
            stray: 0,
            peak_sockets: 0,
            flood: no_flood(),
            flood_rate: 0,
            flooded: 0,
            cut: false,
        }
    }

    /// Starts an attack: the frames of `frames`, made as they are sent (so the test's own
    /// memory does not hide the stack's), `rate` at a time (see [`Net::step`]).
    pub fn flood(&mut self, rate: usize, frames: impl Iterator<Item = Vec<u8>> + 'static) {
        let frames: Box<dyn Iterator<Item = Vec<u8>>> = Box::new(frames);
        self.flood = frames.peekable();
        self.flood_rate = rate;
    }

    /// True while attack frames remain.
    pub fn flooding(&mut self) -> bool {
        self.flood.peek().is_some()
    }

    /// The attacker's frame, straight into the server, now.
    pub fn inject(&mut self, frame: &[u8]) {
        self.server.receive(self.now, frame);
    }

    /// Moves frames both ways and runs the echo service until nothing moves.
    pub fn step(&mut self) {
        for turn in 0..100_000 {
            // The attack interleaves with the first few turns of each step, so it runs
            // beside the client's exchanges without taking over the wire.
            let rate = if turn < 4 { self.flood_rate } else { 0 };
            for _ in 0..rate {
                let Some(f) = self.flood.next() else {
                    break;
                };
                self.server.receive(self.now, &f);
                self.flooded += 1;
            }
            self.serve();
            let mut from_server = vec![];
            self.server.transmit(|f| from_server.push(f.to_vec()));
            let mut from_client = vec![];
            self.client.transmit(|f| from_client.push(f.to_vec()));
            self.peak_sockets = self.peak_sockets.max(self.server.socket_count());
            if from_server.is_empty() && from_client.is_empty() {
                return;
            }
            for f in from_server {
                let for_client = EthernetRepr::parse(&f)
                    .is_ok_and(|(eth, _)| eth.dst == CLIENT_MAC || eth.dst.is_broadcast());
                if for_client && !self.cut {
                    self.client.receive(self.now, &f);
                } else {
                    self.stray += 1;
                }
            }
            for f in from_client.into_iter().filter(|_| !self.cut) {
                self.server.receive(self.now, &f);
            }
        }
        panic!("the wire never went quiet");
    }

    /// Advances the clock by `d`, running every timer due on the way.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.step();
        loop {
            let next = [self.server.poll_timeout(), self.client.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = t.max(self.now);
                    self.server.handle_timeout(self.now);
                    self.client.handle_timeout(self.now);
                    self.step();
                }
                _ => break,
            }
        }
        self.now = end;
        self.server.handle_timeout(self.now);
        self.client.handle_timeout(self.now);
        self.step();
    }

    /// The echo service: accept everything, echo what arrives, close at end of stream.
    fn serve(&mut self) {
        let now = self.now;
        while let Ok(Some(h)) = self.server.tcp().accept(self.listener) {
            self.served.push(h);
        }
        let mut buf = vec![0; 64 * 1024];
        let mut done = vec![];
        for &h in &self.served {
            loop {
                match self.server.tcp().recv(now, h, &mut buf) {
                    Ok(Some(0)) => {
                        let _ = self.server.tcp().close(now, h);
                        done.push(h);
                        break;
                    }
                    Ok(Some(n)) => {
                        // Echo service semantics: what does not fit the send buffer is
                        // dropped here, as a non-blocking server would have to queue it.
                        let _ = self.server.tcp().send(now, h, &buf[..n]);
                    }
                    Ok(None) => break,
                    Err(_) => {
                        let _ = self.server.tcp().close(now, h);
                        done.push(h);
                        break;
                    }
                }
            }
        }
        self.served.retain(|h| !done.contains(h));
    }

    /// A legitimate client connects to the echo service, sends `msg`, reads it back and
    /// closes, within `limit` of virtual time. Returns the time it took.
    pub fn echo_once_within(&mut self, msg: &[u8], limit: Duration) -> Result<Duration, String> {
        let start = self.now;
        let h = self.open_within(limit)?;
        let spent = (self.now - start).total_micros();
        let left = Duration::from_micros(limit.total_micros().saturating_sub(spent));
        let echoed = self.echo_on(h, msg, left);
        if echoed.is_ok() {
            self.client.tcp().close(self.now, h).unwrap();
            self.step();
        } else {
            let _ = self.client.tcp().abort(self.now, h);
        }
        echoed.map(|_| self.now - start)
    }

    /// Opens a client connection to the echo service, ESTABLISHED within `limit`.
    pub fn open_within(&mut self, limit: Duration) -> Result<SocketHandle, String> {
        let start = self.now;
        let server = SocketAddrV4::new(SERVER_IP, ECHO);
        let h = self
            .client
            .tcp()
            .connect(self.now, server)
            .map_err(|e| format!("connect: {e}"))?;
        while self.now - start < limit {
            self.step();
            match self.client.tcp().state(h).map_err(|e| format!("{e}"))? {
                TcpState::Established => return Ok(h),
                TcpState::Closed => {
                    let err = self.client.tcp().take_error(h);
                    return Err(format!("connect failed: {err:?}"));
                }
                _ => self.wait(start + limit),
            }
        }
        let _ = self.client.tcp().abort(self.now, h);
        Err(format!("not established within {limit}"))
    }

    /// Sends `msg` on the client's connection `h` and reads the echo, within `limit`.
    pub fn echo_on(&mut self, h: SocketHandle, msg: &[u8], limit: Duration) -> Result<(), String> {
        let start = self.now;
        self.client
            .tcp()
            .send(self.now, h, msg)
            .map_err(|e| format!("send: {e}"))?;
        let mut got = vec![];
        let mut buf = [0; 4096];
        while self.now - start < limit {
            self.step();
            loop {
                match self.client.tcp().recv(self.now, h, &mut buf) {
                    Ok(Some(0)) => return Err("the server closed".into()),
                    Ok(Some(n)) => got.extend_from_slice(&buf[..n]),
                    Ok(None) => break,
                    Err(e) => return Err(format!("recv: {e}")),
                }
            }
            if got.len() >= msg.len() {
                if got != msg {
                    return Err(format!("the echo came back changed: {got:?}"));
                }
                return Ok(());
            }
            self.wait(start + limit);
        }
        Err(format!("no echo within {limit}"))
    }

    /// Moves the clock to the next timer of either stack (at most to `until`, and at
    /// least a microsecond on), and runs it.
    pub fn wait(&mut self, until: Instant) {
        let next = [self.server.poll_timeout(), self.client.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(until);
        self.now = next.max(self.now + Duration::from_micros(1)).min(until);
        self.server.handle_timeout(self.now);
        self.client.handle_timeout(self.now);
    }

    /// [`echo_once_within`](Self::echo_once_within) ten seconds: a client is served.
    #[track_caller]
    pub fn assert_served(&mut self, what: &str) {
        let msg = format!("hello after {what}");
        if let Err(e) = self.echo_once_within(msg.as_bytes(), Duration::from_secs(10)) {
            panic!("after {what}, the legitimate client was not served: {e}");
        }
    }

    /// The server's sockets in `state`.
    pub fn server_sockets_in(&mut self, state: TcpState) -> usize {
        let rows = self.server.tcp().sockets();
        rows.iter().filter(|r| r.state == state).count()
    }
}

fn no_flood() -> std::iter::Peekable<Box<dyn Iterator<Item = Vec<u8>>>> {
    let none: Box<dyn Iterator<Item = Vec<u8>>> = Box::new(std::iter::empty());
    none.peekable()
}

/// An Ethernet frame from `src_mac` to the server around an IPv4 datagram.
pub fn ip_frame(src_mac: MacAddr, ip: Ipv4Repr, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0; ethernet::HEADER_LEN + ipv4::HEADER_LEN];
    EthernetRepr {
        dst: SERVER_MAC,
        src: src_mac,
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut f[..ethernet::HEADER_LEN]);
    ip.emit(&mut f[ethernet::HEADER_LEN..]);
    f.extend_from_slice(body);
    f
}

/// The IPv4 header of a datagram from `src` to the server.
pub fn ip_header(src: Ipv4Addr, protocol: u8, payload_len: usize) -> Ipv4Repr {
    Ipv4Repr {
        src,
        dst: SERVER_IP,
        protocol,
        ttl: 64,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
        payload_len,
    }
}

/// A TCP segment from `src` to the server, in a frame from `src_mac`.
pub fn tcp_frame(src_mac: MacAddr, src: Ipv4Addr, repr: &TcpRepr, data: &[u8]) -> Vec<u8> {
    let mut body = vec![0; repr.header_len() + data.len()];
    repr.emit(src, SERVER_IP, data, &mut body);
    ip_frame(
        src_mac,
        ip_header(src, ipv4::protocol::TCP, body.len()),
        &body,
    )
}

/// A small deterministic generator for attack traffic (SplitMix64): the seed is printed
/// by each test, and reproduces it.
pub struct Dice(pub u64);

impl Dice {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A random unicast host address on 10.0.0.0/24 other than ours and the client's.
    pub fn neighbour(&mut self) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, 3 + (self.next() % 251) as u8)
    }

    /// A random unicast MAC.
    pub fn mac(&mut self) -> MacAddr {
        let b = self.next().to_be_bytes();
        MacAddr([b[0] & 0xfe | 0x02, b[1], b[2], b[3], b[4], b[5]])
    }
}

/// The test process's peak resident set (VmHWM) in KiB, for the report.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

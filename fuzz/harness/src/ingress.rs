//! The `ingress` target: a whole stack holding a listener (port 80), an established
//! connection (from 10.0.0.1:40000) and a UDP socket (port 7) is fed a sequence of
//! (time step, frame). The input is records of
//!
//! ```text
//! [delta ms: u16][flags: u8][len: u16][len bytes of frame]
//! ```
//!
//! where flag bit 0 asks for the IPv4 header and TCP/UDP checksums to be fixed, so the
//! fuzzer's segments reach TCP. Oracles: no panic; every frame the stack sends parses
//! (Ethernet, IPv4 with its checksum, and TCP or UDP with theirs).

use std::net::SocketAddrV4;

use netstack_core::tcp::seq::Seq;
use netstack_core::wire::ipv4::protocol;
use netstack_core::wire::tcp::{Flags, Options};
use netstack_core::wire::{
    ethernet, ArpOperation, ArpRepr, EtherType, EthernetRepr, Ipv4Repr, MacAddr, TcpRepr, UdpRepr,
};
use netstack_core::{Config, Duration, Instant, SocketHandle, Stack};

use crate::bytes::{Reader, Writer};
use crate::trace::{tcp_frame, Dir, Line, PEER, PEER_MAC, US, US_MAC};
use crate::wire::fix_l4_checksum;

/// Frames one input delivers at most.
pub const MAX_FRAMES: usize = 64;
/// The longest frame.
const MAX_FRAME: usize = 1600;

/// The stack under test, and the numbers of its established connection.
pub struct Ingress {
    /// The stack.
    pub stack: Stack,
    /// The virtual clock.
    pub now: Instant,
    /// The listener on port 80.
    pub listener: SocketHandle,
    /// The established connection, accepted from the listener.
    pub conn: SocketHandle,
    /// The UDP socket on port 7.
    pub udp: SocketHandle,
    /// The connection's ISS (the stack's) and the peer's next sequence number.
    pub iss: u32,
    /// The peer's next sequence number.
    pub peer_next: u32,
    /// Connections accepted since.
    pub accepted: Vec<SocketHandle>,
    /// The trace, when recording.
    pub trace: Option<Vec<Line>>,
}

/// The ARP request that teaches the stack the peer's MAC (RFC 826's merge).
pub fn arp_request() -> Vec<u8> {
    let mut f = vec![0; ethernet::HEADER_LEN + 28];
    EthernetRepr {
        dst: MacAddr::BROADCAST,
        src: PEER_MAC,
        ethertype: EtherType::Arp,
    }
    .emit(&mut f);
    ArpRepr {
        operation: ArpOperation::Request,
        sender_mac: PEER_MAC,
        sender_ip: PEER.0,
        target_mac: MacAddr::ZERO,
        target_ip: US.0,
    }
    .emit(&mut f[ethernet::HEADER_LEN..]);
    f
}

/// A TCP segment from the peer's port `port`.
pub fn peer_tcp(port: u16, seq: u32, ack: u32, flags: Flags, data: &[u8]) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: port,
        dst_port: US.1,
        seq: Seq(seq),
        ack: Seq(ack),
        flags,
        window: 65535,
        urgent: 0,
        options: Options {
            mss: flags.has(Flags::SYN).then_some(1460),
            ..Options::default()
        },
    };
    tcp_frame(Dir::PeerToUs, &repr, data)
}

/// A UDP datagram from the peer to port 7.
pub fn peer_udp(data: &[u8]) -> Vec<u8> {
    let udp = UdpRepr {
        src_port: PEER.1,
        dst_port: 7,
    };
    let mut seg = vec![0; 8 + data.len()];
    udp.emit(PEER.0, US.0, data, &mut seg);
    let mut f = vec![0; 34];
    EthernetRepr {
        dst: US_MAC,
        src: PEER_MAC,
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut f);
    Ipv4Repr {
        src: PEER.0,
        dst: US.0,
        protocol: protocol::UDP,
        ttl: 64,
        ident: 1,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        payload_len: seg.len(),
    }
    .emit(&mut f[14..]);
    f.extend_from_slice(&seg);
    f
}

/// Fixes the IPv4 header checksum and, for TCP and UDP, the segment's, in place.
pub fn fix_checksums(f: &mut [u8]) {
    if f.len() < 34 || f[12..14] != [0x08, 0x00] {
        return;
    }
    let ihl = usize::from(f[14] & 0x0f) * 4;
    if ihl < 20 || f.len() < 14 + ihl {
        return;
    }
    f[24..26].fill(0);
    let sum = netstack_core::wire::checksum::checksum(&f[14..14 + ihl]);
    f[24..26].copy_from_slice(&sum.to_be_bytes());
    let total = usize::from(u16::from_be_bytes([f[16], f[17]])).clamp(ihl, f.len() - 14);
    let src = std::net::Ipv4Addr::new(f[26], f[27], f[28], f[29]);
    let dst = std::net::Ipv4Addr::new(f[30], f[31], f[32], f[33]);
    let proto = f[23];
    let l4 = &mut f[14 + ihl..14 + total];
    match proto {
        protocol::TCP => fix_l4_checksum(l4, src, dst, proto, 16),
        protocol::UDP => fix_l4_checksum(l4, src, dst, proto, 6),
        _ => {}
    }
}

impl Ingress {
    /// The stack with its three sockets, the connection's handshake done.
    pub fn new(record: bool) -> Ingress {
        let mut stack = Stack::new(Config::default(), 7).expect("the default config is valid");
        let now = Instant::ZERO;
        let listener = stack
            .tcp()
            .listen(SocketAddrV4::new(US.0, US.1), 8)
            .expect("port 80 is free");
        let udp = stack
            .udp()
            .bind(SocketAddrV4::new(US.0, 7))
            .expect("port 7 is free");
        let mut me = Ingress {
            stack,
            now,
            listener,
            conn: listener,
            udp,
            iss: 0,
            peer_next: 1001,
            accepted: vec![],
            trace: record.then(Vec::new),
        };
        me.deliver(&arp_request());
        me.deliver(&peer_tcp(PEER.1, 1000, 0, Flags::SYN, &[]));
        let synack = me.sent().into_iter().find_map(|f| {
            let (_, ip) = EthernetRepr::parse(&f).ok()?;
            let (ipr, seg) = Ipv4Repr::parse(ip).ok()?;
            TcpRepr::parse(ipr.src, ipr.dst, seg).ok().map(|(r, _)| r)
        });
        let synack = synack.expect("the listener answers a SYN with a SYN,ACK");
        me.iss = synack.seq.0;
        me.deliver(&peer_tcp(
            PEER.1,
            1001,
            me.iss.wrapping_add(1),
            Flags::ACK,
            &[],
        ));
        me.sent();
        me.conn = me
            .stack
            .tcp()
            .accept(listener)
            .ok()
            .flatten()
            .expect("the handshake completed");
        me
    }

    /// Delivers one frame at the current time, then runs the timers.
    pub fn deliver(&mut self, frame: &[u8]) {
        if let Some(t) = &mut self.trace {
            t.push(Line::Frame(self.now, true, frame.to_vec()));
        }
        self.stack.receive(self.now, frame);
        self.stack.handle_timeout(self.now);
    }

    /// What the stack sends now.
    pub fn sent(&mut self) -> Vec<Vec<u8>> {
        let mut out = vec![];
        self.stack.transmit(|f| out.push(f.to_vec()));
        if let Some(t) = &mut self.trace {
            for f in &out {
                t.push(Line::Frame(self.now, false, f.clone()));
            }
        }
        out
    }

    /// The applications read what arrived and accept new connections.
    fn applications(&mut self) {
        let now = self.now;
        let mut buf = [0; 4096];
        while let Ok(Some(h)) = self.stack.tcp().accept(self.listener) {
            self.accepted.push(h);
        }
        for h in std::iter::once(self.conn).chain(self.accepted.clone()) {
            while let Ok(Some(n)) = self.stack.tcp().recv(now, h, &mut buf) {
                if n == 0 {
                    break;
                }
            }
        }
        while let Ok(Some(_)) = self.stack.udp().recv_from(self.udp, &mut buf) {}
    }

    /// Runs the input's records.
    pub fn run(&mut self, data: &[u8]) -> Result<(), String> {
        let mut r = Reader::new(data);
        for _ in 0..MAX_FRAMES {
            if r.is_empty() {
                break;
            }
            let delta = r.u16();
            let flags = r.u8();
            let len = usize::from(r.u16()) % (MAX_FRAME + 1);
            let mut frame = r.bytes(len).to_vec();
            if flags & 1 != 0 {
                fix_checksums(&mut frame);
            }
            self.step(delta, &frame)?;
        }
        Ok(())
    }

    /// One record: the clock moves `delta_ms` on, `frame` arrives, the applications
    /// read and accept; returns what the stack sent, each frame checked.
    pub fn step(&mut self, delta_ms: u16, frame: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        self.now += Duration::from_millis(u64::from(delta_ms));
        self.deliver(frame);
        self.applications();
        let sent = self.sent();
        for f in &sent {
            check_output(f)?;
        }
        Ok(sent)
    }
}

/// Every frame the stack sends must parse: it built them.
fn check_output(f: &[u8]) -> Result<(), String> {
    let describe = || netstack_core::wire::describe::describe(f);
    let (eth, payload) = EthernetRepr::parse(f)
        .map_err(|e| format!("sent a bad Ethernet frame ({e:?}): {}", describe()))?;
    if eth.ethertype == EtherType::Ipv4 {
        let (ip, body) = Ipv4Repr::parse(payload)
            .map_err(|e| format!("sent a bad IPv4 header ({e:?}): {}", describe()))?;
        if ip.is_fragment() {
            return Ok(());
        }
        let ok = match ip.protocol {
            protocol::TCP => TcpRepr::parse(ip.src, ip.dst, body).map(|_| ()),
            protocol::UDP => UdpRepr::parse(ip.src, ip.dst, body).map(|_| ()),
            _ => Ok(()),
        };
        ok.map_err(|e| format!("sent a bad segment ({e:?}): {}", describe()))?;
    }
    Ok(())
}

/// One input record.
pub fn record(w: &mut Writer, delta_ms: u16, fix: bool, frame: &[u8]) {
    w.u16(delta_ms);
    w.u8(u8::from(fix));
    w.u16(frame.len() as u16);
    w.bytes(frame);
}

/// Runs `data` once without a trace: what the fuzz target calls.
pub fn run(data: &[u8]) -> Result<(), String> {
    Ingress::new(false).run(data)
}

/// Runs `data` with a trace.
pub fn run_traced(data: &[u8]) -> (Vec<Line>, Result<(), String>) {
    let mut i = Ingress::new(true);
    let r = i.run(data);
    (i.trace.take().unwrap_or_default(), r)
}

/// Seeds: data, a second connection, a UDP datagram, a FIN, and a reset, on the
/// established connection's real numbers.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let i = Ingress::new(false);
    let ack = i.iss.wrapping_add(1);
    let mut out = vec![];
    let mut w = Writer::default();
    record(
        &mut w,
        1,
        false,
        &peer_tcp(PEER.1, 1001, ack, Flags::ACK | Flags::PSH, b"hello"),
    );
    record(
        &mut w,
        40,
        false,
        &peer_tcp(PEER.1, 1006, ack, Flags::ACK | Flags::FIN, &[]),
    );
    out.push(("data-then-fin", w.out));
    let mut w = Writer::default();
    record(&mut w, 1, false, &peer_tcp(40001, 7000, 0, Flags::SYN, &[]));
    record(&mut w, 1, false, &peer_udp(b"echo me"));
    record(
        &mut w,
        1000,
        false,
        &peer_tcp(PEER.1, 1001, ack, Flags::RST, &[]),
    );
    out.push(("second-syn-udp-reset", w.out));
    let mut w = Writer::default();
    record(
        &mut w,
        0,
        true,
        &peer_tcp(PEER.1, 1001 + 100, ack, Flags::ACK, &[7; 100]),
    );
    record(
        &mut w,
        0,
        true,
        &peer_tcp(PEER.1, 1001, ack, Flags::ACK, &[7; 100]),
    );
    out.push(("out-of-order", w.out));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_establishes_and_the_seeds_run_clean() {
        let i = Ingress::new(false);
        let mut s = i.stack;
        assert_eq!(
            s.tcp().state(i.conn),
            Ok(netstack_core::TcpState::Established)
        );
        for (name, data) in seeds() {
            run(&data).unwrap_or_else(|e| panic!("seed {name}: {e}"));
        }
        // The handshake (ARP request and reply, SYN, SYN-ACK, ACK), then the seed's data
        // and FIN with the stack's answers.
        let (lines, result) = run_traced(&seeds()[0].1);
        assert_eq!(result, Ok(()));
        assert!(lines.len() >= 7, "{}", crate::trace::render(&lines));
    }
}

//! The kernel's side of a ping: a raw ICMP socket in the lab's namespace.
//!
//! The kernel builds the IP header; we write the ICMP message ourselves, checksum
//! included (Linux does not fill in ICMP checksums on raw sockets), so a test can also
//! send a broken one. What the socket reads starts with the IP header. It sees every
//! ICMP message the namespace receives, so replies are picked out by identifier.

use std::io::{ErrorKind, Read as _};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant as StdInstant};

use etherparse::{Icmpv4Slice, Ipv4Slice};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{internet_checksum, kernel_neighbours, TIMEOUT};

/// A raw ICMP socket with an identifier of its own.
pub struct KernelPinger {
    socket: Socket,
    ident: u16,
}

/// An echo reply as the kernel received it.
#[derive(Debug)]
pub struct KernelReply {
    /// The IP source.
    pub from: Ipv4Addr,
    /// The IP TTL.
    pub ttl: u8,
    /// The sequence number.
    pub seq: u16,
    /// The echoed data.
    pub payload: Vec<u8>,
}

impl KernelPinger {
    /// Opens the socket (needs CAP_NET_RAW) in the calling thread's namespace.
    #[track_caller]
    pub fn open() -> KernelPinger {
        let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
            .unwrap_or_else(|e| panic!("cannot open a raw ICMP socket: {e}"));
        // Reads return after this long with nothing, so waits can check their deadline.
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("set SO_RCVTIMEO");
        KernelPinger {
            socket,
            ident: std::process::id() as u16 ^ 0x5a5a,
        }
    }

    /// The ICMP identifier of this pinger's echo requests.
    pub fn ident(&self) -> u16 {
        self.ident
    }

    /// Sends an echo request (type 8, code 0) with a correct checksum.
    #[track_caller]
    pub fn send_echo(&self, dst: Ipv4Addr, seq: u16, payload: &[u8]) {
        self.send_icmp(dst, &echo_request(self.ident, seq, payload));
    }

    /// Sends `message` as the payload of an ICMP datagram to `dst`, as is.
    #[track_caller]
    pub fn send_icmp(&self, dst: Ipv4Addr, message: &[u8]) {
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        let sent = self
            .socket
            .send_to(message, &to)
            .unwrap_or_else(|e| panic!("sending ICMP to {dst} failed: {e}"));
        assert_eq!(sent, message.len(), "short send of ICMP to {dst}");
    }

    /// Waits for the next echo reply to this pinger from `from`, checks that it answers
    /// `seq` with `payload` and that its checksum verifies, and returns it.
    ///
    /// Replies come back in order, so a reply for any other sequence number (for a
    /// request that should have been ignored, say) fails the test. `context` is added to
    /// the failure message (the stack's counters, for instance).
    #[track_caller]
    pub fn expect_reply(
        &self,
        from: Ipv4Addr,
        seq: u16,
        payload: &[u8],
        context: impl Fn() -> String,
    ) -> KernelReply {
        let deadline = StdInstant::now() + TIMEOUT;
        let mut buf = [0u8; 65536];
        loop {
            if StdInstant::now() >= deadline {
                panic!(
                    "no echo reply from {from} for ident {:#06x} seq {seq} within {TIMEOUT:?}\n\
                     {}kernel neighbours:\n{}",
                    self.ident,
                    context(),
                    kernel_neighbours()
                );
            }
            let len = match (&self.socket).read(&mut buf) {
                Ok(len) => len,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => panic!("reading the raw ICMP socket failed: {e}"),
            };
            let Some(reply) = self.parse_reply(&buf[..len]) else {
                continue; // someone else's ICMP, or an echo request
            };
            assert_eq!(
                reply.from, from,
                "echo reply from the wrong host: {reply:?}"
            );
            assert_eq!(
                reply.seq, seq,
                "echo reply for seq {} while waiting for seq {seq}",
                reply.seq
            );
            assert!(
                reply.payload == payload,
                "seq {seq}: echoed {} bytes differ from the {} sent (first difference at \
                 byte {:?})",
                reply.payload.len(),
                payload.len(),
                reply.payload.iter().zip(payload).position(|(a, b)| a != b)
            );
            return reply;
        }
    }

    /// `send_echo` then `expect_reply`.
    #[track_caller]
    pub fn ping(
        &self,
        dst: Ipv4Addr,
        seq: u16,
        payload: &[u8],
        context: impl Fn() -> String,
    ) -> KernelReply {
        self.send_echo(dst, seq, payload);
        self.expect_reply(dst, seq, payload, context)
    }

    /// An echo reply for our identifier in `datagram` (IP header first), checked:
    /// IP version and header checksum, ICMP type, code and checksum.
    #[track_caller]
    fn parse_reply(&self, datagram: &[u8]) -> Option<KernelReply> {
        let ip = Ipv4Slice::from_slice(datagram)
            .unwrap_or_else(|e| panic!("the kernel handed us a bad IPv4 datagram: {e}"));
        let header = ip.header();
        let icmp_bytes = ip.payload().payload;
        let icmp = Icmpv4Slice::from_slice(icmp_bytes).ok()?;
        let rest = icmp.bytes5to8();
        let ident = u16::from_be_bytes([rest[0], rest[1]]);
        if icmp.type_u8() != 0 || ident != self.ident {
            return None;
        }
        let from = header.source_addr();
        let seq = u16::from_be_bytes([rest[2], rest[3]]);
        assert_eq!(icmp.code_u8(), 0, "echo reply seq {seq} with code != 0");
        assert_eq!(
            internet_checksum(header.slice()),
            0,
            "echo reply seq {seq}: bad IP header checksum"
        );
        assert_eq!(
            internet_checksum(icmp_bytes),
            0,
            "echo reply seq {seq}: bad ICMP checksum {:#06x}",
            icmp.checksum()
        );
        Some(KernelReply {
            from,
            ttl: header.ttl(),
            seq,
            payload: icmp.payload().to_vec(),
        })
    }
}

/// An ICMP echo request message with a correct checksum.
pub fn echo_request(ident: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut msg = vec![8, 0, 0, 0];
    msg.extend_from_slice(&ident.to_be_bytes());
    msg.extend_from_slice(&seq.to_be_bytes());
    msg.extend_from_slice(payload);
    let sum = internet_checksum(&msg);
    msg[2..4].copy_from_slice(&sum.to_be_bytes());
    msg
}

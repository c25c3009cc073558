//! The daemon's UDP: a program's datagram socket is a SOCK_SEQPACKET Unix connection
//! (one message per datagram, so its boundaries and poll readiness are the kernel's),
//! each message prefixed by the peer's address and port (6 bytes). Two threads per
//! socket: the program's datagrams out, netstack's datagrams in.
//!
//! A connected socket drops the prefix both ways, so that read() and write() on the
//! program's descriptor, which the shim does not see, carry bare datagrams as on
//! Linux. Each direction switches in band, so no datagram is read in the wrong
//! framing: at connect the daemon sends the program a [`SWITCH`] message after the
//! last prefixed datagram (the shim drops what came before it), and the shim sends
//! one the other way before its first bare datagram.

use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use socket2::Socket;

use super::{Gateway, State};
use crate::net::UdpSocket;

/// Bytes before each datagram on the Unix connection: IPv4 address, port.
pub const HEADER: usize = 6;
/// A prefix alone naming 0.0.0.0:0: "bare datagrams from now on" (no datagram goes
/// there).
pub const SWITCH: [u8; HEADER] = [0; HEADER];
/// How often the receiving thread looks whether the program closed the socket.
const CLOSE_CHECK: Duration = Duration::from_millis(200);

/// The program's side of a datagram socket, shared by its two threads.
pub struct Dgram {
    pub conn: Arc<Socket>,
    pub closed: Arc<AtomicBool>,
    /// Datagrams to the program go bare (the socket is connected). Held while one is
    /// sent, so the switch falls between two datagrams.
    pub bare: Arc<Mutex<bool>>,
}

/// The socket is connected: datagrams to the program go bare from now on, after a
/// [`SWITCH`] message. Called before the reply to the program's connect. If the
/// program's queue is full the switch waits for the next connect (the shim, finding
/// no [`SWITCH`], keeps the prefix).
pub fn go_bare(dgram: &Dgram) {
    let mut bare = super::lock(&dgram.bare);
    if !*bare && send_now(&dgram.conn, &SWITCH).is_ok() {
        *bare = true;
    }
}

/// Sends one message to the program without waiting: a datagram that finds its queue
/// full is dropped, as a full socket receive buffer drops it on Linux.
fn send_now(conn: &Socket, message: &[u8]) -> io::Result<usize> {
    conn.send_with_flags(message, libc::MSG_DONTWAIT)
}

/// The facade socket of `id`, bound to `local` now (0.0.0.0:0 if `None`) if it was
/// not yet, with its receiving thread started.
pub fn ensure_bound(gw: &Gateway, id: u64, local: Option<SocketAddrV4>) -> Result<UdpSocket, i32> {
    let (dgram, existing) = gw.with(id, |e| match &e.state {
        State::Udp { socket, dgram } => Ok((
            (
                Arc::clone(&dgram.conn),
                Arc::clone(&dgram.closed),
                Arc::clone(&dgram.bare),
            ),
            socket.clone(),
        )),
        _ => Err(libc::EBADF),
    })?;
    if let Some(s) = existing {
        if local.is_some() {
            return Err(libc::EINVAL);
        }
        return Ok(s);
    }
    let addr = local.unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
    let socket = UdpSocket::bind(&gw.net, addr).map_err(|e| super::errno::of(&e))?;
    let _ = socket.set_read_timeout(Some(CLOSE_CHECK));
    let bound = match socket.local_addr() {
        Ok(SocketAddr::V4(a)) => a,
        _ => addr,
    };
    gw.with(id, |e| {
        if let State::Udp { socket: slot, .. } = &mut e.state {
            *slot = Some(socket.clone());
        }
        e.local = Some(bound);
        Ok(())
    })?;
    let receiver = socket.clone();
    let _ = thread::Builder::new()
        .name(format!("gw-udp-in-{id}"))
        .spawn(move || inbound(&receiver, &dgram.0, &dgram.1, &dgram.2));
    Ok(socket)
}

/// netstack -> program: each datagram with its sender in front, or bare once connected.
fn inbound(socket: &UdpSocket, conn: &Socket, closed: &AtomicBool, bare: &Mutex<bool>) {
    let mut buf = vec![0u8; HEADER + 65536];
    while !closed.load(Ordering::Acquire) {
        match socket.recv_from(&mut buf[HEADER..]) {
            Ok((n, SocketAddr::V4(from))) => {
                let bare = super::lock(bare);
                let sent = if *bare {
                    send_now(conn, &buf[HEADER..HEADER + n])
                } else {
                    buf[..4].copy_from_slice(&from.ip().octets());
                    buf[4..HEADER].copy_from_slice(&from.port().to_be_bytes());
                    send_now(conn, &buf[..HEADER + n])
                };
                match sent {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                    Ok(_) => {}
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // An ICMP error reported on a connected socket: Linux would hand it to the
            // next call; here the datagram is simply gone.
            Err(e) if e.kind() != io::ErrorKind::NotConnected => {}
            Err(_) => return,
        }
    }
}

/// program -> netstack, until the program closes the socket; then forgets it.
pub fn outbound(gw: &Gateway, id: u64, conn: &Socket, closed: &AtomicBool) {
    let mut buf = vec![0u8; HEADER + 65536];
    let mut bare = false;
    loop {
        let n = match (&*conn).read(&mut buf) {
            Ok(0) if bare && !at_end(conn) => 0,
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if bare {
            // To the connected peer (the socket is bound: it connected).
            let sent = ensure_bound(gw, id, None).map(|s| s.send(&buf[..n]));
            if let Ok(Err(e)) = sent {
                log::debug!("gateway: udp {id} send: {e}");
            }
            continue;
        }
        if buf[..n] == SWITCH {
            bare = true;
            continue;
        }
        if n < HEADER {
            continue;
        }
        let to = SocketAddrV4::new(
            Ipv4Addr::new(buf[0], buf[1], buf[2], buf[3]),
            u16::from_be_bytes([buf[4], buf[5]]),
        );
        // A first send binds an ephemeral port, as on Linux.
        let Ok(socket) = ensure_bound(gw, id, None) else {
            break;
        };
        if let Err(e) = socket.send_to(&buf[HEADER..n], to) {
            log::debug!("gateway: udp {id} send to {to}: {e}");
        }
    }
    closed.store(true, Ordering::Release);
    gw.forget(id);
}

/// After a read of 0 bytes on a bare connection: true at the program's close, false
/// for a zero-length datagram. A closed connection reads 0 again at once; an open one
/// with nothing queued would block. (A second zero-length datagram already queued
/// reads as a close: SOCK_SEQPACKET tells them apart no other way.)
fn at_end(conn: &Socket) -> bool {
    let mut byte = [MaybeUninit::<u8>::uninit()];
    match conn.recv_with_flags(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT) {
        Ok(n) => n == 0,
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
        ),
    }
}

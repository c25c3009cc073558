//! The daemon's UDP: a program's datagram socket is a SOCK_SEQPACKET Unix connection
//! (one message per datagram, so its boundaries and poll readiness are the kernel's),
//! each message prefixed by the peer's address and port (6 bytes). Two threads per
//! socket: the program's datagrams out, netstack's datagrams in.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use socket2::Socket;

use super::{Gateway, State};
use crate::net::UdpSocket;

/// Bytes before each datagram on the Unix connection: IPv4 address, port.
pub const HEADER: usize = 6;
/// How often the receiving thread looks whether the program closed the socket.
const CLOSE_CHECK: Duration = Duration::from_millis(200);

/// The program's side of a datagram socket, shared by its two threads.
pub struct Dgram {
    pub conn: Arc<Socket>,
    pub closed: Arc<AtomicBool>,
}

/// The facade socket of `id`, bound to `local` now (0.0.0.0:0 if `None`) if it was
/// not yet, with its receiving thread started.
pub fn ensure_bound(gw: &Gateway, id: u64, local: Option<SocketAddrV4>) -> Result<UdpSocket, i32> {
    let (dgram, existing) = gw.with(id, |e| match &e.state {
        State::Udp { socket, dgram } => Ok((
            (Arc::clone(&dgram.conn), Arc::clone(&dgram.closed)),
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
        .spawn(move || inbound(&receiver, &dgram.0, &dgram.1));
    Ok(socket)
}

/// netstack -> program: each datagram with its sender in front.
fn inbound(socket: &UdpSocket, conn: &Socket, closed: &AtomicBool) {
    let mut buf = vec![0u8; HEADER + 65536];
    while !closed.load(Ordering::Acquire) {
        match socket.recv_from(&mut buf[HEADER..]) {
            Ok((n, SocketAddr::V4(from))) => {
                buf[..4].copy_from_slice(&from.ip().octets());
                buf[4..HEADER].copy_from_slice(&from.port().to_be_bytes());
                if conn.send(&buf[..HEADER + n]).is_err() {
                    return;
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
    loop {
        let n = match (&*conn).read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
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

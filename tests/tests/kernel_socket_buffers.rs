//! SO_RCVBUF, SO_SNDBUF and SO_REUSEADDR on netstack's sockets beside the kernel's,
//! across a TAP in a private namespace: the same values set must read back the same,
//! the SYNs must offer the same window scale for the same receive buffer, and binding a
//! port held in TIME-WAIT or by a listener must succeed or fail as the kernel's does.
//!
//! ```text
//!   kernel 10.0.0.1 (socket2 sockets, a raw TCP socket)  <-- tap0 -->  netstack 10.0.0.2 (netstack::net)
//! ```

mod common;

use std::io::{self, ErrorKind, Read};
use std::net::{SocketAddr, SocketAddrV4, TcpStream as KernelStream};
use std::time::Duration;

use common::netstack::Netstack;
use common::{eventually, in_netns, tap_lab, HOST_IP, STACK_IP, TIMEOUT};
use netstack::net::{RawSocket, TcpSocket};
use netstack_core::wire::tcp::Flags;
use netstack_core::wire::TcpRepr;
use socket2::{Domain, Protocol, Socket, Type};

/// Sizes to set: zero, below the minimum, odd, a page, 64 KiB (one more than 16 bits
/// of window), a MiB, and past any `net.core.rmem_max`.
const SIZES: [usize; 8] = [
    0,
    1,
    1000,
    4096,
    65_536,
    1 << 20,
    1 << 30,
    i32::MAX as usize,
];

fn kernel_socket() -> Socket {
    Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap()
}

fn at(ip: std::net::Ipv4Addr, port: u16) -> socket2::SockAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port)).into()
}

/// (SO_RCVBUF, SO_SNDBUF) as getsockopt reads them.
fn kernel_sizes(s: &Socket) -> (usize, usize) {
    (s.recv_buffer_size().unwrap(), s.send_buffer_size().unwrap())
}

#[test]
fn buffer_sizes_read_back_like_linux() {
    in_netns("buffer_sizes_read_back_like_linux", || {
        let net = Netstack::start(tap_lab());
        // Before connect or listen.
        for size in SIZES {
            let kernel = kernel_socket();
            kernel.set_recv_buffer_size(size).unwrap();
            kernel.set_send_buffer_size(size).unwrap();
            let ours = TcpSocket::new(net.handle()).unwrap();
            ours.set_recv_buffer_size(size).unwrap();
            ours.set_send_buffer_size(size).unwrap();
            let ours = (
                ours.recv_buffer_size().unwrap(),
                ours.send_buffer_size().unwrap(),
            );
            assert_eq!(ours, kernel_sizes(&kernel), "set {size} before connect");
        }

        // Set on listeners, read on what they accept (inherited) and on the side that
        // connected with them set; then set again on the open connection.
        let (size, later) = (50_000, 3000);
        let kernel_listener = kernel_socket();
        kernel_listener.set_recv_buffer_size(size).unwrap();
        kernel_listener.set_send_buffer_size(size).unwrap();
        kernel_listener.bind(&at(HOST_IP, 6100)).unwrap();
        kernel_listener.listen(8).unwrap();
        let ours = TcpSocket::new(net.handle()).unwrap();
        ours.set_recv_buffer_size(size).unwrap();
        ours.set_send_buffer_size(size).unwrap();
        let ours = ours.connect((HOST_IP, 6100)).unwrap();
        let (kernel_accepted, _) = kernel_listener.accept().unwrap();

        let our_listener = TcpSocket::new(net.handle()).unwrap();
        our_listener.set_recv_buffer_size(size).unwrap();
        our_listener.set_send_buffer_size(size).unwrap();
        our_listener.bind("0.0.0.0:6101").unwrap();
        let our_listener = our_listener.listen(8).unwrap();
        let kernel_client = kernel_socket();
        kernel_client.set_recv_buffer_size(size).unwrap();
        kernel_client.set_send_buffer_size(size).unwrap();
        kernel_client.connect(&at(STACK_IP, 6101)).unwrap();
        let (our_accepted, _) = our_listener.accept().unwrap();

        let sizes = |s: &netstack::net::TcpStream| {
            (s.recv_buffer_size().unwrap(), s.send_buffer_size().unwrap())
        };
        assert_eq!(sizes(&ours), kernel_sizes(&kernel_client), "connected");
        assert_eq!(
            sizes(&our_accepted),
            kernel_sizes(&kernel_accepted),
            "accepted"
        );
        ours.set_recv_buffer_size(later).unwrap();
        ours.set_send_buffer_size(later).unwrap();
        kernel_client.set_recv_buffer_size(later).unwrap();
        kernel_client.set_send_buffer_size(later).unwrap();
        assert_eq!(sizes(&ours), kernel_sizes(&kernel_client), "set when open");
    });
}

/// The window scale option of the first SYN in `datagrams` from `src` to `port`.
fn syn_wscale(d: &[u8], src: std::net::Ipv4Addr, port: u16) -> Option<Option<u8>> {
    let ihl = usize::from(d.first()? & 0x0f) * 4;
    if d.len() < ihl || d[12..16] != src.octets() {
        return None;
    }
    let dst = std::net::Ipv4Addr::new(d[16], d[17], d[18], d[19]);
    let (repr, _) = TcpRepr::parse(src, dst, &d[ihl..]).ok()?;
    (repr.dst_port == port && repr.flags.has(Flags::SYN) && !repr.flags.has(Flags::ACK))
        .then_some(repr.options.window_scale)
}

/// RFC 7323 2.2: the shift a SYN offers is chosen from the receive buffer. For the same
/// SO_RCVBUF set before connect, our SYN offers what the kernel's does.
#[test]
fn the_syn_window_scale_follows_so_rcvbuf_like_linux() {
    in_netns("the_syn_window_scale_follows_so_rcvbuf_like_linux", || {
        let net = Netstack::start(tap_lab());
        let kernel_raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::TCP)).unwrap();
        kernel_raw
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let our_raw = RawSocket::new(net.handle(), 6).unwrap();
        our_raw
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let kernel_listener = std::net::TcpListener::bind((HOST_IP, 6200)).unwrap();
        let our_listener = netstack::net::TcpListener::bind(net.handle(), "0.0.0.0:6201").unwrap();
        let mut buf = [0u8; 2048];
        for size in [4096, 65_536, 100_000, 1 << 20] {
            let ours = TcpSocket::new(net.handle()).unwrap();
            ours.set_recv_buffer_size(size).unwrap();
            let _ours = ours.connect((HOST_IP, 6200)).unwrap();
            let ours = eventually("our SYN at the kernel", || {
                let n = (&kernel_raw).read(&mut buf).ok()?;
                syn_wscale(&buf[..n], STACK_IP, 6200)
            });
            let _ = kernel_listener.accept().unwrap();

            let kernel = kernel_socket();
            kernel.set_recv_buffer_size(size).unwrap();
            kernel.connect(&at(STACK_IP, 6201)).unwrap();
            let theirs = eventually("the kernel's SYN at netstack", || {
                let (n, _) = our_raw.recv_from(&mut buf).ok()?;
                syn_wscale(&buf[..n], HOST_IP, 6201)
            });
            let _ = our_listener.accept().unwrap();
            assert_eq!(ours, theirs, "window scale for SO_RCVBUF {size}");
        }
    });
}

/// Binds `port` on 0.0.0.0 with SO_REUSEADDR `reuse`: the kernel's socket, kept if bound.
fn kernel_bind(port: u16, reuse: bool) -> io::Result<Socket> {
    let s = kernel_socket();
    s.set_reuse_address(reuse)?;
    s.bind(&at(std::net::Ipv4Addr::UNSPECIFIED, port))?;
    Ok(s)
}

fn our_bind(net: &Netstack, port: u16, reuse: bool) -> io::Result<TcpSocket> {
    let s = TcpSocket::new(net.handle())?;
    s.set_reuse_address(reuse)?;
    s.bind(("0.0.0.0", port))?;
    Ok(s)
}

fn kind<T>(r: &io::Result<T>) -> Option<ErrorKind> {
    r.as_ref().err().map(io::Error::kind)
}

/// A server whose listener had SO_REUSEADDR `first` closes a connection first (so the
/// port waits in TIME-WAIT on its side), closes its listener, and binds the port again
/// with SO_REUSEADDR `second`: EADDRINUSE unless both are set, on both stacks. And a
/// listening port is never shared.
#[test]
fn so_reuseaddr_over_time_wait_like_linux() {
    in_netns("so_reuseaddr_over_time_wait_like_linux", || {
        let net = Netstack::start(tap_lab());
        let cases = [(false, false), (false, true), (true, false), (true, true)];
        for (i, (first, second)) in cases.into_iter().enumerate() {
            // A port per case: the TIME-WAITs of earlier cases stay for a minute.
            let port = 6300 + i as u16;

            // The kernel serves, netstack connects.
            let listener = kernel_bind(port, first).unwrap();
            listener.listen(8).unwrap();
            let ours = netstack::net::TcpStream::connect(net.handle(), (HOST_IP, port)).unwrap();
            ours.set_read_timeout(Some(TIMEOUT)).unwrap();
            let (accepted, _) = listener.accept().unwrap();
            drop(accepted);
            assert_eq!((&ours).read(&mut [0u8; 8]).unwrap(), 0, "the kernel's FIN");
            drop(ours);
            drop(listener);
            eventually("our side closed: the kernel in TIME-WAIT", || {
                net.with_stack(|s, _| s.tcp().sockets().is_empty())
                    .then_some(())
            });
            let kernel = kernel_bind(port, second);

            // netstack serves, the kernel connects.
            let listener = our_bind(&net, port, first).unwrap().listen(8).unwrap();
            let mut kernel_client = KernelStream::connect((STACK_IP, port)).unwrap();
            kernel_client.set_read_timeout(Some(TIMEOUT)).unwrap();
            let (accepted, _) = listener.accept().unwrap();
            drop(accepted);
            assert_eq!(kernel_client.read(&mut [0u8; 8]).unwrap(), 0, "our FIN");
            drop(kernel_client);
            drop(listener);
            eventually("netstack in TIME-WAIT", || {
                net.with_stack(|s, _| {
                    let waiting = s.tcp().time_wait().iter().any(|(l, _)| l.port() == port);
                    (waiting && s.tcp().sockets().is_empty()).then_some(())
                })
            });
            let ours = our_bind(&net, port, second);
            assert_eq!(
                kind(&ours),
                kind(&kernel),
                "TIME-WAIT of a socket with SO_REUSEADDR {first}, bound again with {second}"
            );
        }

        // A listener with SO_REUSEADDR: another socket with it set may not bind there.
        let kernel_listener = kernel_bind(6310, true).unwrap();
        kernel_listener.listen(8).unwrap();
        let our_listener = our_bind(&net, 6310, true).unwrap().listen(8).unwrap();
        let kernel = kernel_bind(6310, true);
        let ours = our_bind(&net, 6310, true);
        assert_eq!(kind(&kernel), Some(ErrorKind::AddrInUse));
        assert_eq!(kind(&ours), Some(ErrorKind::AddrInUse));
        drop((kernel_listener, our_listener));
    });
}

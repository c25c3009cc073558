//! The facade's socket options beside the kernel's, across a TAP in a private
//! namespace: each option is set on a netstack socket and on a kernel socket, and what
//! the other side sees (a reset, a TTL, peeked bytes, an error) must be the same.
//!
//! ```text
//!   kernel 10.0.0.1 (std / socket2 sockets, a raw TCP socket)  <-- tap0 -->  netstack 10.0.0.2 (netstack::net)
//! ```

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener as KernelListener, TcpStream as KernelStream};
use std::time::Duration;

use common::netstack::Netstack;
use common::{eventually, in_netns, tap_lab, HOST_IP, STACK_IP, TIMEOUT};
use netstack::net::{RawSocket, TcpListener, TcpStream};
use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// SO_LINGER 0 closes with a reset, not a FIN; the other side's SO_ERROR says
/// ECONNRESET once, then nothing. Both ways.
#[test]
fn linger_zero_resets_and_so_error_reports_it_once_like_linux() {
    in_netns(
        "linger_zero_resets_and_so_error_reports_it_once_like_linux",
        || {
            let net = Netstack::start(tap_lab());

            // Ours closes with linger 0; the kernel's socket sees the reset.
            let kernel_listener = KernelListener::bind((HOST_IP, 5000)).unwrap();
            let ours = TcpStream::connect(net.handle(), (HOST_IP, 5000)).unwrap();
            let (kernel_side, _) = kernel_listener.accept().unwrap();
            ours.set_linger(Some(Duration::ZERO)).unwrap();
            assert_eq!(ours.linger().unwrap(), Some(Duration::ZERO));
            drop(ours);
            let e = eventually("the kernel sees our reset", || {
                kernel_side.take_error().unwrap()
            });
            assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
            assert!(
                kernel_side.take_error().unwrap().is_none(),
                "SO_ERROR is taken once"
            );

            // The kernel closes with linger 0; our socket sees the reset, the same way.
            let listener = TcpListener::bind(net.handle(), "0.0.0.0:5001").unwrap();
            let kernel = KernelStream::connect((STACK_IP, 5001)).unwrap();
            let (our_side, _) = listener.accept().unwrap();
            SockRef::from(&kernel)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(kernel);
            let e = eventually("we see the kernel's reset", || {
                our_side.take_error().unwrap()
            });
            assert_eq!(
                e.kind(),
                ErrorKind::ConnectionReset,
                "{e}\n{}",
                net.describe()
            );
            assert!(
                our_side.take_error().unwrap().is_none(),
                "SO_ERROR is taken once"
            );
        },
    );
}

/// IP_TTL on a connection: the default is 64 on both, and a TTL set on either side is
/// the TTL its segments arrive with (read by the other side's raw TCP socket).
#[test]
fn ip_ttl_is_what_the_segments_carry_like_linux() {
    in_netns("ip_ttl_is_what_the_segments_carry_like_linux", || {
        let net = Netstack::start(tap_lab());
        let kernel_raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::TCP)).unwrap();
        kernel_raw
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let our_raw = RawSocket::new(net.handle(), 6).unwrap();
        our_raw.set_read_timeout(Some(TIMEOUT)).unwrap();

        let kernel_listener = KernelListener::bind((HOST_IP, 5002)).unwrap();
        let ours = TcpStream::connect(net.handle(), (HOST_IP, 5002)).unwrap();
        let (mut kernel_side, _) = kernel_listener.accept().unwrap();
        assert_eq!((ours.ttl().unwrap(), kernel_side.ttl().unwrap()), (64, 64));
        ours.set_ttl(7).unwrap();
        kernel_side.set_ttl(9).unwrap();
        assert_eq!((ours.ttl().unwrap(), kernel_side.ttl().unwrap()), (7, 9));
        assert_eq!(ours.set_ttl(0).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(
            kernel_side.set_ttl(0).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );

        (&ours).write_all(b"from netstack").unwrap();
        kernel_side.write_all(b"from the kernel").unwrap();
        // The kernel's raw socket: our segment with data, and its TTL.
        let mut buf = [0u8; 2048];
        let ttl_at_kernel = eventually("our data segment at the kernel", || {
            let n = (&kernel_raw).read(&mut buf).ok()?;
            let d = &buf[..n];
            (d[12..16] == STACK_IP.octets() && d.ends_with(b"from netstack")).then_some(d[8])
        });
        let ttl_at_us = eventually("the kernel's data segment at netstack", || {
            let (n, _) = our_raw.recv_from(&mut buf).ok()?;
            let d = &buf[..n];
            (d[12..16] == HOST_IP.octets() && d.ends_with(b"from the kernel")).then_some(d[8])
        });
        assert_eq!((ttl_at_kernel, ttl_at_us), (7, 9));
    });
}

/// MSG_PEEK: a peek returns the bytes and the next read returns them again, on both.
#[test]
fn peek_leaves_the_bytes_for_the_next_read_like_linux() {
    in_netns("peek_leaves_the_bytes_for_the_next_read_like_linux", || {
        let net = Netstack::start(tap_lab());
        let kernel_listener = KernelListener::bind((HOST_IP, 5003)).unwrap();
        let ours = TcpStream::connect(net.handle(), (HOST_IP, 5003)).unwrap();
        ours.set_read_timeout(Some(TIMEOUT)).unwrap();
        let (mut kernel_side, _) = kernel_listener.accept().unwrap();
        kernel_side.set_read_timeout(Some(TIMEOUT)).unwrap();

        kernel_side.write_all(b"peekaboo").unwrap();
        (&ours).write_all(b"peekaboo").unwrap();
        let expected = (b"peek".to_vec(), b"peekaboo".to_vec());
        assert_eq!(peek_then_read_ours(&ours), expected, "ours");
        assert_eq!(peek_then_read_kernel(&mut kernel_side), expected, "kernel");
    });
}

fn peek_then_read_ours(s: &TcpStream) -> (Vec<u8>, Vec<u8>) {
    let mut whole = [0u8; 8];
    // Wait for all 8 bytes to be there, so the read below takes them at once.
    eventually("8 bytes at netstack", || {
        (s.peek(&mut whole).ok()? == 8).then_some(())
    });
    let mut part = [0u8; 4];
    assert_eq!(s.peek(&mut part).unwrap(), 4);
    let n = (&*s).read(&mut whole).unwrap();
    (part.to_vec(), whole[..n].to_vec())
}

fn peek_then_read_kernel(s: &mut KernelStream) -> (Vec<u8>, Vec<u8>) {
    let mut whole = [0u8; 8];
    eventually("8 bytes at the kernel", || {
        (s.peek(&mut whole).ok()? == 8).then_some(())
    });
    let mut part = [0u8; 4];
    assert_eq!(s.peek(&mut part).unwrap(), 4);
    let n = s.read(&mut whole).unwrap();
    (part.to_vec(), whole[..n].to_vec())
}

/// TCP_CONGESTION: "reno" is accepted and read back by both, an unknown name is refused
/// alike (ENOENT).
#[test]
fn congestion_control_choice_like_linux() {
    in_netns("congestion_control_choice_like_linux", || {
        let net = Netstack::start(tap_lab());
        let kernel_listener = KernelListener::bind((HOST_IP, 5004)).unwrap();
        let ours = TcpStream::connect(net.handle(), (HOST_IP, 5004)).unwrap();
        let (kernel_side, _) = kernel_listener.accept().unwrap();
        let kernel = SockRef::from(&kernel_side);
        let kernel_name = || {
            String::from_utf8_lossy(&kernel.tcp_congestion().unwrap())
                .trim_end_matches('\0')
                .to_string()
        };
        // Our default is Linux's built-in one; the kernel's here is whatever this
        // machine's net.ipv4.tcp_congestion_control says, so it is not compared.
        assert_eq!(ours.congestion().unwrap(), "cubic");
        ours.set_congestion("reno").unwrap();
        kernel.set_tcp_congestion(b"reno").unwrap();
        assert_eq!(
            (ours.congestion().unwrap(), kernel_name().as_str()),
            ("reno", "reno")
        );
        let ours_err = ours.set_congestion("no-such-cc").unwrap_err();
        let kernel_err = kernel.set_tcp_congestion(b"no-such-cc").unwrap_err();
        assert_eq!(
            ours_err.kind(),
            kernel_err.kind(),
            "{ours_err} vs {kernel_err}"
        );
    });
}

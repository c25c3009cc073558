//! The kernel's side of a TCP test: a listener on 10.0.0.1, accepting with timeouts, an
//! echo server, and an echo round trip through one of our streams, with failure
//! messages that show netstack's counters and sockets.

use std::fmt::Write as _;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{
    Shutdown, SocketAddr, SocketAddrV4, TcpListener as KernelListener, TcpStream as KernelStream,
};
use std::thread;
use std::time::Instant as StdInstant;

use netstack::net::TcpStream;

use super::netstack::Netstack;
use super::{HOST_IP, TIMEOUT};

/// Our stack's counters and TCP sockets (`netstat`), for failure messages.
pub fn context(net: &Netstack) -> String {
    let mut out = net.describe();
    net.with_stack(|stack, _| {
        let c = stack.counters();
        let _ = writeln!(
            out,
            "netstack TCP counters: segments_sent={} resets_sent={} challenge_acks={} \
             syn_queue_evictions={} accept_queue_overflows={}",
            c.tcp_segments_sent,
            c.tcp_resets_sent,
            c.tcp_challenge_acks,
            c.tcp_syn_queue_evictions,
            c.tcp_accept_queue_overflows
        );
        out.push_str("netstack TCP sockets:\n");
        for row in stack.tcp().sockets() {
            let _ = writeln!(
                out,
                "  {} {} -> {} send_q={} recv_q={} {:?} {:?}",
                row.state,
                row.local,
                row.remote,
                row.send_queue,
                row.recv_queue,
                row.counters,
                row.details
            );
        }
        let _ = writeln!(out, "netstack TIME-WAIT: {:?}", stack.tcp().time_wait());
    });
    out
}

/// Reads `stream` to end of stream.
pub fn read_all(mut stream: impl Read) -> io::Result<Vec<u8>> {
    let mut got = Vec::new();
    stream.read_to_end(&mut got)?;
    Ok(got)
}

/// The IPv4 address `addr` must be, in these IPv4 labs.
pub fn v4(addr: SocketAddr) -> SocketAddrV4 {
    match addr {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(a) => panic!("IPv6 address {a} in an IPv4 lab"),
    }
}

/// A kernel listener on 10.0.0.1 with an ephemeral port, and that port's address.
pub fn kernel_listener() -> (KernelListener, SocketAddrV4) {
    let listener = KernelListener::bind((HOST_IP, 0)).expect("kernel listener on 10.0.0.1");
    let addr = v4(listener.local_addr().unwrap());
    (listener, addr)
}

/// The kernel accepts one connection, within [`TIMEOUT`], with timeouts set on it.
pub fn kernel_accept(listener: &KernelListener) -> KernelStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = StdInstant::now() + TIMEOUT;
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == ErrorKind::WouldBlock && StdInstant::now() < deadline => {
                thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => panic!("the kernel accepted nothing: {e}"),
        }
    };
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// A kernel echo server on an ephemeral port: it copies until end of stream, then closes
/// its way too; the thread returns how many bytes it copied.
pub fn kernel_echo_server() -> (thread::JoinHandle<io::Result<u64>>, SocketAddrV4) {
    let (listener, addr) = kernel_listener();
    let server = thread::spawn(move || -> io::Result<u64> {
        let stream = kernel_accept(&listener);
        let copied = io::copy(&mut &stream, &mut &stream)?;
        stream.shutdown(Shutdown::Write)?;
        Ok(copied)
    });
    (server, addr)
}

/// Writes `data` on our `stream` while another thread reads, half-closes, and returns
/// everything read back until end of stream.
pub fn echo_through(stream: &TcpStream, data: &[u8], what: &str, net: &Netstack) -> Vec<u8> {
    let reader = {
        let stream = stream.try_clone().unwrap();
        thread::spawn(move || read_all(stream))
    };
    (&*stream)
        .write_all(data)
        .unwrap_or_else(|e| panic!("{what}: our write: {e}\n{}", context(net)));
    stream.shutdown(Shutdown::Write).unwrap();
    reader
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("{what}: our read: {e}\n{}", context(net)))
}

//! The small TCP services `netstack serve` runs, against kernel clients over a TAP in a
//! private namespace: echo (RFC 862) byte for byte, chargen (RFC 864) line for line,
//! discard (RFC 863) swallowing 100 MB.
//!
//! ```text
//!   kernel 10.0.0.1 (std::net)  <-- tap0 -->  netstack 10.0.0.2: echo 7, discard 9, chargen 19
//! ```
//!
//! Every wait is bounded by [`TIMEOUT`]; no test sleeps.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpStream as KernelStream};
use std::thread;

use common::netstack::Netstack;
use common::{in_netns, tap_lab, STACK_IP, TIMEOUT};
use netstack::services::{chargen, tcp_echo};

/// Runs `body` in a new namespace with netstack on tap0 running echo, discard and chargen.
fn lab(test: &str, body: impl FnOnce(&Netstack) + Send) {
    in_netns(test, || {
        let net = Netstack::start(tap_lab());
        tcp_echo::start_echo(net.handle(), tcp_echo::ECHO_PORT).expect("echo on port 7");
        tcp_echo::start_discard(net.handle(), tcp_echo::DISCARD_PORT).expect("discard on port 9");
        chargen::start(net.handle(), chargen::PORT).expect("chargen on port 19");
        body(&net);
        net.stop();
    });
}

/// A kernel connection to our `port`, with read and write timeouts of [`TIMEOUT`].
#[track_caller]
fn connect(net: &Netstack, port: u16) -> KernelStream {
    let addr = SocketAddrV4::new(STACK_IP, port);
    let stream = KernelStream::connect_timeout(&addr.into(), TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}\n{}", net.describe()));
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// `len` bytes from a SplitMix64 generator seeded with `seed`.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn echo_returns_a_megabyte_byte_for_byte() {
    const LEN: usize = 1024 * 1024;
    lab("echo_returns_a_megabyte_byte_for_byte", |net| {
        let data = random_bytes(LEN, 862);
        let stream = connect(net, tcp_echo::ECHO_PORT);
        let mut writer = stream.try_clone().unwrap();
        let got = thread::scope(|scope| {
            // Writing and reading at once: the echo comes back while we still send.
            let sender = scope.spawn(|| {
                writer.write_all(&data)?;
                writer.shutdown(Shutdown::Write)
            });
            let mut got = Vec::with_capacity(LEN);
            let read = (&stream).read_to_end(&mut got);
            sender.join().unwrap().expect("send 1 MB to echo");
            read.map(|_| got)
        })
        .unwrap_or_else(|e| panic!("read the echo: {e}\n{}", net.describe()));
        assert_eq!(got.len(), LEN, "echoed length");
        if let Some(i) = (0..LEN).find(|&i| got[i] != data[i]) {
            panic!(
                "echo differs at byte {i}: {} instead of {}",
                got[i], data[i]
            );
        }
    });
}

/// Line `k` of RFC 864's pattern, written independently of the service: 72 characters
/// of the printable ASCII ring from character k mod 95, then CR LF.
fn expected_line(k: usize) -> Vec<u8> {
    let ring: Vec<u8> = (b' '..=b'~').collect();
    assert_eq!(ring.len(), 95);
    let mut line: Vec<u8> = (0..72).map(|i| ring[(k + i) % 95]).collect();
    line.extend_from_slice(b"\r\n");
    line
}

#[test]
fn chargen_sends_the_rotating_lines() {
    lab("chargen_sends_the_rotating_lines", |net| {
        let mut stream = connect(net, chargen::PORT);
        let mut got = vec![0u8; 10 * 74];
        stream
            .read_exact(&mut got)
            .unwrap_or_else(|e| panic!("read 10 lines: {e}\n{}", net.describe()));
        for (k, line) in got.chunks(74).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(line),
                String::from_utf8_lossy(&expected_line(k)),
                "line {k}"
            );
        }
        // Line 95 is line 0 again: read on to it.
        let mut more = vec![0u8; 86 * 74];
        stream.read_exact(&mut more).unwrap();
        assert_eq!(&more[85 * 74..], &expected_line(0)[..], "line 95");
        // Closing with data unread resets the connection; the service stops on it and
        // the next client is served from line 0.
        drop(stream);
        let mut stream = connect(net, chargen::PORT);
        let mut first = vec![0u8; 74];
        stream.read_exact(&mut first).unwrap();
        assert_eq!(first, expected_line(0));
    });
}

#[test]
fn chargen_stops_at_the_clients_fin() {
    lab("chargen_stops_at_the_clients_fin", |net| {
        let stream = connect(net, chargen::PORT);
        stream.shutdown(Shutdown::Write).unwrap();
        // The service sees our FIN, closes too: the stream ends after whatever it sent.
        let mut got = Vec::new();
        (&stream)
            .read_to_end(&mut got)
            .unwrap_or_else(|e| panic!("read to the FIN: {e}\n{}", net.describe()));
        assert!(
            got.len() % 74 == 0,
            "{} bytes is not whole lines",
            got.len()
        );
        for (k, line) in got.chunks(74).enumerate() {
            assert_eq!(line, &expected_line(k)[..], "line {k}");
        }
    });
}

#[test]
fn discard_swallows_a_hundred_megabytes() {
    const LEN: usize = 100 * 1024 * 1024;
    lab("discard_swallows_a_hundred_megabytes", |net| {
        let mut stream = connect(net, tcp_echo::DISCARD_PORT);
        let block = random_bytes(64 * 1024, 863);
        let mut sent = 0;
        while sent < LEN {
            stream
                .write_all(&block)
                .unwrap_or_else(|e| panic!("after {sent} bytes: {e}\n{}", net.describe()));
            sent += block.len();
        }
        stream.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        stream
            .read_to_end(&mut rest)
            .unwrap_or_else(|e| panic!("waiting for discard's FIN: {e}\n{}", net.describe()));
        assert!(rest.is_empty(), "discard sent {} bytes", rest.len());
    });
}

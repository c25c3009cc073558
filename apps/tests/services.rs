//! The services `netstack serve` runs, on B of an in-memory pair, with A's facade as the
//! client: each answers, a client that never reads is held back rather than buffered
//! for, and services with nothing to do sleep.

mod common;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use netstack::net::{TcpStream, UdpSocket};
use netstack::runtime::Runtime;
use netstack::services;
use netstack_core::Config;
use netstack_drivers::LinkDrops;

const GENEROUS: Option<Duration> = Some(Duration::from_secs(20));

/// A (10.0.0.2, the client) and B (10.0.0.3) on one cable, with every service on B.
fn pair_with_services() -> (Runtime, Runtime, Vec<services::Service>) {
    let (a, b) = common::runtime_pair(Config::default(), common::host_b());
    let started = services::start_all(&b.handle()).expect("start the services");
    (a, b, started)
}

fn connect(a: &Runtime, port: u16) -> TcpStream {
    let s = TcpStream::connect(&a.handle(), ("10.0.0.3", port)).unwrap();
    s.set_read_timeout(GENEROUS).unwrap();
    s.set_write_timeout(GENEROUS).unwrap();
    s
}

#[test]
fn every_service_answers() {
    let (a, b, _services) = pair_with_services();

    let mut echo = connect(&a, 7);
    echo.write_all(b"hello").unwrap();
    echo.shutdown(Shutdown::Write).unwrap();
    let mut back = Vec::new();
    echo.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"hello");

    let mut discard = connect(&a, 9);
    discard.write_all(&[7u8; 100_000]).unwrap();
    discard.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        discard.read(&mut [0u8; 16]).unwrap(),
        0,
        "discard says nothing"
    );

    let mut chargen = connect(&a, 19);
    let mut line = [0u8; 74];
    chargen.read_exact(&mut line).unwrap();
    assert_eq!(line, services::chargen::chargen_line(0));

    let udp = UdpSocket::bind(&a.handle(), "0.0.0.0:0").unwrap();
    udp.set_read_timeout(GENEROUS).unwrap();
    udp.send_to(b"ping", "10.0.0.3:7").unwrap();
    let mut buf = [0u8; 16];
    let (n, _) = udp.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");

    let mut http = connect(&a, 80);
    http.write_all(b"GET /bytes/5 HTTP/1.1\r\nHost: b\r\n\r\nGET /bytes/3 HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut text = Vec::new();
    http.read_to_end(&mut text).unwrap();
    let text = String::from_utf8_lossy(&text);
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{text}");
    assert!(text.ends_with("\r\n\r\n\u{0}\u{1}\u{2}"), "{text:?}");

    // Nothing was lost on the link, even when chargen's bursts filled it: a full link
    // makes the sender wait. (A UDP echo reply once lost there behind such a burst was
    // never resent, and the UDP step above timed out.)
    assert_eq!(a.handle().link_drops(), LinkDrops::default());
    assert_eq!(b.handle().link_drops(), LinkDrops::default());
}

#[test]
fn an_echo_client_that_never_reads_is_held_back() {
    let (a, _b, _services) = pair_with_services();
    let client = connect(&a, 7);
    client
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let chunk = vec![0x5au8; 64 * 1024];
    let mut written = 0usize;
    let err = loop {
        match (&client).write(&chunk) {
            Ok(n) => written += n,
            Err(e) => break e,
        }
        assert!(
            written < 64 << 20,
            "64 MiB taken and the echo never pushed back"
        );
    };
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
    // Four buffers (A's send and receive, B's send and receive) and at most one read
    // held by the echo session.
    let tcp = Config::default().tcp;
    let bound = 2 * (tcp.send_buffer + tcp.recv_buffer) + 64 * 1024;
    assert!(
        written <= bound,
        "{written} bytes taken before the writer was held back"
    );
}

#[test]
fn idle_services_sleep() {
    let (_a, b, services) = pair_with_services();
    // The services run on the serving runtime's own event loop thread: no thread each.
    assert!(services.iter().all(|s| s.thread.is_none()));
    let names = [format!("netstack-{}", b.handle().device_name())];
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    // Let the loop reach its first wait.
    std::thread::sleep(Duration::from_millis(200));
    let before = switches(&names);
    assert_eq!(before.len(), names.len(), "loop threads: {before:?}");
    std::thread::sleep(Duration::from_secs(1));
    let after = switches(&names);
    assert_eq!(
        before, after,
        "an idle event loop serving every service woke up (context switches)"
    );
}

/// Context switches so far of this process's threads named in `names`, by name.
fn switches(names: &[&str]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let path = task.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        let comm = comm.trim().to_string();
        if !names.contains(&comm.as_str()) {
            continue;
        }
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        let total: u64 = status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        out.insert(comm, total);
    }
    out
}

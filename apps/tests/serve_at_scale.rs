//! `netstack serve` holding 10,000 concurrent connections from the kernel, each echoing,
//! on a handful of threads; and what an idle connection costs it in memory.
//!
//! ```text
//!   kernel 10.0.0.1/24 (tap0, 10,000 std::net clients)  <-- TAP -->  `netstack serve` 10.0.0.2:7
//! ```
//!
//! Runs as root in a network namespace of its own, as `cli.rs` does. The figures (RSS
//! per idle connection, threads, connections per second) are printed; the assertions
//! are generous bounds, since tests assert behaviour, not speed.

mod common;

use common::in_netns;
use common::serve::{tap_lab, ProcStatus, Serve};

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// Concurrent connections held.
const CONNECTIONS: usize = 10_000;

/// Connections that send their request before the first answer is read.
const WINDOW: usize = 500;

/// Client threads opening them, so the test does not wait one round trip per connect.
const OPENERS: usize = 4;

/// A generous bound on the RSS an idle connection adds to `serve` once its buffers are
/// drained (the project's target is 4 KiB; a thread per connection costs about 30 KiB).
const MAX_BYTES_PER_CONNECTION: u64 = 16 * 1024;

/// A generous bound on `serve`'s threads: the event loop, main, one per service.
const MAX_THREADS: u64 = 16;

/// How long any one step may take.
const TIMEOUT: Duration = Duration::from_secs(20);

const ECHO: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 7);

#[test]
fn serve_holds_ten_thousand_echo_connections_on_a_few_threads() {
    let limit = netstack_drivers::limits::raise_open_files_limit().unwrap_or(0);
    if limit < CONNECTIONS as u64 + 100 {
        // Only a machine whose hard limit is this low; CI must not quietly skip.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the open files limit ({limit}) is below {}: raise `ulimit -Hn`",
            CONNECTIONS + 100
        );
        netstack_drivers::netns::report_skip(
            "serve_holds_ten_thousand_echo_connections_on_a_few_threads",
            &format!(
                "the open files limit ({limit}) is below {}",
                CONNECTIONS + 100
            ),
        );
        return;
    }
    in_netns(
        "serve_holds_ten_thousand_echo_connections_on_a_few_threads",
        || {
            tap_lab();
            let serve = Serve::start(&[]);
            scenario(&serve);
        },
    );
}

fn scenario(serve: &Serve) {
    // One connection first, so that everything made once (ARP, the services' scratch
    // buffers) is in the baseline.
    let mut first = connect();
    echo_check(&mut first, 0);
    let base = serve.status();
    println!("serve before: {base}");

    let started = Instant::now();
    let openers: Vec<_> = (0..OPENERS)
        .map(|_| {
            thread::spawn(|| {
                (0..CONNECTIONS / OPENERS)
                    .map(|_| connect())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut clients: Vec<TcpStream> = openers
        .into_iter()
        .flat_map(|t| t.join().expect("an opener panicked"))
        .collect::<Vec<_>>();
    let opened = started.elapsed();
    let rate = CONNECTIONS as f64 / opened.as_secs_f64();
    println!("opened {CONNECTIONS} connections in {opened:.2?}: {rate:.0} connections/s");

    let held = serve.status();
    println!("serve holding {CONNECTIONS} connections, no data yet: {held}");

    // Every connection echoes: a window of requests out, then their answers read. (All
    // 10,000 at once would overflow tap0's queue of 1,000 frames, and the kernel's
    // retransmissions of the dropped segments back off for many seconds.)
    for (w, window) in clients.chunks_mut(WINDOW).enumerate() {
        for (j, client) in window.iter_mut().enumerate() {
            let i = w * WINDOW + j;
            client
                .write_all(&tag(i + 1))
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        }
        for (j, client) in window.iter_mut().enumerate() {
            let i = w * WINDOW + j;
            let mut back = [0u8; 8];
            client
                .read_exact(&mut back)
                .unwrap_or_else(|e| panic!("connection {i}: no echo: {e}"));
            assert_eq!(back, tag(i + 1), "connection {i} echoed something else");
        }
    }
    println!(
        "every connection echoed; tap0 dropped {} frames",
        tap_drops()
    );
    let idle = serve.status();
    println!("serve holding {CONNECTIONS} idle connections after one echo each: {idle}");

    let per = |s: &ProcStatus| s.rss_kib.saturating_sub(base.rss_kib) * 1024 / CONNECTIONS as u64;
    println!(
        "RSS per idle connection: {} bytes before any data, {} bytes once echoed and drained",
        per(&held),
        per(&idle)
    );
    assert!(
        per(&idle) <= MAX_BYTES_PER_CONNECTION,
        "each idle connection costs {} bytes",
        per(&idle)
    );
    assert!(
        idle.threads <= MAX_THREADS,
        "serve runs {} threads",
        idle.threads
    );
    drop(clients);
    drop(first);
}

/// Frames the kernel dropped on tap0's queue (towards netstack).
fn tap_drops() -> String {
    let out = std::process::Command::new("ip")
        .args(["-s", "link", "show", "tap0"])
        .output()
        .expect("run ip");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The line after "TX: bytes packets errors dropped ..." holds the numbers.
    let mut lines = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("TX:"));
    lines
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or("?")
        .to_string()
}

/// A connection to the echo service.
fn connect() -> TcpStream {
    let stream = TcpStream::connect_timeout(&ECHO.into(), TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {ECHO}: {e}"));
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// What connection `i` sends: 8 bytes naming it.
fn tag(i: usize) -> [u8; 8] {
    (i as u64).to_be_bytes()
}

/// Sends one tag and checks it comes back.
fn echo_check(stream: &mut TcpStream, i: usize) {
    stream.write_all(&tag(i)).unwrap();
    let mut back = [0u8; 8];
    stream.read_exact(&mut back).unwrap();
    assert_eq!(back, tag(i));
}

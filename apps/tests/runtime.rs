//! Two runtimes on an in-memory cable, driven only through `Handle`s: the event loops,
//! the clock, waking and waiting, as the socket facade will use them. No privileges, no
//! sleeps: every wait is a `wait_until` with a generous deadline.

mod common;

use std::io;
use std::net::Ipv4Addr;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netstack::net::UdpSocket;
use netstack::ping::{Ending, PingOptions, Session};
use netstack::runtime::{Handle, Runtime, RuntimeError};
use netstack_core::{ArpConfig, Config, MacAddr, Stack};
use netstack_drivers::{Device, LinkDrops};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
/// Long enough never to be hit on a loaded machine, short enough to fail a hung test.
const PATIENCE: Duration = Duration::from_secs(20);

fn config(addr: Ipv4Addr, last_mac_byte: u8) -> Config {
    Config {
        addr,
        mac: MacAddr([2, 0, 0, 0, 0, last_mac_byte]),
        gateway: None,
        ..Config::default()
    }
}

/// A (10.0.0.2) and B (10.0.0.3), each under its own runtime, on one in-memory link.
fn pair(a_config: Config) -> (Runtime, Runtime) {
    common::runtime_pair(a_config, config(B, 3))
}

fn deadline() -> Option<Instant> {
    Some(Instant::now() + PATIENCE)
}

fn ping_options(destination: Ipv4Addr, count: u32) -> PingOptions {
    PingOptions {
        destination,
        count: Some(count),
        size: 56,
        interval: Duration::from_millis(10),
        linger: PATIENCE,
        quiet: false,
    }
}

#[test]
fn handles_can_be_shared_between_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Handle>();
}

#[test]
fn echo_requests_sent_through_a_handle_are_answered_by_the_other_runtime() {
    let (a, b) = pair(config(A, 2));
    let handle = a.handle();
    handle
        .with_stack(|stack, _| stack.ping().open(77))
        .expect("identifier free");
    for seq in 1..=3u16 {
        let data = vec![seq as u8; 32];
        handle
            .with_stack(|stack, now| stack.ping().send_request(now, B, 77, seq, &data))
            .expect("B is on-link");
        let reply = handle
            .wait_until(deadline(), |stack| stack.ping().poll_reply(77))
            .expect("a reply in time");
        assert_eq!(
            (reply.from, reply.ident, reply.seq, reply.ttl),
            (B, 77, seq, 64)
        );
        assert_eq!(reply.payload, data);
        assert!(reply.received_at <= handle.now());
    }
    let counters = b.handle().with_stack(|stack, _| stack.counters().clone());
    assert_eq!(counters.icmp_echo_replies_sent, 3);
    assert_eq!(counters.arp_replies_sent, 1);
    assert!(a.shutdown().is_ok());
    assert!(b.shutdown().is_ok());
}

#[test]
fn the_loop_wakes_for_frames_an_impaired_device_delays() {
    // A's end delays every frame 40 ms each way, on the wall clock: no descriptor
    // signals a delayed frame, so the loop must wake at Device::next_wake for it.
    let (a_end, b_end) = netstack_drivers::memory::link(1500).expect("socket pair");
    let impair: netstack_drivers::FaultConfig = "delay=40ms,seed=3".parse().expect("valid");
    let a_end = netstack_drivers::Faulty::new(a_end, impair).expect("valid");
    let a = Runtime::spawn(Stack::new(config(A, 2), 1).expect("valid"), a_end).expect("A");
    let b = Runtime::spawn(Stack::new(config(B, 3), 2).expect("valid"), b_end).expect("B");
    let handle = a.handle();
    handle
        .with_stack(|stack, _| stack.ping().open(78))
        .expect("identifier free");
    for seq in 1..=3u16 {
        let sent = handle.with_stack(|stack, now| {
            stack
                .ping()
                .send_request(now, B, 78, seq, b"delayed")
                .expect("B is on-link");
            now
        });
        let reply = handle
            .wait_until(deadline(), |stack| stack.ping().poll_reply(78))
            .unwrap_or_else(|| panic!("no reply to {seq}: a delayed frame was never sent"));
        // Out 40 ms, back 40 ms (and the first one behind ARP, both ways too).
        let rtt = reply.received_at.saturating_since(sent);
        assert!(
            rtt.total_millis() >= 80,
            "seq {seq}: {rtt} is less than the delay"
        );
    }
    let faults = handle.faults().expect("A's device is impaired");
    assert!(
        faults.tx.delayed >= 4 && faults.rx.delayed >= 4,
        "{faults:?}"
    );
    assert!(b.handle().faults().is_none());
    assert!(a.shutdown().is_ok());
    assert!(b.shutdown().is_ok());
}

#[test]
fn a_ping_session_prints_what_iputils_prints() {
    let (a, _b) = pair(config(A, 2));
    let handle = a.handle();
    let mut out = Vec::new();
    let session = Session::start(&handle, ping_options(B, 3)).expect("starts");
    let outcome = session
        .run(&mut out, &AtomicBool::new(false))
        .expect("runs");
    let text = String::from_utf8(out).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();

    assert_eq!(outcome.ending, Ending::Finished);
    assert_eq!(
        (
            outcome.stats.transmitted,
            outcome.stats.received,
            outcome.stats.duplicates
        ),
        (3, 3, 0)
    );
    assert_eq!(lines[0], "PING 10.0.0.3 (10.0.0.3) 56(84) bytes of data.");
    for (seq, line) in (1..=3).zip(&lines[1..4]) {
        let prefix = format!("64 bytes from 10.0.0.3: icmp_seq={seq} ttl=64 time=");
        assert!(line.starts_with(&prefix) && line.ends_with(" ms"), "{text}");
    }
    assert_eq!(lines[4], "", "{text}");
    assert_eq!(lines[5], "--- 10.0.0.3 ping statistics ---");
    assert!(
        lines[6].starts_with("3 packets transmitted, 3 received, 0% packet loss, time "),
        "{text}"
    );
    assert!(lines[7].starts_with("rtt min/avg/max/mdev = "), "{text}");
}

#[test]
fn a_host_that_never_answers_arp_is_reported_unreachable() {
    // Short ARP timers so the test does not wait the default 3 s.
    let arp = ArpConfig {
        retry_interval: netstack_core::Duration::from_millis(20),
        max_requests: 2,
        ..ArpConfig::default()
    };
    let (a, _b) = pair(Config {
        arp,
        ..config(A, 2)
    });
    let handle = a.handle();
    let mut out = Vec::new();
    let outcome = Session::start(&handle, ping_options(Ipv4Addr::new(10, 0, 0, 9), 1))
        .expect("starts")
        .run(&mut out, &AtomicBool::new(false))
        .expect("runs");
    let text = String::from_utf8(out).expect("UTF-8");
    assert_eq!(outcome.stats.errors, 1, "{text}");
    assert!(
        text.contains("\nFrom 10.0.0.2 icmp_seq=1 Destination Host Unreachable\n"),
        "{text}"
    );
    assert!(
        text.contains("1 packets transmitted, 0 received, +1 errors, 100% packet loss"),
        "{text}"
    );
}

#[test]
fn a_stop_flag_and_notify_waiters_end_a_session_at_once() {
    let (a, _b) = pair(config(A, 2));
    let handle = a.handle();
    let stop = Arc::new(AtomicBool::new(false));
    let options = PingOptions {
        count: None,
        interval: Duration::from_secs(3600),
        ..ping_options(B, 1)
    };
    let session = Session::start(&handle, options).expect("starts");
    let (flag, waker) = (Arc::clone(&stop), handle.clone());
    let interrupter = std::thread::spawn(move || {
        // Once the first reply is in, "press Ctrl-C".
        waker.wait_until(deadline(), |stack| {
            (stack.counters().icmp_echo_replies_received > 0).then_some(())
        });
        flag.store(true, Ordering::Release);
        waker.notify_waiters();
    });
    let started = Instant::now();
    let mut out = Vec::new();
    let outcome = session.run(&mut out, &stop).expect("runs");
    interrupter.join().expect("interrupter thread");
    assert_eq!(outcome.ending, Ending::Interrupted);
    assert_eq!(outcome.stats.received, 1);
    assert!(
        started.elapsed() < PATIENCE,
        "the hour-long interval was not cut short"
    );
}

#[test]
fn a_fatal_device_error_stops_the_loop_and_is_reported() {
    let runtime = Runtime::spawn(Stack::new(config(A, 2), 1).expect("valid"), Detached::new())
        .expect("spawn");
    let handle = runtime.handle();
    // No deadline: must return because the loop ended, not hang.
    assert_eq!(handle.wait_until(None, |_| None::<()>), None);
    assert!(!handle.is_running());
    let err = handle.error().expect("the failure is recorded");
    let RuntimeError::Device { device, error } = &err else {
        panic!("not a device error: {err}")
    };
    assert_eq!(
        (device.as_str(), error.raw_os_error()),
        ("detached", Some(libc::EBADFD))
    );
    let shutdown = runtime.shutdown().expect_err("shutdown reports it too");
    assert_eq!(shutdown.to_string(), err.to_string());
}

#[test]
fn a_handle_outlives_its_runtime_without_hanging() {
    let (a, b) = pair(config(A, 2));
    let handle: Handle = a.handle();
    drop(a);
    drop(b);
    assert!(!handle.is_running());
    assert!(handle.error().is_none());
    assert_eq!(handle.wait_until(None, |_| None::<()>), None);
    // The stack is still there to read.
    assert_eq!(handle.with_stack(|stack, _| stack.config().addr), A);
}

/// A peer that is slow to read fills the in-memory link (about 80 full frames). The loop
/// keeps what the link cannot take in the stack's transmit queue and sends it once the
/// link has room, instead of dropping it: `services.rs` once lost a UDP echo reply sent
/// in the same round as a chargen burst that filled the link.
#[test]
fn frames_wait_on_a_full_link_instead_of_being_dropped() {
    let (ours, mut theirs) = netstack_drivers::memory::link(1500).expect("socket pair");
    let runtime = Runtime::spawn(Stack::new(config(A, 2), 1).expect("valid"), ours).expect("spawn");
    let handle = runtime.handle();
    let socket = UdpSocket::bind(&handle, "0.0.0.0:5000").unwrap();
    socket.set_broadcast(true).unwrap();
    // More full-size datagrams than the link holds, fewer than the transmit queue
    // (1024 frames); the other end reads none of them yet.
    const SENT: u16 = 300;
    for i in 0..SENT {
        let mut payload = [0u8; 1400];
        payload[..2].copy_from_slice(&i.to_be_bytes());
        socket.send_to(&payload, "10.0.0.255:9").unwrap();
    }
    // Each frame read makes room for one more.
    let mut got = Vec::new();
    let mut frame = [0u8; 1518];
    let give_up = Instant::now() + PATIENCE;
    while got.len() < usize::from(SENT) && Instant::now() < give_up {
        // Nothing queued means every frame is in the link or lost: the loop hands them
        // to the device with the stack locked.
        let all_handed = handle.with_stack(|stack, _| stack.pending_transmit() == 0);
        match theirs.recv(&mut frame).unwrap() {
            // IPv4 (EtherType 0x0800) carrying UDP (protocol 17): our datagram, whose
            // first two bytes (after 14 + 20 + 8 bytes of headers) are its number.
            Some(len) if len > 44 && frame[12..14] == [8, 0] && frame[23] == 17 => {
                got.push(u16::from_be_bytes([frame[42], frame[43]]));
            }
            Some(_) => {}
            None if all_handed => break,
            None => {
                netstack_drivers::wait_readable(&[theirs.as_raw_fd()], Some(PATIENCE)).unwrap();
            }
        }
    }
    assert_eq!(
        got,
        (0..SENT).collect::<Vec<_>>(),
        "datagrams lost or reordered"
    );
    assert_eq!(handle.link_drops(), LinkDrops::default());
}

/// A device whose reads fail as a TAP's do after the interface was deleted (EBADFD).
struct Detached {
    socket: UnixDatagram,
    _peer: UnixDatagram,
}

impl Detached {
    fn new() -> Detached {
        let (socket, peer) = UnixDatagram::pair().expect("socket pair");
        // Readable at once, so the loop reads (and fails) without waiting.
        peer.send(b"x").expect("send to own pair");
        Detached {
            socket,
            _peer: peer,
        }
    }
}

impl Device for Detached {
    fn recv(&mut self, _buf: &mut [u8]) -> io::Result<Option<usize>> {
        Err(io::Error::from_raw_os_error(libc::EBADFD))
    }
    fn send(&mut self, _frame: &[u8]) -> io::Result<()> {
        Err(io::Error::from_raw_os_error(libc::EBADFD))
    }
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
    fn mtu(&self) -> usize {
        1500
    }
    fn name(&self) -> &str {
        "detached"
    }
}

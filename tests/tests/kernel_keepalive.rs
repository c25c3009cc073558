//! SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT beside the kernel's,
//! across a TAP in a private namespace: both sides probe an idle connection and answer
//! each other's probes, and when the other side falls silent each gives up the same
//! way, with ETIMEDOUT after idle + count x interval.
//!
//! ```text
//!   kernel 10.0.0.1 (std / socket2 sockets)  <-- tap0 -->  netstack 10.0.0.2 (netstack::net)
//! ```
//!
//! These wait on the real clock, since the kernel has no other, with one-second timers
//! (RFC 1122 4.2.3.6 leaves the values to the application; Linux's defaults are two hours,
//! 75 s and 9 probes).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener as KernelListener, TcpStream as KernelStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant as StdInstant};

use common::netstack::Netstack;
use common::{have_tool, in_netns, tap_lab, HOST_IP, STACK_IP, TIMEOUT};
use netstack::net::{TcpListener, TcpStream};
use socket2::{SockRef, TcpKeepalive};

const IDLE: Duration = Duration::from_secs(1);
const INTERVAL: Duration = Duration::from_secs(1);
const PROBES: u32 = 2;

fn kernel_keepalive(s: &KernelStream) {
    let params = TcpKeepalive::new()
        .with_time(IDLE)
        .with_interval(INTERVAL)
        .with_retries(PROBES);
    SockRef::from(s).set_tcp_keepalive(&params).unwrap();
}

fn our_keepalive(s: &TcpStream) {
    s.set_keepalive(true).unwrap();
    s.set_keepalive_params(IDLE, INTERVAL, PROBES).unwrap();
}

/// Segments our end of the connection to `port` (ours or the kernel's) has received and
/// sent.
fn segments(net: &Netstack, port: u16) -> (u64, u64) {
    net.with_stack(|s, _| {
        let info = s.tcp().sockets();
        let c = info
            .iter()
            .find(|i| i.local.port() == port || i.remote.port() == port)
            .expect("the connection is in the table");
        (c.counters.segments_in, c.counters.segments_out)
    })
}

/// Waits (looking every 20 ms) until `f` holds; fails after `limit`.
#[track_caller]
fn until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = StdInstant::now() + limit;
    while !f() {
        assert!(StdInstant::now() < deadline, "{what}: not within {limit:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn idle_connections_are_probed_both_ways_and_stay_up() {
    in_netns("idle_connections_are_probed_both_ways_and_stay_up", || {
        let net = Netstack::start(tap_lab());
        // Ours connects to the kernel; both ends probe.
        let listener = KernelListener::bind((HOST_IP, 5200)).unwrap();
        let mut ours = TcpStream::connect(net.handle(), (HOST_IP, 5200)).unwrap();
        let (mut kernel, _) = listener.accept().unwrap();
        our_keepalive(&ours);
        kernel_keepalive(&kernel);
        let (rx0, tx0) = segments(&net, 5200);
        // Idle: each side's probes (SEG.SEQ = SND.NXT - 1, no data) draw an ACK from the
        // other. Four probes out and four answers in is well past PROBES x INTERVAL, so a
        // side whose probes went unanswered would have given up by then.
        until("probes and answers", TIMEOUT, || {
            let (rx, tx) = segments(&net, 5200);
            rx >= rx0 + 4 && tx >= tx0 + 4
        });
        assert!(ours.take_error().unwrap().is_none());
        assert!(kernel.take_error().unwrap().is_none());
        // Still up, both ways.
        ours.write_all(b"ping").unwrap();
        let mut buf = [0; 4];
        kernel.read_exact(&mut buf).unwrap();
        kernel.write_all(b"pong").unwrap();
        ours.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"pong", "{}", net.describe());
    });
}

#[test]
fn a_silent_peer_times_out_after_idle_plus_count_probes_like_linux() {
    let test = "a_silent_peer_times_out_after_idle_plus_count_probes_like_linux";
    in_netns(test, || {
        if !have_tool(test, "nft") {
            return;
        }
        let net = Netstack::start(tap_lab());
        // Two connections: ours to a kernel listener, the kernel's to our listener.
        let kernel_listener = KernelListener::bind((HOST_IP, 5201)).unwrap();
        let ours = TcpStream::connect(net.handle(), (HOST_IP, 5201)).unwrap();
        let (_kernel_peer, _) = kernel_listener.accept().unwrap();
        let our_listener = TcpListener::bind(net.handle(), "0.0.0.0:5202").unwrap();
        let kernel = KernelStream::connect((STACK_IP, 5202)).unwrap();
        let (_our_peer, _) = our_listener.accept().unwrap();
        our_keepalive(&ours);
        kernel_keepalive(&kernel);
        // From now on the kernel's namespace drops every TCP segment it receives: to
        // our probing socket the kernel is silent, and to the kernel's, we are.
        let start = StdInstant::now();
        let nft = Command::new("nft")
            .args(["add table ip silence; add chain ip silence in { type filter hook input priority 0; policy accept; }; add rule ip silence in ip protocol tcp drop"])
            .output()
            .unwrap();
        assert!(
            nft.status.success(),
            "nft: {}",
            String::from_utf8_lossy(&nft.stderr)
        );

        let (mut ours_after, mut kernel_after) = (None, None);
        let deadline = start + TIMEOUT;
        while ours_after.is_none() || kernel_after.is_none() {
            assert!(
                StdInstant::now() < deadline,
                "not both timed out within {TIMEOUT:?}: ours {ours_after:?}, the kernel's \
                 {kernel_after:?}\n{}",
                net.describe()
            );
            if ours_after.is_none() {
                if let Some(e) = ours.take_error().unwrap() {
                    ours_after = Some((e.kind(), start.elapsed()));
                }
            }
            if kernel_after.is_none() {
                if let Some(e) = kernel.take_error().unwrap() {
                    kernel_after = Some((e.kind(), start.elapsed()));
                }
            }
            thread::sleep(Duration::from_millis(20));
        }
        let (ours_kind, ours_t) = ours_after.unwrap();
        let (kernel_kind, kernel_t) = kernel_after.unwrap();
        assert_eq!(kernel_kind, ErrorKind::TimedOut, "the kernel's");
        assert_eq!(ours_kind, ErrorKind::TimedOut, "ours\n{}", net.describe());
        // Linux: the first probe after IDLE, then PROBES more INTERVALs. Ours the same;
        // the margins are generous, for a loaded machine.
        let least = IDLE + INTERVAL * PROBES - Duration::from_millis(300);
        assert!(kernel_t >= least, "the kernel gave up after {kernel_t:?}");
        assert!(ours_t >= least, "we gave up after {ours_t:?}");
        assert!(
            ours_t.abs_diff(kernel_t) < Duration::from_secs(2),
            "we gave up after {ours_t:?}, the kernel after {kernel_t:?}"
        );
    });
}

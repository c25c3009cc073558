//! The `netstack` binary as a user meets it: its output, its exit status, its error
//! messages. The tests that need a TAP run as root, each in a network namespace of its
//! own, with the binary started from the namespaced thread so it lives there too.
//!
//! ```text
//!   kernel 10.0.0.1/24 (tap0)  <-- TAP -->  `netstack serve` / `netstack ping`  10.0.0.2
//! ```

mod common;

use common::serve::{tap_lab, Serve};
use common::{assert_exit, in_netns, ip, netstack, text, NETSTACK};

use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use pcap_file::pcap::PcapReader;
use pcap_file::DataLink;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

const STACK_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// How long any one step may take before the test fails: generous, these tests assert
/// behaviour, not speed.
const TIMEOUT: Duration = Duration::from_secs(20);

/// [`common::run`] with this file's [`TIMEOUT`].
#[track_caller]
fn run(cmd: Command) -> Output {
    common::run(cmd, TIMEOUT)
}

/// Fails unless `out` is a clean refusal: exit status `code`, a first stderr line that
/// starts with `prefix` and says why, and no panic.
#[track_caller]
fn assert_refused(out: &Output, code: i32, prefix: &str) -> String {
    let stderr = assert_exit(out, code);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(prefix) && first.len() > prefix.len() + 10,
        "the first stderr line should start with {prefix:?} and give a reason:\n{stderr}"
    );
    stderr
}

#[test]
fn demo_shows_arp_echoes_a_ping_summary_a_tcp_echo_and_a_page() {
    let out = run(netstack(&["demo"]));
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "`netstack demo` failed ({}):\n{stdout}\n{}",
        out.status,
        text(&out.stderr)
    );
    // The trace shows A's ARP request and B's reply, then the echoes both ways, each
    // line after the host's letter (the exact layout of a trace line is the trace's
    // business; these are the words a reader looks for).
    let traced = |host: &str, words: &[&str]| {
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with(host) && words.iter().all(|w| l.contains(w)))
    };
    for (host, words) in [
        (
            "A",
            &["tx", "ARP", "Request who-has 10.0.0.3 tell 10.0.0.2"][..],
        ),
        (
            "B",
            &["tx", "ARP", "Reply 10.0.0.3 is-at 02:00:00:00:00:03"],
        ),
        ("A", &["tx", "ICMP echo request"]),
        ("B", &["rx", "ICMP echo request"]),
        ("B", &["tx", "ICMP echo reply"]),
        ("A", &["rx", "ICMP echo reply"]),
    ] {
        assert!(
            traced(host, words),
            "no {host} line with {words:?} in:\n{stdout}"
        );
    }
    for needle in [
        "3 packets transmitted, 3 received, 0% packet loss",
        "10.0.0.3 lladdr 02:00:00:00:00:03 REACHABLE",
        "10.0.0.2 lladdr 02:00:00:00:00:02 REACHABLE",
    ] {
        assert!(stdout.contains(needle), "no {needle:?} in:\n{stdout}");
    }
    let replies = stdout
        .lines()
        .filter(|l| l.starts_with("64 bytes from 10.0.0.3: icmp_seq="))
        .count();
    assert_eq!(replies, 3, "three reply lines expected:\n{stdout}");

    // Then TCP: each connection's handshake, data and FINs both ways, traced by both
    // hosts, first to B's echo service (port 7), then to its web server (port 80).
    for port in ["7", "80"] {
        let to = format!(" > 10.0.0.3.{port}: ");
        let from = format!("10.0.0.3.{port} > ");
        for (host, dir, words) in [
            ("A", "tx", [to.as_str(), "Flags [S]"]),
            ("B", "rx", [to.as_str(), "Flags [S]"]),
            ("B", "tx", [from.as_str(), "Flags [S.]"]),
            ("A", "tx", [to.as_str(), "Flags [P.]"]),
            ("B", "tx", [from.as_str(), "Flags [P.]"]),
            ("A", "tx", [to.as_str(), "Flags [F.]"]),
            ("B", "tx", [from.as_str(), "Flags [F.]"]),
            ("A", "rx", [from.as_str(), "Flags [F.]"]),
        ] {
            assert!(
                traced(host, &[&[dir][..], &words].concat()),
                "no {host} {dir} line with {words:?} in:\n{stdout}"
            );
        }
    }
    assert!(
        !stdout.contains("Flags [R"),
        "every connection should close cleanly, without a reset:\n{stdout}"
    );
    for needle in [
        "== A opens a TCP connection to B's echo service ==",
        "A sent \"hello from A\\n\" and read back \"hello from A\\n\".",
        "== A fetches http://10.0.0.3/ ==",
        "  > GET / HTTP/1.1",
        "  > Host: 10.0.0.3",
        "  < HTTP/1.1 200 OK",
        "  < Hello from B!",
    ] {
        assert!(stdout.contains(needle), "no {needle:?} in:\n{stdout}");
    }
    // The story's sections come in order.
    let at = |needle: &str| stdout.find(needle).unwrap_or(usize::MAX);
    assert!(
        at("== A pings B ==") < at("== A opens a TCP")
            && at("== A opens a TCP") < at("== A fetches")
            && at("== A fetches") < at("== ARP tables =="),
        "sections out of order:\n{stdout}"
    );
    assert!(!text(&out.stderr).contains("panicked"));
}

#[test]
fn the_demo_runs_on_an_impaired_cable_and_says_what_was_done() {
    let out = run(netstack(&[
        "demo",
        "--impair",
        "delay=2ms,jitter=1ms,dup=10%,reorder=10%,seed=3",
    ]));
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "`netstack demo --impair` failed ({}):\n{stdout}\n{}",
        out.status,
        text(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| {
            l.starts_with("A: impaired (dup=10%,reorder=10%,delay=2ms,jitter=1ms,seed=3): sent ")
        })
        .unwrap_or_else(|| panic!("no impairment line in:\n{stdout}"));
    assert!(
        line.contains(" delayed") && line.contains("; received "),
        "{line}"
    );
    assert!(
        stdout.contains("A sent \"hello from A\\n\" and read back"),
        "{stdout}"
    );
}

#[test]
fn nonsense_on_the_command_line_is_refused_in_one_line() {
    // Misuse: status 2 and one line, "netstack: <why> (usage or --help)".
    let one_line = |args: &[&str]| {
        let stderr = assert_refused(&run(netstack(args)), 2, "netstack: ");
        assert_eq!(stderr.lines().count(), 1, "{args:?}:\n{stderr}");
        stderr
    };
    let stderr = one_line(&["--addr", "nonsense"]);
    assert!(stderr.contains("--addr"), "{stderr}");
    let stderr = one_line(&["--cc", "vegas", "serve"]);
    assert!(
        stderr.contains("--cc") && stderr.contains("cubic or reno"),
        "{stderr}"
    );
    for host in ["example.com", "10.0.0.300", ""] {
        let stderr = one_line(&["ping", host]);
        assert!(stderr.contains("IPv4 address"), "{stderr}");
    }
    one_line(&["ping", "-c", "0", "10.0.0.1"]);
    let stderr = one_line(&["ping"]);
    assert!(
        stderr.contains("<HOST>") && stderr.contains("usage: netstack ping"),
        "{stderr}"
    );
    let stderr = one_line(&["eco"]);
    assert!(
        stderr.contains("'eco'") && stderr.contains("'echo'"),
        "{stderr}"
    );
    one_line(&["ping", "--no-such-option", "10.0.0.1"]);
    // A malformed --impair names the field at fault, for every command.
    for (command, spec, field) in [
        (&["serve"][..], "loss=5%,delay=10", "`delay=10`"),
        (&["ping", "10.0.0.1"], "loss=5", "`loss=5`"),
        (&["echo", "10.0.0.1"], "tx:loss=1%,up:dup=1%", "`up:dup=1%`"),
        (
            &["http-get", "http://10.0.0.1/"],
            "rate=fast",
            "`rate=fast`",
        ),
        (&["demo"], "burst=1%", "`burst=1%`"),
    ] {
        let mut args = command.to_vec();
        args.extend(["--impair", spec]);
        let stderr = one_line(&args);
        assert!(
            stderr.contains("--impair")
                && stderr.contains(&format!("bad impairment field {field}")),
            "{args:?}: {stderr}"
        );
    }
    // Well formed but inconsistent: refused by netstack itself, before any device is
    // opened (so this needs no privileges either).
    let stderr = assert_refused(
        &run(netstack(&["--gateway", "192.168.1.1", "serve"])),
        2,
        "netstack: ",
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn an_unprivileged_user_is_told_how_to_get_a_tap() {
    in_netns("an_unprivileged_user_is_told_how_to_get_a_tap", || {
        // Run as nobody: no CAP_NET_ADMIN, and no tap0 owned by nobody, so opening the
        // TAP is refused. (As root it would simply be created.)
        if let Err(e) = Command::new("setpriv").arg("--version").output() {
            assert_eq!(e.kind(), ErrorKind::NotFound, "cannot run setpriv: {e}");
            netstack_drivers::netns::report_skip(
                "an_unprivileged_user_is_told_how_to_get_a_tap",
                "setpriv (util-linux) is not installed",
            );
            return;
        }
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            NETSTACK,
            "serve",
        ])
        .env_remove("RUST_LOG");
        let stderr = assert_refused(&run(cmd), 1, "netstack: ");
        for remedy in ["scripts/setup-tap.sh", "netstack demo"] {
            assert!(stderr.contains(remedy), "no {remedy:?} in:\n{stderr}");
        }
        assert!(
            stderr.contains("tap0"),
            "the message should name the device:\n{stderr}"
        );
    });
}

#[test]
fn serve_answers_the_kernel_then_ping_reaches_it() {
    in_netns("serve_answers_the_kernel_then_ping_reaches_it", || {
        // A persistent tap0, so that `serve` and then `ping` can each attach to it.
        tap_lab();
        let capture = TempFile(
            std::env::temp_dir().join(format!("netstack-cli-serve-{}.pcap", std::process::id())),
        );

        // `netstack serve` prints its banner once it is attached and answering.
        let capture_arg = capture.0.to_str().expect("UTF-8 temp path");
        let serve = Serve::start(&["--pcap", capture_arg]);
        let banner = serve.banner();
        assert!(
            banner.contains("02:00:00:00:00:02") && banner.contains("tap0"),
            "{banner}"
        );

        // The kernel pings it five times: ARP, then five echo requests and replies.
        let pinger = Pinger::open();
        for seq in 1..=5 {
            pinger.ping(STACK_IP, seq);
        }

        // Ctrl-C: serve stops cleanly and says what it did.
        let stdout = serve.stop();
        let summary = stdout
            .lines()
            .find(|l| l.starts_with("netstack stopped: "))
            .unwrap_or_else(|| panic!("no summary line:\n{stdout}"));
        assert!(
            summary.contains("5 echo requests answered")
                && summary.contains("1 ARP request answered"),
            "{summary}"
        );

        // Its capture holds the exchange: five echo requests (type 8), five replies.
        let (linktype, icmp_types) = icmp_types_in(&capture.0);
        assert_eq!(linktype, DataLink::ETHERNET);
        assert_eq!(icmp_types, [8, 0].repeat(5), "ICMP types in the capture");

        // Now netstack pings the kernel, like ping(8).
        let out = run(netstack(&["ping", "-c", "3", "10.0.0.1"]));
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "`netstack ping -c 3 10.0.0.1` failed ({}):\n{stdout}\n{}",
            out.status,
            text(&out.stderr)
        );
        let replies = stdout
            .lines()
            .filter(|l| l.contains("bytes from 10.0.0.1"))
            .count();
        assert_eq!(replies, 3, "{stdout}");
        assert!(
            stdout.contains("3 packets transmitted, 3 received, 0% packet loss"),
            "{stdout}"
        );

        // A destination no host can have is refused in one line, not a panic.
        let out = run(netstack(&["ping", "-c", "1", "127.0.0.1"]));
        let stderr = assert_refused(&out, 2, "netstack: ");
        assert!(stderr.contains("127.0.0.1"), "{stderr}");
    });
}

#[test]
fn serve_refuses_a_second_netstack_and_reports_a_vanished_tap() {
    in_netns(
        "serve_refuses_a_second_netstack_and_reports_a_vanished_tap",
        || {
            ip(&["tuntap", "add", "dev", "tap0", "mode", "tap"]);
            ip(&["link", "set", "tap0", "up"]);
            let serve = Serve::start(&[]);

            // A TAP has one reader: a second netstack is refused, and told why.
            let out = run(netstack(&["ping", "-c", "1", "10.0.0.1"]));
            let stderr = assert_refused(&out, 1, "netstack: ");
            assert!(stderr.contains("another netstack"), "{stderr}");

            // Deleting tap0 under serve ends it with status 1 and a message naming the
            // device, not a hang or a panic.
            ip(&["link", "del", "tap0"]);
            let out = serve.finish();
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(
                stderr
                    .lines()
                    .any(|l| l.starts_with("netstack: ") && l.contains("tap0")),
                "no `netstack: ...tap0...` line in:\n{stderr}"
            );
        },
    );
}

/// A file removed when the test ends, pass or fail.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The capture's link type and the ICMP type of each ICMP frame in it, in order.
#[track_caller]
fn icmp_types_in(path: &std::path::Path) -> (DataLink, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {path:?}: {e}"));
    let mut reader = PcapReader::new(file).expect("a valid pcap header");
    let linktype = reader.header().datalink;
    let mut types = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let frame = packet.expect("a well-formed record").data;
        // Ethernet, EtherType IPv4, protocol ICMP: the type is the first byte after the
        // IP header (IHL words).
        if frame.len() > 34 && frame[12..14] == [0x08, 0x00] && frame[23] == 1 {
            let ihl = usize::from(frame[14] & 0x0f) * 4;
            types.push(frame[14 + ihl]);
        }
    }
    (linktype, types)
}

/// The kernel's side of a ping: a raw ICMP socket (the kernel writes the IP header, we
/// the ICMP message; reads include the IP header).
struct Pinger {
    socket: Socket,
    ident: u16,
}

impl Pinger {
    fn open() -> Pinger {
        let socket =
            Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).expect("raw ICMP socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("SO_RCVTIMEO");
        Pinger {
            socket,
            ident: std::process::id() as u16,
        }
    }

    /// Sends one echo request with 56 bytes of data and waits for its reply.
    #[track_caller]
    fn ping(&self, dst: Ipv4Addr, seq: u16) {
        let data: Vec<u8> = (0..56u8).map(|i| i ^ seq as u8).collect();
        let mut msg = vec![8, 0, 0, 0];
        msg.extend_from_slice(&self.ident.to_be_bytes());
        msg.extend_from_slice(&seq.to_be_bytes());
        msg.extend_from_slice(&data);
        let sum = checksum(&msg);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
        self.socket
            .send_to(&msg, &SockAddr::from(SocketAddrV4::new(dst, 0)))
            .expect("send an echo request");

        let deadline = Instant::now() + TIMEOUT;
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            let len = match (&self.socket).read(&mut buf) {
                Ok(len) => len,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue
                }
                Err(e) => panic!("reading the raw socket failed: {e}"),
            };
            let ihl = usize::from(buf[0] & 0x0f) * 4;
            let icmp = &buf[ihl.min(len)..len];
            if icmp.len() < 8 || icmp[0] != 0 || icmp[4..6] != self.ident.to_be_bytes() {
                continue; // not an echo reply of ours
            }
            assert_eq!(buf[12..16], dst.octets(), "reply from the wrong host");
            assert_eq!(icmp[6..8], seq.to_be_bytes(), "reply out of order");
            assert_eq!(checksum(icmp), 0, "bad ICMP checksum on reply {seq}");
            assert_eq!(icmp[8..], data[..], "reply {seq} does not echo the data");
            return;
        }
        panic!("no echo reply from {dst} for seq {seq} within {TIMEOUT:?}");
    }
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

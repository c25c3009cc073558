//! `netstack serve --impair ...` against the Linux kernel through a TAP in a private
//! network namespace: the kernel sends 50 MB to netstack's echo service while reading
//! the 50 MB that come back, through 5% loss, 2% reordering, 1% duplication and 0.5%
//! corruption on netstack's side, both ways. The bytes must come back identical (SHA-256
//! and byte for byte), the goodput is printed, and what was injected must show in the
//! status page and in serve's summary. Timeouts are generous: this asserts behaviour,
//! not speed.
//!
//! ```text
//!   kernel 10.0.0.1/24 (tap0, std::net)  <-- TAP -->  netstack serve --impair ...  10.0.0.2:7
//! ```

mod common;

use common::{in_netns, ip, netstack, text};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Bytes each way.
const BYTES: usize = 50_000_000;
/// The impairment of netstack's end, both ways.
const IMPAIR: &str = "loss=5%,reorder=2%,dup=1%,corrupt=0.5%,seed=7";
/// How long the whole transfer may take before the test fails.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(900);
/// How long one read may wait.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// `len` bytes from a seeded generator, so the stream has no period to hide a
/// misplaced segment behind.
fn stream(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = netstack_core::rng::Rng::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `netstack serve` as a child: its stdout lines as they come.
struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Serve {
    fn start() -> Serve {
        let mut child = netstack(&["--impair", IMPAIR, "serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start netstack serve");
        let out = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Serve {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stdout line containing `needle`.
    #[track_caller]
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => {
                    self.seen.push(line.clone());
                    return line;
                }
                Ok(line) => self.seen.push(line),
                Err(e) => {
                    let _ = self.child.kill();
                    panic!(
                        "serve printed no {needle:?} ({e}):\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Ctrl-C, then every line it printed until it exited.
    fn stop(mut self) -> String {
        let kill = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(kill.success());
        let status = self.child.wait().expect("wait for serve");
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(line);
        }
        let out = self.seen.join("\n");
        assert!(status.success(), "serve exited with {status}:\n{out}");
        out
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET / from the kernel: the status page.
fn status_page() -> String {
    let addr: SocketAddr = "10.0.0.2:80".parse().expect("address");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(60)).expect("connect :80");
    s.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
    s.write_all(b"GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nConnection: close\r\n\r\n")
        .expect("send the request");
    let mut page = Vec::new();
    s.read_to_end(&mut page).expect("read the status page");
    text(&page)
}

#[test]
fn fifty_megabytes_each_way_through_loss_reordering_duplication_and_corruption() {
    in_netns(
        "fifty_megabytes_each_way_through_loss_reordering_duplication_and_corruption",
        || {
            ip(&["link", "set", "lo", "up"]);
            ip(&["tuntap", "add", "dev", "tap0", "mode", "tap"]);
            if std::path::Path::new("/proc/sys/net/ipv6").exists() {
                std::fs::write("/proc/sys/net/ipv6/conf/tap0/disable_ipv6", "1")
                    .expect("turn IPv6 off on tap0");
            }
            ip(&["addr", "add", "10.0.0.1/24", "dev", "tap0"]);
            ip(&["link", "set", "tap0", "up"]);
            let mut serve = Serve::start();
            serve.wait_for_line("netstack 10.0.0.2/24");

            let data = stream(BYTES, 50);
            let want = Sha256::digest(&data);
            let addr: SocketAddr = "10.0.0.2:7".parse().expect("address");
            let conn = TcpStream::connect_timeout(&addr, Duration::from_secs(60))
                .expect("connect to the echo service");
            conn.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
            let start = Instant::now();
            let mut writer = conn.try_clone().expect("clone the stream");
            let sender = std::thread::spawn(move || {
                for chunk in data.chunks(64 * 1024) {
                    writer.write_all(chunk).expect("send to echo");
                }
                writer.shutdown(Shutdown::Write).expect("half-close");
                (data, start.elapsed())
            });

            let mut reader = &conn;
            let mut got = Vec::with_capacity(BYTES);
            let mut buf = vec![0u8; 256 * 1024];
            while got.len() < BYTES + 1 {
                assert!(
                    start.elapsed() < TRANSFER_TIMEOUT,
                    "{} of {BYTES} bytes back after {TRANSFER_TIMEOUT:?}",
                    got.len()
                );
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => panic!("read after {} of {BYTES} bytes: {e}", got.len()),
                }
            }
            let back = start.elapsed();
            let (data, sent) = sender.join().expect("the sender thread");
            assert_eq!(got.len(), BYTES, "bytes echoed");
            assert_eq!(Sha256::digest(&got), want, "SHA-256 of the echoed bytes");
            assert!(got == data, "the echoed bytes differ");
            let mbit = |d: Duration| BYTES as f64 * 8.0 / d.as_secs_f64() / 1e6;
            println!(
                "kernel -> netstack: {BYTES} bytes in {:.2} s ({:.1} Mbit/s); \
                 netstack -> kernel: all back after {:.2} s ({:.1} Mbit/s); --impair {IMPAIR}",
                sent.as_secs_f64(),
                mbit(sent),
                back.as_secs_f64(),
                mbit(back)
            );

            // What was injected shows on the status page and in serve's summary.
            let page = status_page();
            assert!(
                page.contains("<h2>Link impairment</h2>")
                    && page.contains("loss=5%,dup=1%,reorder=2%,corrupt=0.5%,seed=7"),
                "no impairment on the status page:\n{page}"
            );
            let out = serve.stop();
            let line = out
                .lines()
                .find(|l| l.starts_with("impaired (loss=5%"))
                .unwrap_or_else(|| panic!("no impairment line:\n{out}"));
            println!("{line}");
            for what in ["dropped", "duplicated", "corrupted", "reordered"] {
                assert!(
                    line.matches(what).count() == 2,
                    "{what} should be counted both ways: {line}"
                );
            }
        },
    );
}

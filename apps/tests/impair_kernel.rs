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

use common::serve::{tap_lab, Serve};
use common::{in_netns, text};

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
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
    let mut out = vec![0; len];
    netstack_core::rng::Rng::new(seed).fill(&mut out);
    out
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
            tap_lab();
            let serve = Serve::start(&["--impair", IMPAIR]);

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

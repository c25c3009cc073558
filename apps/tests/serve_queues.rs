//! `netstack serve --queues 2` on a two-queue TAP in a private namespace: a stack per
//! queue, the kernel keeping each connection on one of them.
//!
//! ```text
//!   kernel 10.0.0.1/24 (tap0, multi_queue)  <-- queue 0 -->  stack 0 ┐ `netstack serve
//!                                           <-- queue 1 -->  stack 1 ┘  --queues 2`
//! ```
//!
//! Runs as root in a network namespace of its own; skipped (saying so) when not root
//! outside CI.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::time::Duration;

use common::serve::{tap_lab, tap_lab_with, Serve};
use common::{in_netns, netstack, text};

const TIMEOUT: Duration = Duration::from_secs(20);
const CONNECTIONS: usize = 32;

/// One connection to echo: `n` bytes there and back.
fn echo(i: usize, n: usize) {
    let mut s = TcpStream::connect("10.0.0.2:7").unwrap_or_else(|e| panic!("connection {i}: {e}"));
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let data: Vec<u8> = (0..n).map(|k| (k * 7 + i) as u8).collect();
    s.write_all(&data).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut back = vec![];
    s.read_to_end(&mut back).unwrap();
    assert!(
        back == data,
        "connection {i}: {} bytes came back, not the {n} sent",
        back.len()
    );
}

/// The TCP segments queue `q`'s stack sent, from serve's summary.
fn segments_sent(summary: &str, q: usize) -> u64 {
    let line = summary
        .lines()
        .find(|l| l.starts_with(&format!("queue {q}: ")))
        .unwrap_or_else(|| panic!("no line for queue {q} in:\n{summary}"));
    // "... 47 TCP segments sent (0 resets) ..."
    line.split("; ")
        .find(|part| part.contains("TCP segments sent"))
        .and_then(|part| part.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn two_queues_share_the_connections_and_every_one_is_served() {
    in_netns(
        "two_queues_share_the_connections_and_every_one_is_served",
        || {
            tap_lab_with(&["multi_queue"]);
            let serve = Serve::start_with(&[], &["--queues", "2"]);
            assert!(serve.banner().contains("2 queues"), "{}", serve.banner());
            std::thread::scope(|s| {
                for i in 0..CONNECTIONS {
                    s.spawn(move || echo(i, 100_000));
                }
            });
            let ping = Command::new("ping")
                .args(["-c", "3", "-i", "0.2", "-W", "5", "10.0.0.2"])
                .output()
                .expect("run ping");
            assert!(ping.status.success(), "ping: {}", text(&ping.stdout));
            let summary = serve.stop();
            // Thirty-two connections hashed over two queues: both carry some (the chance
            // that one carries none is 2^-31).
            for q in 0..2 {
                assert!(
                    segments_sent(&summary, q) > 0,
                    "queue {q} sent no TCP:\n{summary}"
                );
            }
        },
    );
}

#[test]
fn queues_are_refused_where_they_cannot_work() {
    in_netns("queues_are_refused_where_they_cannot_work", || {
        // A TAP made with one queue: the error says how to make one with two.
        tap_lab();
        let out = netstack(&["serve", "--queues", "2"]).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("setup-tap.sh --queues 2"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        // Options that describe one stack.
        let out = netstack(&["--trace", "serve", "--queues", "2"])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("--queues 2 needs no --trace"), "{err}");
        let out = netstack(&["serve", "--queues", "0"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    });
}

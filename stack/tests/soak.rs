//! Soak: connections opened and closed one after another against the echo service, on
//! the virtual wire: 10,000 here (CI), 100,000 with `SOAK_CONNECTIONS=100000`
//! (`scripts/soak.sh`). Afterwards the server holds its listener alone, the client only
//! TIME-WAIT entries, which expire after 2*MSL; the tables and the process's resident
//! memory are as they were once TIME-WAIT had filled.

mod hostile_util;

use hostile_util::*;
use netstack_core::{Duration, TcpState};

/// The test process's current resident set (VmRSS) in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn soak_connections_open_and_close_and_leave_only_time_wait() {
    let n: usize = std::env::var("SOAK_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    // RSS is compared between a point where every table has reached its steady size
    // (TIME-WAIT full: 2*MSL of connections behind) and the end. The short CI run takes a
    // 5 s MSL so that point comes early; the long one keeps the default 30 s.
    let mut client = client_config();
    let warm = if n <= 20_000 {
        client.tcp.msl = Duration::from_secs(5);
        n / 4
    } else {
        // TIME-WAIT is full after 12,000; the tables' last growth step comes a little
        // later (RSS steps once between 20,000 and 40,000 and stays flat to 300,000).
        (n / 2).min(40_000)
    };
    let mut net = Net::with_client(server_config(), client);
    let msl2 = net.client.config().tcp.msl.saturating_mul(2);
    let started = std::time::Instant::now();
    let (mut rss_warm, mut peak_time_wait) = (0, 0);
    for i in 0..n {
        if i == warm {
            rss_warm = rss_kib();
        }
        let msg = format!("connection {i}");
        if let Err(e) = net.echo_once_within(msg.as_bytes(), Duration::from_secs(10)) {
            panic!("connection {i} of {n}: {e}");
        }
        // 200 connections a second: TIME-WAIT (60 s) then holds 12,000 of the client's
        // 16,384 ephemeral ports at most.
        net.run_for(Duration::from_millis(5));
        if i % 20_000 == 19_999 {
            println!("soak: after {} connections RSS {} KiB", i + 1, rss_kib());
        }
        if i % 1000 == 999 {
            peak_time_wait = peak_time_wait.max(net.client.tcp().time_wait().len());
            // Nothing but the listener on the server, nothing but TIME-WAIT on the client.
            assert_eq!(net.server.socket_count(), 1, "after {i}");
            assert_eq!(net.client.socket_count(), 0, "after {i}");
        }
    }
    let rss_end = rss_kib();
    let wall = started.elapsed();
    let server_tw = net.server.tcp().time_wait().len();
    let client_tw = net.client.tcp().time_wait().len();
    let server_states: Vec<TcpState> = net.server.tcp().sockets().iter().map(|r| r.state).collect();
    println!(
        "soak: {n} connections in {:.1} s of wall time ({:.0} s virtual); afterwards the \
         server holds {server_states:?} and {server_tw} TIME-WAIT entries, the client \
         {} sockets and {client_tw} TIME-WAIT entries (peak {peak_time_wait}); RSS after \
         {warm} connections {rss_warm} KiB, after {n} {rss_end} KiB",
        wall.as_secs_f64(),
        (net.now.total_micros() as f64) / 1e6,
        net.client.socket_count(),
    );
    assert_eq!(server_states, [TcpState::Listen]);
    assert_eq!(net.client.socket_count(), 0);
    assert!(client_tw > 0);
    // 2*MSL later, every TIME-WAIT entry is gone.
    net.run_for(msl2 + Duration::from_secs(1));
    assert_eq!(net.client.tcp().time_wait().len(), 0);
    assert_eq!(net.server.tcp().time_wait().len(), 0);
    assert_eq!(net.server.socket_count(), 1);
    // Resident memory is flat: what the first connections warmed up, the rest reused
    // (a leak of even 100 bytes a connection would show as several MiB here).
    assert!(
        rss_end <= rss_warm + 4096,
        "RSS grew from {rss_warm} KiB to {rss_end} KiB"
    );
}

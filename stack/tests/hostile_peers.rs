//! Peers that tie up memory without attacking the protocol: one that opens connections,
//! sends, and never reads what comes back (so our send buffers fill and its window shuts
//! for ever), and the same peer vanishing while its window is shut. Our buffers stay at
//! their bounds; the shut windows are probed for as long as the peer answers (RFC 1122
//! 4.2.2.17, as Linux), and the connections end once it stops answering.

mod hostile_util;

use hostile_util::*;
use netstack_core::{Duration, SocketHandle, TcpState};

const CONNS: usize = 8;
const BUFFER: usize = 256 * 1024;
const SENT: usize = 2 << 20;

#[test]
fn a_peer_that_never_reads_holds_our_buffers_at_their_bound() {
    let mut server = server_config();
    server.tcp.send_buffer = BUFFER;
    server.tcp.recv_buffer = BUFFER;
    let mut client = client_config();
    client.tcp.recv_buffer = BUFFER;
    let mut net = Net::with_client(server, client);
    // The greedy peer: connections that send and never read.
    let greedy: Vec<SocketHandle> = (0..CONNS)
        .map(|_| net.open_within(Duration::from_secs(5)).unwrap())
        .collect();
    let chunk = vec![0x42; 64 * 1024];
    let mut sent = vec![0; CONNS];
    for _ in 0..10_000 {
        for (i, &h) in greedy.iter().enumerate() {
            if sent[i] < SENT {
                sent[i] += net.client.tcp().send(net.now, h, &chunk).unwrap_or(0);
            }
        }
        net.run_for(Duration::from_millis(10));
        if sent.iter().all(|&n| n >= SENT) {
            break;
        }
    }
    assert!(sent.iter().all(|&n| n >= SENT), "{sent:?}");
    // Ten minutes of shut windows: probed, answered, kept.
    net.run_for(Duration::from_secs(600));
    let rows = net.server.tcp().sockets();
    let conns: Vec<_> = rows.iter().filter(|r| r.details.is_some()).collect();
    let held: usize = conns.iter().map(|r| r.send_queue + r.recv_queue).sum();
    let probes: u64 = conns.iter().map(|r| r.counters.segments_out).sum();
    println!(
        "{CONNS} connections that never read, {} KiB sent on each: the server holds {} KiB \
         in their queues (bound {} KiB), sent {probes} segments in all; peak RSS of the \
         test process {} KiB",
        SENT / 1024,
        held / 1024,
        CONNS * 2 * BUFFER / 1024,
        peak_rss_kib()
    );
    assert_eq!(conns.len(), CONNS);
    for r in &conns {
        assert_eq!(r.state, TcpState::Established);
        assert!(r.send_queue <= BUFFER && r.recv_queue <= BUFFER, "{r:?}");
        assert_eq!(r.details.unwrap().snd_wnd, 0, "the peer's window is shut");
    }
    net.assert_served("peers that never read");

    // The peer vanishes with its windows shut: the probes go unanswered, and after
    // `data_retries` of them (about a quarter of an hour) the connections are gone.
    net.cut = true;
    net.run_for(Duration::from_secs(3600));
    net.cut = false;
    println!(
        "after the peer vanished: server sockets {}",
        net.server.socket_count()
    );
    assert_eq!(
        net.server.socket_count(),
        1,
        "{:?}",
        net.server.tcp().sockets()
    );
    net.assert_served("the peer vanished");
}

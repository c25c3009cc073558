//! One stand-alone `Connection` driven segment by segment, without a `Stack`: we are
//! 10.0.0.2:80 with ISS [`ISS`] (5000), the peer is 10.0.0.1:40000 with IRS [`IRS`]
//! (1000). The traces in `tcp_options.rs`, `tcp_sack.rs` and `tcp_window_edge.rs`.

use std::net::SocketAddrV4;

use netstack_core::tcp::seq::Seq;
use netstack_core::wire::tcp::{Flags, Options, TcpRepr};
use netstack_core::{Duration, Instant};

use super::tcp::{LISTEN_PORT, PEER_PORT};

/// Our initial sequence number: our SYN is `seq 5000`, our first byte 5001.
pub const ISS: Seq = Seq(5000);
/// The peer's initial sequence number: its SYN is `seq 1000`, its first byte 1001.
pub const IRS: Seq = Seq(1000);

/// `n` milliseconds after the connection's clock starts.
pub fn ms(n: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(n)
}

/// Our address and the peer's: 10.0.0.2:80 and 10.0.0.1:40000.
pub fn addrs() -> (SocketAddrV4, SocketAddrV4) {
    (
        SocketAddrV4::new([10, 0, 0, 2].into(), LISTEN_PORT),
        SocketAddrV4::new([10, 0, 0, 1].into(), PEER_PORT),
    )
}

/// A segment from the peer with `window` and `options`.
pub fn peer(flags: Flags, seq: Seq, ack: Seq, window: u16, options: Options) -> TcpRepr {
    TcpRepr {
        src_port: PEER_PORT,
        dst_port: LISTEN_PORT,
        seq,
        ack,
        flags,
        window,
        options,
        ..TcpRepr::default()
    }
}

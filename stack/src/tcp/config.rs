//! TCP tunables, with the value each defaults to and why.

use super::congestion::Algorithm;
use crate::time::Duration;

/// TCP tunables. Part of [`Config`](crate::Config).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpConfig {
    /// Bytes the application may queue for sending per connection: 4 MiB. Memory is
    /// taken as the application writes and given back once acknowledged, so the bound
    /// costs an idle connection nothing.
    pub send_buffer: usize,
    /// Bytes of received data held per connection (in order and out of order); the
    /// advertised window is what is free of it. 4 MiB, Linux's default tcp_rmem maximum
    /// in spirit: a window that fills a 100 Mbit/s path with a 300 ms round trip, which
    /// takes window scaling (shift 7, as Linux announces). Memory is taken as data
    /// arrives and given back once read.
    pub recv_buffer: usize,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this. 30 s, so TIME-WAIT is 60 s,
    /// Linux's TCP_TIMEWAIT_LEN (RFC 9293 3.4.2 suggests MSL = 2 minutes, which ties up
    /// ports for 4 minutes; every mainstream stack chose shorter).
    pub msl: Duration,
    /// How long an ACK may be delayed. 40 ms, Linux's minimum delayed-ACK time; RFC 1122
    /// 4.2.3.2 sets the bound at 500 ms, and shorter delays keep Nagle's algorithm from
    /// stalling request/response traffic for long. Every second full-sized segment is
    /// acknowledged at once regardless.
    pub delayed_ack: Duration,
    /// SYN (and SYN-ACK) transmissions before a connect fails with "timed out": 6 retries
    /// with exponential backoff from 1 s, about 127 s in all, as Linux's tcp_syn_retries.
    pub syn_retries: u32,
    /// Retransmissions of data before the connection is abandoned: 15, as Linux's
    /// tcp_retries2 (RFC 1122 4.2.3.5 asks for at least 100 s; this is about 15 minutes).
    pub data_retries: u32,
    /// Half-open connections a listener holds at most (its SYN queue). 1024, as Linux's
    /// tcp_max_syn_backlog on a machine with memory to spare: a legitimate burst of
    /// clients larger than this within one round trip would see the oldest evicted.
    /// A half-open connection allocates no buffers, so the bound costs little memory.
    pub syn_backlog: usize,
    /// Answer SYNs that find the SYN queue full with SYN cookies (RFC 4987 3.6), keeping
    /// no state until the handshake completes. On, as Linux's tcp_syncookies = 1: under
    /// a SYN flood a legitimate client still connects. Off, the oldest half-open
    /// connection is evicted to make room instead (BSD's syncache without cookies).
    pub syn_cookies: bool,
    /// How long an orphaned connection (closed by the application) waits in FIN-WAIT-2
    /// for the peer's FIN. 60 s, Linux's tcp_fin_timeout.
    pub fin_wait2_timeout: Duration,
    /// Keep-alive idle time before the first probe (RFC 1122 4.2.3.6: at least two hours).
    pub keepalive_idle: Duration,
    /// Time between keep-alive probes. 75 s, as Linux.
    pub keepalive_interval: Duration,
    /// Unanswered probes before the connection is dropped. 9, as Linux.
    pub keepalive_probes: u32,
    /// Challenge ACKs (RFC 5961 7) sent per second, over all connections. 1000, as Linux's
    /// tcp_challenge_ack_limit.
    pub challenge_ack_limit: u32,
    /// The congestion control algorithm new connections start with. CUBIC (RFC 9438), as
    /// Linux; NewReno (RFC 5681, 6582) is the other choice.
    pub congestion: Algorithm,
    /// Offer window scaling (RFC 7323 2), with the shift that lets one window cover
    /// `recv_buffer`. On, as in every mainstream stack: without it no window exceeds
    /// 64 KiB, which caps a connection at 64 KiB per round trip.
    pub window_scaling: bool,
    /// Offer timestamps (RFC 7323 3-5): a round-trip sample from every acknowledgment
    /// and protection against old duplicates (PAWS). On, as Linux.
    pub timestamps: bool,
    /// Offer selective acknowledgments (RFC 2018) and recover from loss with them
    /// (RFC 6675). On, as Linux.
    pub sack: bool,
    /// Hand the link TCP segments of up to 64 KB of data (`outbound::MAX_TSO_PAYLOAD`),
    /// which it cuts at the MSS (TSO) and checksums, and receive the same. Only for a
    /// link that does it: the runtime turns it on when the device says so
    /// (`LinkOffload::tso`), and then transmits with `Stack::transmit_offloaded`.
    /// Congestion control and the counters still count MSS-sized segments. Off.
    pub tso: bool,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            send_buffer: 4 << 20,
            recv_buffer: 4 << 20,
            msl: Duration::from_secs(30),
            delayed_ack: Duration::from_millis(40),
            syn_retries: 6,
            data_retries: 15,
            syn_backlog: 1024,
            syn_cookies: true,
            fin_wait2_timeout: Duration::from_secs(60),
            keepalive_idle: Duration::from_secs(7200),
            keepalive_interval: Duration::from_secs(75),
            keepalive_probes: 9,
            challenge_ack_limit: 1000,
            congestion: Algorithm::Cubic,
            window_scaling: true,
            timestamps: true,
            sack: true,
            tso: false,
        }
    }
}

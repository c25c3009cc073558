//! Named counters: every frame received is either accepted or dropped for a named reason,
//! and every datagram we fail to send is counted too (gVisor's `MalformedPacketsReceived`,
//! `ChecksumErrors` habit). `rx_frames == rx_accepted + rx_dropped_total()` always holds;
//! the property tests check it.

macro_rules! reasons {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every reason, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// How many reasons there are.
            pub const COUNT: usize = Self::ALL.len();

            /// The counter's name, in snake case, for logs and the status page.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

reasons! {
    /// Why a received frame was dropped.
    RxDrop {
        /// Shorter than an Ethernet header.
        EthernetTruncated => "ethernet_truncated",
        /// Unicast to another station's MAC, or multicast we did not join.
        EthernetNotForUs => "ethernet_not_for_us",
        /// An EtherType we do not speak (IPv6, VLAN, LLDP, ...).
        EthernetUnknownType => "ethernet_unknown_type",
        /// ARP packet too short or with inconsistent lengths.
        ArpMalformed => "arp_malformed",
        /// ARP for a hardware/protocol pair other than Ethernet/IPv4, or an unknown opcode.
        ArpUnsupported => "arp_unsupported",
        /// Valid ARP whose target is not our address (after RFC 826's merge step).
        ArpNotForUs => "arp_not_for_us",
        /// ARP claiming our own address, or a sender address that cannot be a host.
        ArpBadSender => "arp_bad_sender",
        /// IPv4 header shorter than 20 bytes, IHL < 5, or total length inconsistent.
        Ipv4Malformed => "ipv4_malformed",
        /// IP version field is not 4.
        Ipv4BadVersion => "ipv4_bad_version",
        /// IPv4 header checksum does not verify.
        Ipv4BadChecksum => "ipv4_bad_checksum",
        /// Destination is neither our address nor a broadcast address (we do not forward).
        Ipv4NotForUs => "ipv4_not_for_us",
        /// Source is broadcast, multicast or otherwise impossible (RFC 1122 3.2.1.3).
        Ipv4BadSource => "ipv4_bad_source",
        /// A fragment with a bad length, or one reaching past 65535 bytes.
        Ipv4FragmentMalformed => "ipv4_fragment_malformed",
        /// A fragment overlapping another of its datagram, or of a datagram already
        /// discarded for that (RFC 5722 rule, see `ipv4::reassembly`).
        Ipv4FragmentOverlap => "ipv4_fragment_overlap",
        /// An exact duplicate of a fragment already held.
        Ipv4FragmentDuplicate => "ipv4_fragment_duplicate",
        /// A protocol number we do not implement (answered with protocol unreachable).
        Ipv4UnknownProtocol => "ipv4_unknown_protocol",
        /// UDP datagram shorter than its header or its length field.
        UdpMalformed => "udp_malformed",
        /// UDP checksum does not verify.
        UdpBadChecksum => "udp_bad_checksum",
        /// No socket on the destination port (answered with port unreachable).
        UdpNoSocket => "udp_no_socket",
        /// The socket's receive buffer was full.
        UdpRecvBufferFull => "udp_recv_buffer_full",
        /// A broadcast datagram for a socket that did not ask for broadcasts.
        UdpBroadcastNotWanted => "udp_broadcast_not_wanted",
        /// TCP segment shorter than its header, with a bad data offset, or port 0.
        TcpMalformed => "tcp_malformed",
        /// TCP checksum does not verify.
        TcpBadChecksum => "tcp_bad_checksum",
        /// TCP to a broadcast address (TCP is unicast only, RFC 1122 4.2.3.10).
        TcpBroadcast => "tcp_broadcast",
        /// No connection or listener for the segment (answered with a reset).
        TcpNoSocket => "tcp_no_socket",
        /// A segment a listener ignores (RST, SYN+FIN, or neither SYN nor ACK).
        TcpListenerIgnored => "tcp_listener_ignored",
        /// A SYN that found no room in the socket table.
        TcpNoRoom => "tcp_no_room",
        /// A SYN, or a handshake's last ACK, while the listener's accept queue was full.
        TcpAcceptQueueFull => "tcp_accept_queue_full",
        /// ICMP message shorter than its header.
        IcmpMalformed => "icmp_malformed",
        /// ICMP checksum does not verify.
        IcmpBadChecksum => "icmp_bad_checksum",
        /// Echo request sent to a broadcast address: ignored, as Linux does
        /// (RFC 1122 3.2.2.6 allows it).
        IcmpBroadcastEcho => "icmp_broadcast_echo",
        /// Echo reply nobody is waiting for.
        IcmpUnsolicitedReply => "icmp_unsolicited_reply",
        /// Echo reply dropped because the application's reply queue is full.
        IcmpReplyQueueFull => "icmp_reply_queue_full",
        /// An ICMP type we do not act on.
        IcmpUnhandledType => "icmp_unhandled_type",
        /// An ICMP error quoting a datagram we could not have sent, or no socket's.
        IcmpErrorUnmatched => "icmp_error_unmatched",
    }
}

reasons! {
    /// Why an outgoing datagram was dropped before reaching the wire.
    TxDrop {
        /// The ARP queue for its next hop was full; the oldest waiting packet was dropped.
        ArpQueueFull => "arp_queue_full",
        /// Address resolution gave up (no reply after the configured requests).
        ArpUnresolved => "arp_unresolved",
        /// No table entry left to start resolving a new address, or the entry it waited
        /// on was evicted for a newer one (at most half the table resolves at once).
        ArpTableFull => "arp_table_full",
        /// The transmit queue was full.
        TxQueueFull => "tx_queue_full",
        /// An ICMP error we would have sent, suppressed by the rate limit.
        IcmpRateLimited => "icmp_rate_limited",
    }
}

/// The stack's counters, gathered from every layer by
/// [`Stack::counters`](crate::Stack::counters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Frames handed to [`Stack::receive`](crate::Stack::receive).
    pub rx_frames: u64,
    /// Bytes in those frames.
    pub rx_bytes: u64,
    /// Frames fully processed (not dropped).
    pub rx_accepted: u64,
    /// Frames joined onto the TCP segment before them by
    /// [`Stack::receive_batch`](crate::Stack::receive_batch) (receive coalescing).
    pub rx_coalesced: u64,
    /// Frames given to the device by [`Stack::transmit`](crate::Stack::transmit).
    pub tx_frames: u64,
    /// Bytes in those frames.
    pub tx_bytes: u64,
    /// ARP requests we sent.
    pub arp_requests_sent: u64,
    /// ARP replies we sent.
    pub arp_replies_sent: u64,
    /// ICMP echo requests we answered.
    pub icmp_echo_replies_sent: u64,
    /// ICMP echo requests we originated (ping).
    pub icmp_echo_requests_sent: u64,
    /// ICMP echo replies delivered to the application.
    pub icmp_echo_replies_received: u64,
    /// ICMP error messages we sent (unreachable, time exceeded).
    pub icmp_errors_sent: u64,
    /// ICMP error messages received and delivered to a socket.
    pub icmp_errors_delivered: u64,
    /// Datagrams we sent in fragments, and the fragments.
    pub ipv4_fragmented: u64,
    /// Fragments sent.
    pub ipv4_fragments_sent: u64,
    /// Datagrams reassembled from fragments.
    pub ipv4_reassembled: u64,
    /// Datagrams abandoned unfinished: their reassembly timed out, or they were evicted
    /// (oldest first) to keep reassembly within its bounds.
    pub ipv4_reassembly_failed: u64,
    /// TCP segments sent (data, ACKs, resets).
    pub tcp_segments_sent: u64,
    /// TCP resets sent for segments no connection takes.
    pub tcp_resets_sent: u64,
    /// RFC 5961 challenge ACKs sent.
    pub tcp_challenge_acks: u64,
    /// Half-open connections evicted from a full SYN queue.
    pub tcp_syn_queue_evictions: u64,
    /// SYNs answered with a SYN cookie (RFC 4987) because the SYN queue was full.
    pub tcp_syn_cookies_sent: u64,
    /// Connections established from a valid SYN cookie.
    pub tcp_syn_cookies_accepted: u64,
    /// SYNs and handshake ACKs dropped because a listener's accept queue was full.
    pub tcp_accept_queue_overflows: u64,
    /// UDP datagrams delivered to sockets.
    pub udp_datagrams_received: u64,
    /// UDP datagrams sent.
    pub udp_datagrams_sent: u64,
    /// Datagram copies queued on raw sockets.
    pub raw_datagrams_delivered: u64,
    /// Datagram copies a raw socket's full queue dropped.
    pub raw_queue_full: u64,
    /// Datagrams sent from raw sockets.
    pub raw_datagrams_sent: u64,
    /// Caller-built IPv4 headers (`IP_HDRINCL`) refused.
    pub raw_bad_headers: u64,
    pub(crate) rx_drops: [u64; RxDrop::COUNT],
    pub(crate) tx_drops: [u64; TxDrop::COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            rx_frames: 0,
            rx_bytes: 0,
            rx_accepted: 0,
            rx_coalesced: 0,
            tx_frames: 0,
            tx_bytes: 0,
            arp_requests_sent: 0,
            arp_replies_sent: 0,
            icmp_echo_replies_sent: 0,
            icmp_echo_requests_sent: 0,
            icmp_echo_replies_received: 0,
            icmp_errors_sent: 0,
            icmp_errors_delivered: 0,
            ipv4_fragmented: 0,
            ipv4_fragments_sent: 0,
            ipv4_reassembled: 0,
            ipv4_reassembly_failed: 0,
            tcp_segments_sent: 0,
            tcp_resets_sent: 0,
            tcp_challenge_acks: 0,
            tcp_syn_queue_evictions: 0,
            tcp_syn_cookies_sent: 0,
            tcp_syn_cookies_accepted: 0,
            tcp_accept_queue_overflows: 0,
            udp_datagrams_received: 0,
            udp_datagrams_sent: 0,
            raw_datagrams_delivered: 0,
            raw_queue_full: 0,
            raw_datagrams_sent: 0,
            raw_bad_headers: 0,
            rx_drops: [0; RxDrop::COUNT],
            tx_drops: [0; TxDrop::COUNT],
        }
    }
}

impl Counters {
    /// Frames dropped for `reason`.
    pub fn rx_dropped(&self, reason: RxDrop) -> u64 {
        self.rx_drops[reason as usize]
    }

    /// Frames dropped for any reason.
    pub fn rx_dropped_total(&self) -> u64 {
        self.rx_drops.iter().sum()
    }

    /// Outgoing datagrams dropped for `reason`.
    pub fn tx_dropped(&self, reason: TxDrop) -> u64 {
        self.tx_drops[reason as usize]
    }

    /// Every non-zero receive drop counter with its reason.
    pub fn rx_drops(&self) -> impl Iterator<Item = (RxDrop, u64)> + '_ {
        RxDrop::ALL
            .iter()
            .map(|&r| (r, self.rx_drops[r as usize]))
            .filter(|&(_, n)| n > 0)
    }

    /// Every non-zero transmit drop counter with its reason.
    pub fn tx_drops(&self) -> impl Iterator<Item = (TxDrop, u64)> + '_ {
        TxDrop::ALL
            .iter()
            .map(|&r| (r, self.tx_drops[r as usize]))
            .filter(|&(_, n)| n > 0)
    }
}

//! Counters and the ARP cache in words, for the serve summary and the demo.

use netstack_core::arp::{EntryInfo, EntryState};
use netstack_core::Counters;
use netstack_drivers::{FaultCounters, FaultReport, LinkDrops};

/// One line saying what a stack did: frames in and out, what it answered and sent,
/// what it dropped and why. Counters that are zero are left out, except the first.
pub fn counters_line(c: &Counters, link: LinkDrops) -> String {
    let mut parts = vec![format!(
        "{} received, {} sent",
        plural(c.rx_frames, "frame", "frames"),
        c.tx_frames
    )];
    if c.icmp_echo_replies_sent > 0 {
        parts.push(format!(
            "{} answered",
            plural(c.icmp_echo_replies_sent, "echo request", "echo requests")
        ));
    }
    if c.arp_replies_sent > 0 {
        parts.push(format!(
            "{} answered",
            plural(c.arp_replies_sent, "ARP request", "ARP requests")
        ));
    }
    if c.arp_requests_sent > 0 {
        parts.push(format!(
            "{} sent",
            plural(c.arp_requests_sent, "ARP request", "ARP requests")
        ));
    }
    if c.icmp_echo_requests_sent > 0 {
        parts.push(format!(
            "{} sent, {} received",
            plural(c.icmp_echo_requests_sent, "echo request", "echo requests"),
            plural(c.icmp_echo_replies_received, "reply", "replies")
        ));
    }
    if c.udp_datagrams_received + c.udp_datagrams_sent > 0 {
        parts.push(format!(
            "{} received, {} sent",
            plural(c.udp_datagrams_received, "UDP datagram", "UDP datagrams"),
            c.udp_datagrams_sent
        ));
    }
    if c.tcp_segments_sent > 0 {
        parts.push(format!(
            "{} sent ({} resets)",
            plural(c.tcp_segments_sent, "TCP segment", "TCP segments"),
            c.tcp_resets_sent
        ));
    }
    if c.ipv4_reassembled + c.ipv4_fragmented > 0 {
        parts.push(format!(
            "{} reassembled, {} fragmented",
            plural(c.ipv4_reassembled, "datagram", "datagrams"),
            c.ipv4_fragmented
        ));
    }
    if c.icmp_errors_sent > 0 {
        parts.push(plural(
            c.icmp_errors_sent,
            "ICMP error sent",
            "ICMP errors sent",
        ));
    }
    let rx_dropped = c.rx_dropped_total();
    if rx_dropped == 0 {
        parts.push("none dropped".to_string());
    } else {
        parts.push(format!(
            "{rx_dropped} dropped ({})",
            reasons(c.rx_drops().map(|(r, n)| (r.as_str(), n)))
        ));
    }
    let tx_dropped: u64 = c.tx_drops().map(|(_, n)| n).sum();
    if tx_dropped > 0 {
        parts.push(format!(
            "{tx_dropped} not sent ({})",
            reasons(c.tx_drops().map(|(r, n)| (r.as_str(), n)))
        ));
    }
    let link_reasons = [
        ("tx_queue_full", link.tx_queue_full),
        ("tx_link_down", link.tx_link_down),
        ("rx_truncated", link.rx_truncated),
    ];
    let link_lost: u64 = link_reasons.iter().map(|&(_, n)| n).sum();
    if link_lost > 0 {
        parts.push(format!(
            "{link_lost} lost by the link ({})",
            reasons(link_reasons.into_iter())
        ));
    }
    parts.join("; ")
}

/// What `--impair` did, in one line: the impairment, then per direction the frames it
/// saw and what it did to them (zero counts left out).
///
/// `impaired (loss=5%,seed=1): sent 1000 frames: 52 dropped; received 800 frames: 41 dropped`
pub fn faults_line(report: &FaultReport) -> String {
    let direction = |name: &str, c: &FaultCounters| {
        let done: Vec<String> = c
            .named()
            .into_iter()
            .skip(1)
            .filter(|&(_, n)| n > 0)
            .map(|(what, n)| format!("{n} {}", what.replace('_', " ")))
            .collect();
        let frames = plural(c.frames, "frame", "frames");
        match done.is_empty() {
            true => format!("{name} {frames}"),
            false => format!("{name} {frames}: {}", done.join(", ")),
        }
    };
    format!(
        "impaired ({}): {}; {}",
        report.config,
        direction("sent", &report.tx),
        direction("received", &report.rx)
    )
}

/// One ARP cache entry as `ip neigh` would show it, with its timer:
/// `10.0.0.3 lladdr 02:00:00:00:00:03 REACHABLE (expires in 59.8 s)`.
pub fn arp_entry_line(entry: &EntryInfo, now: netstack_core::Instant) -> String {
    let mut line = match entry.mac {
        Some(mac) => format!("{} lladdr {mac} {}", entry.ip, entry.state),
        None => format!("{} {}", entry.ip, entry.state),
    };
    if let Some(at) = entry.expires_at {
        let what = match entry.state {
            EntryState::Reachable | EntryState::Refreshing => "expires",
            EntryState::Incomplete => "next request",
            EntryState::Failed => "forgotten",
        };
        let secs = at.saturating_since(now).total_millis() as f64 / 1000.0;
        line.push_str(&format!(" ({what} in {secs:.1} s)"));
    }
    line
}

fn reasons<'a>(list: impl Iterator<Item = (&'a str, u64)>) -> String {
    list.filter(|&(_, n)| n > 0)
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn a_quiet_stack_says_so_briefly() {
        assert_eq!(
            counters_line(&Counters::default(), LinkDrops::default()),
            "0 frames received, 0 sent; none dropped"
        );
    }

    #[test]
    fn a_busy_stack_lists_what_it_did_and_lost() {
        let mut c = Counters::default();
        c.rx_frames = 5;
        c.tx_frames = 4;
        c.icmp_echo_replies_sent = 3;
        c.arp_replies_sent = 1;
        let link = LinkDrops {
            tx_link_down: 2,
            ..LinkDrops::default()
        };
        assert_eq!(
            counters_line(&c, link),
            "5 frames received, 4 sent; 3 echo requests answered; 1 ARP request answered; none dropped; \
             2 lost by the link (tx_link_down 2)"
        );
    }

    #[test]
    fn the_impairment_line_says_what_was_done_each_way() {
        let report = FaultReport {
            config: "tx:loss=5%,seed=2".parse().expect("valid"),
            tx: FaultCounters {
                frames: 1000,
                dropped: 52,
                delayed: 3,
                ..FaultCounters::default()
            },
            rx: FaultCounters {
                frames: 1,
                ..FaultCounters::default()
            },
        };
        assert_eq!(
            faults_line(&report),
            "impaired (tx:loss=5%,seed=2): sent 1000 frames: 52 dropped, 3 delayed; \
             received 1 frame"
        );
    }

    #[test]
    fn arp_entries_read_like_ip_neigh() {
        let entry = EntryInfo {
            ip: Ipv4Addr::new(10, 0, 0, 3),
            mac: Some("02:00:00:00:00:03".parse().expect("valid MAC")),
            state: EntryState::Reachable,
            expires_at: Some(netstack_core::Instant::from_millis(60_000)),
        };
        assert_eq!(
            arp_entry_line(&entry, netstack_core::Instant::from_millis(250)),
            "10.0.0.3 lladdr 02:00:00:00:00:03 REACHABLE (expires in 59.8 s)"
        );
    }
}

//! `GET /`: the status page. The stack's configuration, counters, ARP table and socket
//! table (like `netstat`, including the connection asking), as one self-contained HTML
//! page: no scripts, no external assets, every value escaped.

use std::fmt::{self, Display, Write as _};
use std::net::{SocketAddr, SocketAddrV4};

use netstack_core::arp::EntryInfo;
use netstack_core::{Config, Counters, Stack, TcpSocketInfo, TcpState, UdpSocketInfo};
use netstack_drivers::device::LinkDrops;
use netstack_drivers::FaultReport;

use crate::runtime::Handle;

/// Everything the page shows, copied out under the stack's lock and rendered after it
/// is released, so that rendering never holds up the event loop.
pub struct Snapshot {
    device: String,
    now: netstack_core::Instant,
    config: Config,
    counters: Counters,
    link: LinkDrops,
    faults: Option<FaultReport>,
    arp: Vec<EntryInfo>,
    tcp: Vec<TcpSocketInfo>,
    time_wait: Vec<(SocketAddrV4, SocketAddrV4)>,
    udp: Vec<UdpSocketInfo>,
}

impl Snapshot {
    /// Copies the state of `stack`, locked by the caller, which runs on `net`.
    pub fn of(stack: &mut Stack, now: netstack_core::Instant, net: &Handle) -> Snapshot {
        Snapshot {
            device: net.device_name().to_string(),
            now,
            config: stack.config().clone(),
            counters: stack.counters().clone(),
            link: net.link_drops(),
            faults: net.faults(),
            arp: stack.arp_entries(),
            tcp: stack.tcp().sockets(),
            time_wait: stack.tcp().time_wait(),
            udp: stack.udp().sockets(),
        }
    }
}

/// The page for `snapshot`; the connection from `client` to `server` (the request being
/// answered) is marked in the socket table.
pub fn render(snapshot: &Snapshot, client: SocketAddr, server: SocketAddr) -> String {
    let mut page = String::with_capacity(16 * 1024 + 200 * snapshot.tcp.len());
    // Writing to a String cannot fail.
    let _ = write_page(&mut page, snapshot, (client, server));
    page
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
h1{margin-bottom:0}h2{margin-top:1.5em;font-size:1.1em}\
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}\
th{background:#f0f0f0}td.n{text-align:right}td,code{font-family:ui-monospace,monospace}\
tr.you{background:#fff3b0}.quiet{color:#777}";

fn write_page(out: &mut String, s: &Snapshot, me: (SocketAddr, SocketAddr)) -> fmt::Result {
    let c = &s.config;
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>netstack {}</title><style>{STYLE}</style></head><body>\n\
         <h1>netstack</h1><p class=\"quiet\">A userspace TCP/IP stack on {}, up {} s.</p>\n",
        esc(c.addr),
        esc(&s.device),
        s.now.total_millis() / 1000,
    )?;

    out.push_str("<h2>Interface</h2><table>\n");
    let gateway = c
        .gateway
        .map_or_else(|| "none".to_string(), |g| g.to_string());
    for (name, value) in [
        ("Address", format!("{}/{}", c.addr, c.prefix_len)),
        ("MAC", c.mac.to_string()),
        ("Gateway", gateway),
        ("MTU", c.mtu.to_string()),
        ("Device", s.device.clone()),
    ] {
        writeln!(out, "<tr><th>{name}</th><td>{}</td></tr>", esc(value))?;
    }
    out.push_str("</table>\n");

    write_counters(out, s)?;
    write_faults(out, s)?;
    write_arp(out, s)?;
    write_tcp(out, s, me)?;
    write_udp(out, s)?;

    writeln!(
        out,
        "<h2>Try</h2><ul>\
         <li><a href=\"/bytes/1000000\">/bytes/1000000</a>: a million bytes, byte i = i mod 251</li>\
         <li><code>curl --data-binary @file http://{}/sha256</code>: the SHA-256 of a file</li>\
         </ul></body></html>",
        esc(c.addr)
    )
}

fn write_counters(out: &mut String, s: &Snapshot) -> fmt::Result {
    let c = &s.counters;
    out.push_str("<h2>Counters</h2><table>\n");
    let named: [(&str, u64); 29] = [
        ("rx_frames", c.rx_frames),
        ("rx_bytes", c.rx_bytes),
        ("rx_accepted", c.rx_accepted),
        ("rx_coalesced", c.rx_coalesced),
        ("tx_frames", c.tx_frames),
        ("tx_bytes", c.tx_bytes),
        ("arp_requests_sent", c.arp_requests_sent),
        ("arp_replies_sent", c.arp_replies_sent),
        ("icmp_echo_replies_sent", c.icmp_echo_replies_sent),
        ("icmp_echo_requests_sent", c.icmp_echo_requests_sent),
        ("icmp_echo_replies_received", c.icmp_echo_replies_received),
        ("icmp_errors_sent", c.icmp_errors_sent),
        ("icmp_errors_delivered", c.icmp_errors_delivered),
        ("ipv4_fragmented", c.ipv4_fragmented),
        ("ipv4_fragments_sent", c.ipv4_fragments_sent),
        ("ipv4_reassembled", c.ipv4_reassembled),
        ("ipv4_reassembly_failed", c.ipv4_reassembly_failed),
        ("tcp_segments_sent", c.tcp_segments_sent),
        ("tcp_resets_sent", c.tcp_resets_sent),
        ("tcp_challenge_acks", c.tcp_challenge_acks),
        ("tcp_syn_queue_evictions", c.tcp_syn_queue_evictions),
        ("tcp_syn_cookies_sent", c.tcp_syn_cookies_sent),
        ("tcp_syn_cookies_accepted", c.tcp_syn_cookies_accepted),
        ("tcp_accept_queue_overflows", c.tcp_accept_queue_overflows),
        ("udp_datagrams_received", c.udp_datagrams_received),
        ("udp_datagrams_sent", c.udp_datagrams_sent),
        ("raw_datagrams_delivered", c.raw_datagrams_delivered),
        ("raw_queue_full", c.raw_queue_full),
        ("raw_datagrams_sent", c.raw_datagrams_sent),
    ];
    for (name, value) in named {
        writeln!(out, "<tr><th>{name}</th><td class=\"n\">{value}</td></tr>")?;
    }
    let drops: Vec<(String, u64)> = c
        .rx_drops()
        .map(|(reason, n)| (format!("rx drop: {reason}"), n))
        .chain(
            c.tx_drops()
                .map(|(reason, n)| (format!("tx drop: {reason}"), n)),
        )
        .chain(
            [
                ("link: tx_queue_full", s.link.tx_queue_full),
                ("link: tx_link_down", s.link.tx_link_down),
                ("link: rx_truncated", s.link.rx_truncated),
            ]
            .into_iter()
            .filter(|&(_, n)| n > 0)
            .map(|(name, n)| (name.to_string(), n)),
        )
        .collect();
    if drops.is_empty() {
        out.push_str("<tr><th>drops</th><td class=\"n\">none</td></tr>\n");
    }
    for (name, n) in drops {
        writeln!(
            out,
            "<tr><th>{}</th><td class=\"n\">{n}</td></tr>",
            esc(name)
        )?;
    }
    out.push_str("</table>\n");
    Ok(())
}

/// The link impairment (`--impair`) and what it did each way, when there is one.
fn write_faults(out: &mut String, s: &Snapshot) -> fmt::Result {
    let Some(report) = &s.faults else {
        return Ok(());
    };
    writeln!(
        out,
        "<h2>Link impairment</h2><p><code>--impair {}</code></p><table>\n\
         <tr><th></th><th>sent</th><th>received</th></tr>",
        esc(report.config)
    )?;
    for ((name, tx), (_, rx)) in report.tx.named().into_iter().zip(report.rx.named()) {
        writeln!(
            out,
            "<tr><th>{name}</th><td class=\"n\">{tx}</td><td class=\"n\">{rx}</td></tr>"
        )?;
    }
    out.push_str("</table>\n");
    Ok(())
}

/// What a connection runs with, as `ss -i` shows it: "cubic wscale:8,7 ts sack".
fn options(d: &netstack_core::tcp::Details) -> String {
    let mut o = d.congestion.to_string();
    if let (Some(snd), Some(rcv)) = (d.snd_wscale, d.rcv_wscale) {
        o += &format!(" wscale:{snd},{rcv}");
    }
    if d.timestamps {
        o += " ts";
    }
    if d.sack {
        o += " sack";
    }
    o
}

fn write_arp(out: &mut String, s: &Snapshot) -> fmt::Result {
    out.push_str(
        "<h2>ARP table</h2><table>\n\
         <tr><th>Address</th><th>MAC</th><th>State</th><th>Expires in</th></tr>\n",
    );
    if s.arp.is_empty() {
        out.push_str("<tr><td colspan=\"4\" class=\"quiet\">empty</td></tr>\n");
    }
    for entry in &s.arp {
        let mac = entry.mac.map_or_else(|| "-".to_string(), |m| m.to_string());
        let expires = entry.expires_at.map_or_else(
            || "-".to_string(),
            |at| format!("{} s", at.saturating_since(s.now).total_millis() / 1000),
        );
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(entry.ip),
            esc(mac),
            esc(entry.state),
            esc(expires)
        )?;
    }
    out.push_str("</table>\n");
    Ok(())
}

fn write_tcp(
    out: &mut String,
    s: &Snapshot,
    (client, server): (SocketAddr, SocketAddr),
) -> fmt::Result {
    write!(
        out,
        "<h2>TCP sockets ({} open, {} in TIME-WAIT)</h2><table>\n<tr><th>Local</th>\
         <th>Remote</th><th>State</th><th>Send-Q</th><th>Recv-Q</th><th>SND.WND</th>\
         <th>cwnd</th><th>MSS</th><th>RTO</th><th>SRTT</th><th>Segs in/out</th>\
         <th>Retrans</th><th>Options</th><th></th></tr>\n",
        s.tcp.len(),
        s.time_wait.len()
    )?;
    for row in &s.tcp {
        let you = SocketAddr::V4(row.remote) == client && SocketAddr::V4(row.local) == server;
        let remote = if row.state == TcpState::Listen {
            "*".to_string()
        } else {
            row.remote.to_string()
        };
        write!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            if you { " class=\"you\"" } else { "" },
            esc(row.local),
            esc(remote),
            esc(row.state),
            row.send_queue,
            row.recv_queue,
        )?;
        match &row.details {
            Some(d) => write!(
                out,
                "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{} ms</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}/{}</td><td class=\"n\">{}</td><td>{}</td>",
                d.snd_wnd,
                d.cwnd,
                d.mss,
                d.rto_ms,
                d.srtt_us.map_or_else(
                    || "-".to_string(),
                    |us| format!("{:.1} ms", us as f64 / 1000.0)
                ),
                row.counters.segments_in,
                row.counters.segments_out,
                row.counters.retransmits,
                options(d),
            )?,
            None => out.push_str(&"<td></td>".repeat(8)),
        }
        writeln!(
            out,
            "<td>{}</td></tr>",
            if you { "&larr; this request" } else { "" }
        )?;
    }
    for (local, remote) in &s.time_wait {
        writeln!(
            out,
            "<tr class=\"quiet\"><td>{}</td><td>{}</td><td>TIME-WAIT</td>{}</tr>",
            esc(local),
            esc(remote),
            "<td></td>".repeat(11)
        )?;
    }
    out.push_str("</table>\n");
    Ok(())
}

fn write_udp(out: &mut String, s: &Snapshot) -> fmt::Result {
    out.push_str(
        "<h2>UDP sockets</h2><table>\n<tr><th>Local</th><th>Remote</th>\
         <th>Recv-Q (datagrams)</th><th>Recv-Q (bytes)</th></tr>\n",
    );
    if s.udp.is_empty() {
        out.push_str("<tr><td colspan=\"4\" class=\"quiet\">none</td></tr>\n");
    }
    for row in &s.udp {
        let remote = row
            .remote
            .map_or_else(|| "*".to_string(), |r| r.to_string());
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(row.local),
            esc(remote),
            row.recv_queue,
            row.recv_bytes
        )?;
    }
    out.push_str("</table>\n");
    Ok(())
}

/// `value` as HTML text: `&`, `<`, `>`, `"` and `'` escaped.
fn esc(value: impl Display) -> String {
    let text = value.to_string();
    let mut escaped = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(ch),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(esc(42), "42");
    }

    #[test]
    fn the_page_shows_the_stack_and_marks_the_request() {
        let config = Config::default();
        let mut stack = netstack_core::Stack::new(config.clone(), 1).unwrap();
        let now = netstack_core::Instant::from_millis(5_000);
        stack
            .tcp()
            .listen("0.0.0.0:80".parse().unwrap(), 8)
            .unwrap();
        stack.udp().bind("0.0.0.0:7".parse().unwrap()).unwrap();
        let mut tcp = stack.tcp().sockets();
        // A connection row as the stack would list it, for the page to mark.
        let mut row = tcp[0].clone();
        row.local = "10.0.0.2:80".parse().unwrap();
        row.remote = "10.0.0.1:40000".parse().unwrap();
        row.state = TcpState::Established;
        tcp.push(row);
        let snapshot = Snapshot {
            device: "tap<0>".into(),
            now,
            config,
            counters: stack.counters().clone(),
            link: LinkDrops::default(),
            faults: Some(FaultReport {
                config: "loss=5%,seed=7".parse().unwrap(),
                tx: netstack_drivers::FaultCounters {
                    frames: 100,
                    dropped: 4,
                    ..Default::default()
                },
                rx: Default::default(),
            }),
            arp: stack.arp_entries(),
            tcp,
            time_wait: vec![(
                "10.0.0.2:80".parse().unwrap(),
                "10.0.0.1:39999".parse().unwrap(),
            )],
            udp: stack.udp().sockets(),
        };
        let page = render(
            &snapshot,
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
        );
        for needle in [
            "<td>10.0.0.2/24</td>",
            "<td>02:00:00:00:00:02</td>",
            "<td>10.0.0.1</td>",
            "<td>1500</td>",
            "tap&lt;0&gt;",
            "<th>rx_frames</th>",
            "<td>0.0.0.0:80</td><td>*</td><td>LISTEN</td>",
            "<tr class=\"you\"><td>10.0.0.2:80</td><td>10.0.0.1:40000</td><td>ESTABLISHED</td>",
            "&larr; this request",
            "<td>10.0.0.1:39999</td><td>TIME-WAIT</td>",
            "<td>0.0.0.0:7</td><td>*</td>",
            "up 5 s",
            "<h2>Link impairment</h2><p><code>--impair loss=5%,seed=7</code></p>",
            "<tr><th>dropped</th><td class=\"n\">4</td><td class=\"n\">0</td></tr>",
        ] {
            assert!(page.contains(needle), "{needle:?} missing from\n{page}");
        }
        assert!(!page.contains("tap<0>"));
    }
}

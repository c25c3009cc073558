//! A capture of netstack's TAP link, read back as a libpcap file.
//!
//! ```text
//!   kernel 10.0.0.1/24 (tap0)  <-- TAP -->  Pcap  <-->  netstack 10.0.0.2
//! ```

mod common;

use std::fs::File;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::frames::{self, Frame};
use common::netstack::Netstack;
use common::pinger::KernelPinger;
use common::{
    echo_payload, have_tool, in_netns, kernel_mac, tap_lab, HOST_IP, STACK_IP, STACK_MAC,
};
use netstack_core::MacAddr;
use netstack_drivers::Pcap;
use pcap_file::pcap::PcapReader;
use pcap_file::{DataLink, TsResolution};

/// A capture file in the temp directory, removed when the test ends (pass or fail).
struct TempCapture(PathBuf);

impl Drop for TempCapture {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn capture_of_three_kernel_pings_reads_back() {
    in_netns("capture_of_three_kernel_pings_reads_back", || {
        let capture = TempCapture(
            std::env::temp_dir().join(format!("netstack-pcap-capture-{}.pcap", std::process::id())),
        );
        let tap = tap_lab();
        let tap_mac = kernel_mac("tap0");
        let net = Netstack::start(Pcap::new(tap, &capture.0).expect("create the capture"));

        // The kernel pings netstack three times; IPv6 is off on tap0, so the link
        // carries nothing else.
        let pinger = KernelPinger::open();
        for seq in 1..=3 {
            pinger.ping(STACK_IP, seq, &echo_payload(56, seq), || net.describe());
        }
        // Closing the device closes the file; every record was flushed as written.
        net.stop();

        let mut reader = PcapReader::new(File::open(&capture.0).expect("open the capture"))
            .expect("the capture has a valid pcap header");
        let header = reader.header();
        assert_eq!(header.datalink, DataLink::ETHERNET, "link type must be 1");
        assert_eq!(header.ts_resolution, TsResolution::MicroSecond);
        let mut records: Vec<(Duration, Frame)> = Vec::new();
        while let Some(packet) = reader.next_packet() {
            let packet = packet.expect("a well-formed pcap record");
            assert_eq!(
                packet.data.len(),
                packet.orig_len as usize,
                "frames are stored whole"
            );
            records.push((packet.timestamp, frames::parse(&packet.data)));
        }
        let trace: String = records
            .iter()
            .map(|(t, f)| format!("  {t:?} {f:?}\n"))
            .collect();

        // Time never runs backwards in a capture.
        assert!(
            records.windows(2).all(|w| w[0].0 <= w[1].0),
            "timestamps decrease:\n{trace}"
        );

        // The conversation, in order:
        //   kernel -> broadcast  ARP who-has 10.0.0.2 tell 10.0.0.1
        //   netstack -> kernel   ARP 10.0.0.2 is-at 02:00:00:00:00:02
        //   kernel -> netstack   echo request seq 1..3, netstack -> kernel echo reply
        // The kernel may later re-check its neighbour with a unicast ARP request; such
        // extra ARP between the two hosts is allowed, anything else is not.
        let frames: Vec<&Frame> = records.iter().map(|(_, f)| f).collect();
        let expected_arp_request = Frame::Arp {
            eth: (tap_mac, MacAddr::BROADCAST),
            op: 1,
            sender: (tap_mac, HOST_IP),
            target: (MacAddr::ZERO, STACK_IP),
        };
        let expected_arp_reply = Frame::Arp {
            eth: (STACK_MAC, tap_mac),
            op: 2,
            sender: (STACK_MAC, STACK_IP),
            target: (tap_mac, HOST_IP),
        };
        let mut expected = vec![expected_arp_request, expected_arp_reply];
        for seq in 1..=3 {
            for (icmp_type, eth, ip) in [
                (8, (tap_mac, STACK_MAC), (HOST_IP, STACK_IP)),
                (0, (STACK_MAC, tap_mac), (STACK_IP, HOST_IP)),
            ] {
                expected.push(Frame::Echo {
                    eth,
                    ip,
                    icmp_type,
                    ident: pinger.ident(),
                    seq,
                    payload: echo_payload(56, seq),
                });
            }
        }
        let conversation: Vec<&Frame> = frames
            .iter()
            .copied()
            .filter(|f| !is_later_arp_check(f, &expected))
            .collect();
        assert_eq!(
            conversation,
            expected.iter().collect::<Vec<_>>(),
            "the capture is not the expected conversation:\n{trace}"
        );

        if let Some(fields) = tshark_fields(&capture.0) {
            let lines: Vec<&str> = fields.lines().collect();
            assert_eq!(
                lines.len(),
                records.len(),
                "tshark sees other frames:\n{fields}"
            );
            assert!(lines[0].starts_with("eth:ethertype:arp"), "{fields}");
            let echo_types: Vec<&str> = lines
                .iter()
                .filter(|l| l.contains(":icmp"))
                .filter_map(|l| l.split('\t').nth(1))
                .collect();
            assert_eq!(echo_types, ["8", "0", "8", "0", "8", "0"], "{fields}");
        }
    });
}

/// An ARP frame between the two hosts that is not one of the `expected` frames: the
/// kernel re-confirming its neighbour entry, and netstack's answer.
fn is_later_arp_check(frame: &Frame, expected: &[Frame]) -> bool {
    match frame {
        Frame::Arp { sender, target, .. } => {
            !expected.contains(frame)
                && [sender.1, target.1].contains(&HOST_IP)
                && [sender.1, target.1].contains(&STACK_IP)
        }
        _ => false,
    }
}

/// `tshark -r FILE -T fields -e frame.protocols -e icmp.type`, if tshark is installed.
fn tshark_fields(path: &std::path::Path) -> Option<String> {
    if !have_tool("capture_of_three_kernel_pings_reads_back", "tshark") {
        return None;
    }
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", "frame.protocols", "-e", "icmp.type"])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark cannot read the capture: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

//! IPv4 input: the checks of RFC 791 and RFC 1122 3.2.1 and 3.3, and reassembly
//! ([`reassembly`], RFC 815). Output (routing, the header, fragmentation) is in
//! [`crate::outbound`], since every layer sends through there.
//!
//! We are a host, not a router: datagrams not addressed to us are dropped, never
//! forwarded (RFC 1122 3.3.1.6 lets a host do exactly that).

pub mod reassembly;

use crate::config::Config;
use crate::counters::RxDrop;
use crate::outbound::{Origin, Outbound};
use crate::time::Instant;
use crate::wire::ipv4::HEADER_LEN;
use crate::wire::{EthernetRepr, IcmpRepr, Ipv4Repr, WireError};
use reassembly::{Outcome, Reassembler, ReassemblyConfig};

pub use crate::outbound::MAX_PAYLOAD;

/// What IPv4 input counts.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ipv4Counters {
    pub reassembled: u64,
    pub reassembly_failed: u64,
}

/// The IPv4 layer's own state: datagrams being reassembled.
#[derive(Debug)]
pub(crate) struct Ipv4 {
    reassembly: Reassembler,
    pub counters: Ipv4Counters,
}

impl Ipv4 {
    pub fn new(config: ReassemblyConfig) -> Ipv4 {
        Ipv4 {
            reassembly: Reassembler::new(config),
            counters: Ipv4Counters::default(),
        }
    }

    /// Checks a received IPv4 datagram, reassembles it if it is a fragment, and once it
    /// is whole hands it to `deliver` with where it came from. `deliver` (the stack's
    /// protocol dispatch) gets `out` back, for replies.
    pub fn receive(
        &mut self,
        now: Instant,
        eth: &EthernetRepr,
        payload: &[u8],
        checksum_verified: bool,
        out: &mut Outbound,
        deliver: impl FnOnce(&mut Outbound, &Origin<'_>, &[u8]) -> Result<(), RxDrop>,
    ) -> Result<(), RxDrop> {
        let (ip, body) = Ipv4Repr::parse(payload).map_err(|e| match e {
            WireError::Unsupported => RxDrop::Ipv4BadVersion,
            WireError::BadChecksum => RxDrop::Ipv4BadChecksum,
            WireError::Truncated | WireError::Malformed => RxDrop::Ipv4Malformed,
        })?;
        check_addresses(out.config(), eth, &ip)?;
        // parse() checked IHL against the buffer, so this slice is in bounds.
        let header = &payload[..usize::from(payload[0] & 0x0f) * 4];
        if !ip.is_fragment() {
            let origin = Origin {
                link_broadcast: eth.dst.is_broadcast(),
                ip,
                header,
                checksum_verified,
            };
            return deliver(out, &origin, body);
        }
        // RFC 791 3.2 / RFC 815: hold fragments until the datagram is whole.
        let evicted_before = self.reassembly.evicted();
        let outcome = self.reassembly.add(now, &ip, body);
        self.counters.reassembly_failed += self.reassembly.evicted() - evicted_before;
        match outcome {
            Outcome::Held => Ok(()),
            Outcome::Duplicate => Err(RxDrop::Ipv4FragmentDuplicate),
            Outcome::Overlap => Err(RxDrop::Ipv4FragmentOverlap),
            Outcome::Malformed => Err(RxDrop::Ipv4FragmentMalformed),
            Outcome::Complete(whole, data) => {
                self.counters.reassembled += 1;
                let mut rebuilt = [0u8; HEADER_LEN];
                // The reassembled datagram fits 65535 bytes: the reassembler checked.
                whole.emit(&mut rebuilt);
                let origin = Origin {
                    link_broadcast: eth.dst.is_broadcast(),
                    ip: whole,
                    header: &rebuilt,
                    checksum_verified: false,
                };
                deliver(out, &origin, &data)
            }
        }
    }

    /// Abandons datagrams whose fragments did not all arrive in time. RFC 792 / RFC 1122
    /// 3.3.2: if fragment zero had arrived, tell the sender with Time Exceeded, code 1.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outbound) {
        let mut expired = Vec::new();
        self.reassembly.handle_timeout(now, |e| expired.push(e));
        for e in expired {
            self.counters.reassembly_failed += 1;
            if let Some(first) = e.first {
                let mut header = [0u8; HEADER_LEN];
                first.emit(&mut header);
                let origin = Origin {
                    link_broadcast: false,
                    ip: first,
                    header: &header,
                    checksum_verified: false,
                };
                let quoted = &e.first_bytes[..e.first_len];
                out.send_icmp_error(now, &origin, quoted, IcmpRepr::TimeExceeded { code: 1 });
            }
        }
    }

    /// When a reassembly times out next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.reassembly.poll_timeout()
    }

    /// Datagrams being reassembled and the buffer bytes they hold.
    pub fn reassembly_usage(&self) -> (usize, usize) {
        self.reassembly.usage()
    }
}

/// RFC 1122 3.2.1.3 and 3.3.6: is this datagram addressed to us, from a possible source?
fn check_addresses(cfg: &Config, eth: &EthernetRepr, ip: &Ipv4Repr) -> Result<(), RxDrop> {
    let broadcast = cfg.is_broadcast(ip.dst);
    if ip.dst != cfg.addr && !broadcast {
        return Err(RxDrop::Ipv4NotForUs);
    }
    // RFC 1122 3.3.6: a unicast datagram that arrived as a link-layer broadcast is
    // discarded (someone is confused, or probing).
    if eth.dst.is_broadcast() && !broadcast {
        return Err(RxDrop::Ipv4NotForUs);
    }
    // RFC 1122 3.2.1.3: a source must be a host address; 127/8 never appears on a
    // wire; 0.0.0.0 only while booting, so only towards a broadcast. Our own address
    // as source means a loop or a spoof.
    let unspecified_ok = ip.src.is_unspecified() && broadcast;
    if (!cfg.is_host_address(ip.src) && !unspecified_ok) || ip.src == cfg.addr {
        return Err(RxDrop::Ipv4BadSource);
    }
    Ok(())
}

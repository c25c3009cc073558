//! How a stack is configured: its addresses and the tunables of each protocol.

use core::fmt;
use core::net::Ipv4Addr;
use core::ops::RangeInclusive;

pub use crate::ipv4::reassembly::ReassemblyConfig;
pub use crate::tcp::config::TcpConfig;

use crate::time::Duration;
use crate::wire::MacAddr;

/// Everything a [`Stack`](crate::Stack) needs to know about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Our Ethernet address.
    pub mac: MacAddr,
    /// Our IPv4 address.
    pub addr: Ipv4Addr,
    /// Length of the on-link prefix (24 for a /24).
    pub prefix_len: u8,
    /// Next hop for destinations off the prefix; `None` means only on-link is reachable.
    pub gateway: Option<Ipv4Addr>,
    /// IP MTU of the link in bytes (1500 on Ethernet); frames are this plus 14.
    pub mtu: u16,
    /// TTL of the datagrams we originate. 64, as Linux (RFC 1700 recommends 64).
    pub ttl: u8,
    /// ARP tunables.
    pub arp: ArpConfig,
    /// IPv4 reassembly tunables.
    pub reassembly: ReassemblyConfig,
    /// Ports handed to sockets bound to port 0: IANA's dynamic range 49152-65535
    /// (RFC 6335 section 6) by default.
    pub ephemeral_ports: RangeInclusive<u16>,
    /// Sockets open at once, of all protocols. 4096.
    pub max_sockets: usize,
    /// Bytes a UDP socket may hold unread before further datagrams are dropped; each
    /// datagram is charged its length plus 64 bytes of bookkeeping, so a flood of empty
    /// datagrams is bounded too. 256 KiB (Linux's default rmem is 208 KiB).
    pub udp_recv_buffer: usize,
    /// TCP tunables.
    pub tcp: TcpConfig,
    /// Join consecutive in-order TCP segments of a batch before TCP sees them
    /// ([`Stack::receive_batch`](crate::Stack::receive_batch), a software GRO). On by
    /// default; off, a batch is received one frame at a time.
    pub rx_coalesce: bool,
}

/// ARP tunables (RFC 826 leaves them all to the implementer; RFC 1122 2.3.2.1 asks for
/// cache expiry and for flooding protection, i.e. a rate limit on requests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpConfig {
    /// How long a learned mapping stays usable. 60 s, close to Linux's effective
    /// lifetime (reachable 15-45 s, then a stale period with re-probing).
    pub lifetime: Duration,
    /// When an entry is used within this span of its expiry, a unicast request refreshes
    /// it in the background while traffic keeps flowing (Linux's "probe" state). 10 s.
    pub refresh_before: Duration,
    /// Time between requests for one unresolved address. 1 s, as Linux's retrans_time;
    /// also the rate limit of RFC 1122 2.3.2.1 (at most one request per second per address).
    pub retry_interval: Duration,
    /// Requests sent before giving up on an address. 3, as Linux's mcast_solicit.
    pub max_requests: u8,
    /// After giving up, how long new traffic to that address is dropped at once instead of
    /// re-triggering requests (a negative cache entry). 3 s.
    pub failed_hold: Duration,
    /// Frames queued per unresolved address; the oldest is dropped past this. 128: room
    /// for every fragment of two maximum-size datagrams (45 each at MTU 1500) or a burst
    /// of small ones. Linux queues up to 208 KiB per neighbour (unres_qlen_bytes); BSD and
    /// lwIP keep one to three packets, which loses all but the last fragments of a large
    /// first datagram.
    pub queue_per_address: usize,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            lifetime: Duration::from_secs(60),
            refresh_before: Duration::from_secs(10),
            retry_interval: Duration::from_secs(1),
            max_requests: 3,
            failed_hold: Duration::from_secs(3),
            queue_per_address: 128,
        }
    }
}

impl Default for Config {
    /// The project's conventions: 10.0.0.2/24, gateway 10.0.0.1, MAC 02:00:00:00:00:02.
    fn default() -> Self {
        Config {
            mac: MacAddr([0x02, 0, 0, 0, 0, 0x02]),
            addr: Ipv4Addr::new(10, 0, 0, 2),
            prefix_len: 24,
            gateway: Some(Ipv4Addr::new(10, 0, 0, 1)),
            mtu: 1500,
            ttl: 64,
            arp: ArpConfig::default(),
            reassembly: ReassemblyConfig::default(),
            ephemeral_ports: 49152..=65535,
            max_sockets: 4096,
            udp_recv_buffer: 256 * 1024,
            tcp: TcpConfig::default(),
            rx_coalesce: true,
        }
    }
}

/// Why a [`Config`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The MAC address is multicast or all zeros.
    BadMac(MacAddr),
    /// The address cannot be assigned to a host (unspecified, broadcast, multicast, loopback).
    BadAddress(Ipv4Addr),
    /// The prefix length is over 30 (no room for a host and a peer) or zero.
    BadPrefix(u8),
    /// The gateway is not on our prefix, or is our own address.
    BadGateway(Ipv4Addr),
    /// The MTU is below the IPv4 minimum of 68 (RFC 791). (A `u16` cannot exceed the
    /// IPv4 total-length limit of 65535.)
    BadMtu(u16),
    /// A TTL of zero would be discarded by the first hop.
    BadTtl,
    /// The ephemeral port range is empty or includes port 0.
    BadPortRange,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadMac(m) => write!(f, "MAC address {m} is not a unicast address"),
            ConfigError::BadAddress(a) => write!(f, "{a} cannot be a host address"),
            ConfigError::BadPrefix(p) => write!(f, "prefix length /{p} must be between 1 and 30"),
            ConfigError::BadGateway(g) => {
                write!(f, "gateway {g} is not another host on our prefix")
            }
            ConfigError::BadMtu(m) => write!(f, "MTU {m} must be between 68 and 65535"),
            ConfigError::BadTtl => f.write_str("TTL must be at least 1"),
            ConfigError::BadPortRange => {
                f.write_str("the ephemeral port range must be non-empty and exclude port 0")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The network mask of our prefix.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(prefix_mask(self.prefix_len))
    }

    /// The directed broadcast address of our prefix (10.0.0.255 for 10.0.0.2/24).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !prefix_mask(self.prefix_len))
    }

    /// True when `ip` is on our prefix (reachable without the gateway).
    pub fn on_link(&self, ip: Ipv4Addr) -> bool {
        let mask = prefix_mask(self.prefix_len);
        u32::from(ip) & mask == u32::from(self.addr) & mask
    }

    /// True for the limited broadcast address and our prefix's directed broadcast.
    pub fn is_broadcast(&self, ip: Ipv4Addr) -> bool {
        ip.is_broadcast() || ip == self.broadcast()
    }

    /// True when `ip` could be a neighbour's own address (not broadcast, multicast,
    /// loopback, unspecified, or our prefix's broadcast).
    pub fn is_host_address(&self, ip: Ipv4Addr) -> bool {
        !(ip.is_unspecified()
            || ip.is_broadcast()
            || ip.is_multicast()
            || ip.is_loopback()
            || ip == self.broadcast())
    }

    /// Checks the configuration is one a host could use.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.mac.is_unicast() {
            return Err(ConfigError::BadMac(self.mac));
        }
        if self.prefix_len == 0 || self.prefix_len > 30 {
            return Err(ConfigError::BadPrefix(self.prefix_len));
        }
        let a = self.addr;
        if a.is_unspecified()
            || a.is_broadcast()
            || a.is_multicast()
            || a.is_loopback()
            || a == self.broadcast()
        {
            return Err(ConfigError::BadAddress(a));
        }
        let host_bits = u32::from(a) & !prefix_mask(self.prefix_len);
        if host_bits == 0 {
            return Err(ConfigError::BadAddress(a));
        }
        if let Some(g) = self.gateway {
            if g == a
                || !self.on_link(g)
                || g == self.broadcast()
                || u32::from(g) & !prefix_mask(self.prefix_len) == 0
            {
                return Err(ConfigError::BadGateway(g));
            }
        }
        if self.mtu < 68 {
            return Err(ConfigError::BadMtu(self.mtu));
        }
        if self.ttl == 0 {
            return Err(ConfigError::BadTtl);
        }
        if self.ephemeral_ports.is_empty() || *self.ephemeral_ports.start() == 0 {
            return Err(ConfigError::BadPortRange);
        }
        Ok(())
    }
}

fn prefix_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_project_conventions_and_validate() {
        let c = Config::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(c.broadcast(), Ipv4Addr::new(10, 0, 0, 255));
        assert!(c.on_link(Ipv4Addr::new(10, 0, 0, 77)));
        assert!(!c.on_link(Ipv4Addr::new(10, 0, 1, 1)));
    }

    #[test]
    fn nonsense_is_refused() {
        let ok = Config::default();
        let bad = [
            Config {
                prefix_len: 31,
                ..ok.clone()
            },
            Config {
                addr: Ipv4Addr::new(10, 0, 0, 255),
                ..ok.clone()
            },
            Config {
                addr: Ipv4Addr::new(10, 0, 0, 0),
                ..ok.clone()
            },
            Config {
                gateway: Some(Ipv4Addr::new(192, 168, 1, 1)),
                ..ok.clone()
            },
            Config {
                gateway: Some(ok.addr),
                ..ok.clone()
            },
            Config {
                mtu: 67,
                ..ok.clone()
            },
            Config {
                mac: MacAddr::BROADCAST,
                ..ok.clone()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?} was accepted");
        }
    }
}

//! Demultiplexing: which socket an arriving datagram or segment belongs to.
//!
//! Lookup order, most specific first (as BSD's `in_pcblookup` and Linux's
//! `__inet_lookup` do):
//! 1. the connected socket with exactly this (local address, local port, remote address,
//!    remote port);
//! 2. the socket bound to this local address and port;
//! 3. the socket bound to the wildcard address 0.0.0.0 and this port.
//!
//! Each step is one hash lookup, so the cost does not grow with the number of sockets.

use core::hash::{Hash, Hasher};
use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::HashMap;

use super::{Protocol, SocketHandle};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Connected {
    proto: Protocol,
    local: SocketAddrV4,
    remote: SocketAddrV4,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bound {
    proto: Protocol,
    local: SocketAddrV4,
}

/// One 104-bit number per four-tuple, hashed in a single write: every arriving segment
/// is looked up, and hashing field by field costs several times more.
fn packed(proto: Protocol, local: SocketAddrV4, remote: SocketAddrV4) -> u128 {
    u128::from(proto as u8) << 96
        | u128::from(u32::from(*local.ip())) << 64
        | u128::from(local.port()) << 48
        | u128::from(u32::from(*remote.ip())) << 16
        | u128::from(remote.port())
}

impl Hash for Connected {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u128(packed(self.proto, self.local, self.remote));
    }
}

impl Hash for Bound {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let unspecified = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
        state.write_u128(packed(self.proto, self.local, unspecified));
    }
}

/// The address maps from which arriving traffic finds its socket.
#[derive(Debug, Default)]
pub struct Demux {
    connected: HashMap<Connected, SocketHandle>,
    bound: HashMap<Bound, SocketHandle>,
}

impl Demux {
    /// Registers a socket bound to `local` (address may be 0.0.0.0). Returns false if
    /// another socket holds that exact binding.
    pub fn bind(&mut self, proto: Protocol, local: SocketAddrV4, h: SocketHandle) -> bool {
        let key = Bound { proto, local };
        if self.bound.contains_key(&key) {
            return false;
        }
        self.bound.insert(key, h);
        true
    }

    /// Removes a binding registered by [`Demux::bind`].
    pub fn unbind(&mut self, proto: Protocol, local: SocketAddrV4) {
        self.bound.remove(&Bound { proto, local });
    }

    /// Registers a connected socket. Returns false if the 4-tuple is taken.
    pub fn connect(
        &mut self,
        proto: Protocol,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        h: SocketHandle,
    ) -> bool {
        let key = Connected {
            proto,
            local,
            remote,
        };
        if self.connected.contains_key(&key) {
            return false;
        }
        self.connected.insert(key, h);
        true
    }

    /// Removes a registration made by [`Demux::connect`].
    pub fn disconnect(&mut self, proto: Protocol, local: SocketAddrV4, remote: SocketAddrV4) {
        self.connected.remove(&Connected {
            proto,
            local,
            remote,
        });
    }

    /// True when the exact 4-tuple is registered.
    pub fn is_connected(&self, proto: Protocol, local: SocketAddrV4, remote: SocketAddrV4) -> bool {
        self.connected.contains_key(&Connected {
            proto,
            local,
            remote,
        })
    }

    /// The socket for traffic arriving at `local` from `remote`.
    pub fn lookup(
        &self,
        proto: Protocol,
        local: SocketAddrV4,
        remote: SocketAddrV4,
    ) -> Option<SocketHandle> {
        if let Some(h) = self.connected.get(&Connected {
            proto,
            local,
            remote,
        }) {
            return Some(*h);
        }
        if let Some(h) = self.bound.get(&Bound { proto, local }) {
            return Some(*h);
        }
        let wildcard = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, local.port());
        self.bound
            .get(&Bound {
                proto,
                local: wildcard,
            })
            .copied()
    }

    /// The socket bound (not connected) to `local` or the wildcard with its port.
    pub fn lookup_bound(&self, proto: Protocol, local: SocketAddrV4) -> Option<SocketHandle> {
        let wildcard = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, local.port());
        self.bound
            .get(&Bound { proto, local })
            .or_else(|| {
                self.bound.get(&Bound {
                    proto,
                    local: wildcard,
                })
            })
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u32) -> SocketHandle {
        SocketHandle {
            protocol: Protocol::Tcp,
            index: i,
            generation: 0,
        }
    }

    fn sa(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
    }

    #[test]
    fn most_specific_match_wins() {
        let mut d = Demux::default();
        assert!(d.bind(Protocol::Tcp, sa("0.0.0.0:80"), h(1)));
        assert!(d.bind(Protocol::Tcp, sa("10.0.0.2:80"), h(2)));
        assert!(d.connect(Protocol::Tcp, sa("10.0.0.2:80"), sa("10.0.0.1:5000"), h(3)));
        let local = sa("10.0.0.2:80");
        assert_eq!(
            d.lookup(Protocol::Tcp, local, sa("10.0.0.1:5000")),
            Some(h(3)),
            "exact 4-tuple"
        );
        assert_eq!(
            d.lookup(Protocol::Tcp, local, sa("10.0.0.1:5001")),
            Some(h(2)),
            "bound address"
        );
        d.unbind(Protocol::Tcp, local);
        assert_eq!(
            d.lookup(Protocol::Tcp, local, sa("10.0.0.1:5001")),
            Some(h(1)),
            "wildcard"
        );
        assert_eq!(
            d.lookup(Protocol::Udp, local, sa("10.0.0.1:5001")),
            None,
            "protocols are separate"
        );
        assert_eq!(
            d.lookup(Protocol::Tcp, sa("10.0.0.2:81"), sa("10.0.0.1:5001")),
            None
        );
    }

    #[test]
    fn bindings_are_exclusive() {
        let mut d = Demux::default();
        assert!(d.bind(Protocol::Udp, sa("0.0.0.0:7"), h(1)));
        assert!(!d.bind(Protocol::Udp, sa("0.0.0.0:7"), h(2)));
        assert!(d.connect(Protocol::Udp, sa("10.0.0.2:7"), sa("10.0.0.1:9"), h(1)));
        assert!(!d.connect(Protocol::Udp, sa("10.0.0.2:7"), sa("10.0.0.1:9"), h(2)));
    }
}

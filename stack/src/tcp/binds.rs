//! Who holds each local TCP port, for binding: Linux's bind buckets, reduced to counts.
//!
//! Two sockets may hold one port when both set SO_REUSEADDR and the one already there
//! is not listening (Linux's `inet_bind_conflict`: `sk->sk_reuse && sk2->sk_reuse &&
//! sk2->sk_state != TCP_LISTEN`). Holders are listeners, connections (an accepted one
//! holds its listener's port with the listener's setting) and TIME-WAIT entries (with
//! the setting of the connection they were). With one local address, every holder of a
//! port overlaps every other.

use std::collections::HashMap;

/// One holder of a port, as far as binding cares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Holder {
    /// SO_REUSEADDR was set on it.
    pub reuse: bool,
    /// It is a listener.
    pub listening: bool,
}

/// Holders of one port, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Count {
    all: u32,
    /// Without SO_REUSEADDR.
    exclusive: u32,
    listening: u32,
}

/// The holders of every port. See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Binds(HashMap<u16, Count>);

impl Binds {
    /// Records one more holder of `port`.
    pub fn hold(&mut self, port: u16, h: Holder) {
        let c = self.0.entry(port).or_default();
        c.all += 1;
        c.exclusive += u32::from(!h.reuse);
        c.listening += u32::from(h.listening);
    }

    /// Records that a holder of `port` gave it up (the same `h` it held it with).
    pub fn release(&mut self, port: u16, h: Holder) {
        let Some(c) = self.0.get_mut(&port) else {
            return;
        };
        c.all = c.all.saturating_sub(1);
        c.exclusive = c.exclusive.saturating_sub(u32::from(!h.reuse));
        c.listening = c.listening.saturating_sub(u32::from(h.listening));
        if c.all == 0 {
            self.0.remove(&port);
        }
    }

    /// True when a socket with SO_REUSEADDR `reuse` may not bind `port`: someone holds
    /// it, unless it and every holder set SO_REUSEADDR and none listens.
    pub fn conflicts(&self, port: u16, reuse: bool) -> bool {
        self.0
            .get(&port)
            .is_some_and(|c| !reuse || c.exclusive > 0 || c.listening > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REUSE: Holder = Holder {
        reuse: true,
        listening: false,
    };
    const PLAIN: Holder = Holder {
        reuse: false,
        listening: false,
    };
    const LISTENER: Holder = Holder {
        reuse: true,
        listening: true,
    };

    #[test]
    fn shared_only_when_both_reuse_and_none_listens() {
        let mut b = Binds::default();
        assert!(!b.conflicts(80, false));
        b.hold(80, REUSE);
        assert!(b.conflicts(80, false), "the newcomer did not set it");
        assert!(!b.conflicts(80, true));
        b.hold(80, PLAIN);
        assert!(b.conflicts(80, true), "a holder did not set it");
        b.release(80, PLAIN);
        b.hold(80, LISTENER);
        assert!(b.conflicts(80, true), "a listener is never shared");
        b.release(80, LISTENER);
        b.release(80, REUSE);
        assert!(!b.conflicts(80, false), "all gone");
        b.release(80, REUSE);
        assert!(
            !b.conflicts(80, false),
            "an extra release does not underflow"
        );
    }
}

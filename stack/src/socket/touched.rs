//! Which sockets' readiness may have changed since a runtime last looked, so it wakes
//! only their waiters, as epoll does. Bounded: past [`LIMIT`] entries it just says
//! "all of them".

use super::SocketHandle;

/// Sockets listed at most before the list becomes "all".
pub const LIMIT: usize = 4096;

/// A bounded list of touched sockets.
#[derive(Debug, Default)]
pub struct Touched {
    list: Vec<SocketHandle>,
    all: bool,
}

impl Touched {
    /// Notes that socket `h`'s readiness (data, room, connection state, an error) may
    /// have changed.
    pub fn touch(&mut self, h: SocketHandle) {
        if self.list.last() == Some(&h) || self.all {
            return;
        }
        if self.list.len() >= LIMIT {
            self.list.clear();
            self.all = true;
            return;
        }
        self.list.push(h);
    }

    /// Appends the touched sockets to `out` and forgets them. Returns true when there
    /// were too many to list: wake every waiter.
    pub fn drain_into(&mut self, out: &mut Vec<SocketHandle>) -> bool {
        out.append(&mut self.list);
        std::mem::take(&mut self.all)
    }
}

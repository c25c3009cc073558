//! Slot storage for sockets with generation-checked handles.

use super::{Protocol, SocketHandle};

/// The handle no longer names a socket: it was closed (and its slot perhaps reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaleHandle;

/// Every slot is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableFull;

#[derive(Debug)]
struct Slot<S> {
    generation: u32,
    socket: Option<S>,
}

/// A bounded table of one protocol's sockets, of type `S`.
#[derive(Debug)]
pub struct SocketTable<S> {
    protocol: Protocol,
    slots: Vec<Slot<S>>,
    free: Vec<u32>,
    capacity: usize,
    len: usize,
}

impl<S> SocketTable<S> {
    /// An empty table holding at most `capacity` sockets of `protocol`.
    pub fn new(protocol: Protocol, capacity: usize) -> Self {
        SocketTable {
            protocol,
            slots: Vec::new(),
            free: Vec::new(),
            capacity,
            len: 0,
        }
    }

    /// Stores a socket and returns its handle.
    pub fn insert(&mut self, socket: S) -> Result<SocketHandle, TableFull> {
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.socket = Some(socket);
            self.len += 1;
            return Ok(SocketHandle {
                protocol: self.protocol,
                index,
                generation: slot.generation,
            });
        }
        if self.slots.len() >= self.capacity {
            return Err(TableFull);
        }
        // capacity is a usize we chose; slots.len() < capacity fits u32 for any sane bound.
        let index = u32::try_from(self.slots.len()).map_err(|_| TableFull)?;
        self.slots.push(Slot {
            generation: 0,
            socket: Some(socket),
        });
        self.len += 1;
        Ok(SocketHandle {
            protocol: self.protocol,
            index,
            generation: 0,
        })
    }

    /// The slot `h` points at, if `h` is one of this table's handles.
    fn index(&self, h: SocketHandle) -> usize {
        if h.protocol == self.protocol {
            h.index as usize
        } else {
            usize::MAX
        }
    }

    /// The socket `h` names.
    pub fn get(&self, h: SocketHandle) -> Result<&S, StaleHandle> {
        match self.slots.get(self.index(h)) {
            Some(Slot {
                generation,
                socket: Some(s),
            }) if *generation == h.generation => Ok(s),
            _ => Err(StaleHandle),
        }
    }

    /// The socket `h` names, mutably.
    pub fn get_mut(&mut self, h: SocketHandle) -> Result<&mut S, StaleHandle> {
        let i = self.index(h);
        match self.slots.get_mut(i) {
            Some(Slot {
                generation,
                socket: Some(s),
            }) if *generation == h.generation => Ok(s),
            _ => Err(StaleHandle),
        }
    }

    /// Removes the socket `h` names; its handle (and every copy) becomes stale.
    pub fn remove(&mut self, h: SocketHandle) -> Result<S, StaleHandle> {
        let i = self.index(h);
        let slot = self.slots.get_mut(i).ok_or(StaleHandle)?;
        if slot.generation != h.generation || slot.socket.is_none() {
            return Err(StaleHandle);
        }
        let s = slot.socket.take().ok_or(StaleHandle)?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(h.index);
        self.len -= 1;
        Ok(s)
    }

    /// Takes the socket out of its slot for a while, keeping the slot and its handle
    /// reserved; put it back with [`restore`](Self::restore) or free the slot with
    /// [`release`](Self::release). Lets the stack work on one socket while it sends.
    pub fn take(&mut self, h: SocketHandle) -> Result<S, StaleHandle> {
        let i = self.index(h);
        match self.slots.get_mut(i) {
            Some(slot) if slot.generation == h.generation => slot.socket.take().ok_or(StaleHandle),
            _ => Err(StaleHandle),
        }
    }

    /// Puts back a socket taken with [`take`](Self::take).
    pub fn restore(&mut self, h: SocketHandle, socket: S) {
        let i = self.index(h);
        if let Some(slot) = self.slots.get_mut(i) {
            if slot.generation == h.generation && slot.socket.is_none() {
                slot.socket = Some(socket);
            }
        }
    }

    /// Frees the slot of a socket taken with [`take`](Self::take); its handle goes stale.
    pub fn release(&mut self, h: SocketHandle) {
        let i = self.index(h);
        if let Some(slot) = self.slots.get_mut(i) {
            if slot.generation == h.generation && slot.socket.is_none() {
                slot.generation = slot.generation.wrapping_add(1);
                self.free.push(h.index);
                self.len -= 1;
            }
        }
    }

    /// Sockets stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no socket is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every socket with its handle, for display (not used on any packet path).
    pub fn iter(&self) -> impl Iterator<Item = (SocketHandle, &S)> {
        self.slots.iter().enumerate().filter_map(|(i, slot)| {
            let s = slot.socket.as_ref()?;
            Some((
                SocketHandle {
                    protocol: self.protocol,
                    index: i as u32,
                    generation: slot.generation,
                },
                s,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_handle_is_stale_even_after_its_slot_is_reused() {
        let mut t = SocketTable::new(Protocol::Udp, 4);
        let a = t.insert("a").unwrap();
        t.remove(a).unwrap();
        let b = t.insert("b").unwrap();
        assert_eq!(a.index, b.index, "slot reused");
        assert_eq!(t.get(a), Err(StaleHandle));
        assert_eq!(t.remove(a), Err(StaleHandle));
        assert_eq!(t.get(b), Ok(&"b"));
    }

    #[test]
    fn another_protocols_handle_is_refused() {
        let mut udp = SocketTable::new(Protocol::Udp, 4);
        let mut tcp = SocketTable::new(Protocol::Tcp, 4);
        let u = udp.insert("udp").unwrap();
        let t = tcp.insert("tcp").unwrap();
        assert_eq!((u.index, u.generation), (t.index, t.generation));
        assert_ne!(u.slot(), t.slot(), "slots are unique across protocols");
        assert_eq!(tcp.get(u), Err(StaleHandle));
        assert_eq!(udp.remove(t), Err(StaleHandle));
    }

    #[test]
    fn capacity_is_a_hard_bound() {
        let mut t = SocketTable::new(Protocol::Udp, 2);
        let a = t.insert(1).unwrap();
        t.insert(2).unwrap();
        assert_eq!(t.insert(3), Err(TableFull));
        t.remove(a).unwrap();
        assert!(t.insert(3).is_ok());
        assert_eq!(t.len(), 2);
    }
}

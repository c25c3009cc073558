//! Batched transmission: the frames of one round, copied aside as they are offered and
//! handed to the kernel with one `sendmmsg(2)` when the round ends
//! ([`Device::flush`](crate::Device::flush)) or the batch is full.
//!
//! Why `sendmmsg` and not a `PACKET_TX_RING`: a transmit ring saves one copy (the kernel
//! may even send from the ring's pages), but a slot is free again only when the kernel
//! has let go of the frame, and on a veth the frame travels on into the peer's stack
//! and may sit in a socket's queue for as long as the application there likes. The ring
//! would then fill up with frames we may not touch, or, where the kernel lets go of the
//! slot before the pages, hand pages we are about to overwrite to the peer. `sendmmsg`
//! copies each frame into a buffer of the kernel's own: one system call per round
//! instead of one per frame, nothing shared, and its per-frame result keeps the
//! accounting of one frame at a time (a full queue loses that frame, counted).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// Frames held at most before they are sent, a round's worth (the event loop's
/// receive batch answered frame for frame).
pub(crate) const TX_BATCH: usize = 64;

/// What became of one frame the kernel refused, by its error.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Interrupted: offer it again.
    Retry,
    /// The socket's send buffer or the device's queue is full: the frame is lost, as on
    /// a link whose queue overflows.
    QueueFull,
    /// The interface is down: lost.
    LinkDown,
    /// The frame itself was refused (too long, say) or the socket failed.
    Error(io::Error),
}

impl Refusal {
    /// Sorts the error of a `send` or `sendmmsg` on a packet socket.
    pub(crate) fn of(e: io::Error) -> Refusal {
        match e.raw_os_error() {
            Some(libc::EINTR) => Refusal::Retry,
            Some(libc::EAGAIN | libc::ENOBUFS) => Refusal::QueueFull,
            Some(libc::ENETDOWN | libc::ENXIO) => Refusal::LinkDown,
            _ => Refusal::Error(e),
        }
    }
}

/// Frames waiting for the next `sendmmsg`, in one buffer of [`TX_BATCH`] slots.
#[derive(Debug)]
pub(crate) struct TxBatch {
    /// Slot `i` is `slots[i * slot_len..][..lens[i]]`.
    slots: Vec<u8>,
    slot_len: usize,
    lens: Vec<usize>,
}

impl TxBatch {
    /// An empty batch for frames of up to `slot_len` bytes.
    pub(crate) fn new(slot_len: usize) -> TxBatch {
        TxBatch {
            slots: vec![0; slot_len * TX_BATCH],
            slot_len,
            lens: Vec::with_capacity(TX_BATCH),
        }
    }

    /// Whether no frame waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// Whether the batch must be sent before another frame fits.
    pub(crate) fn is_full(&self) -> bool {
        self.lens.len() == TX_BATCH
    }

    /// Copies `frame` into the next slot. A frame longer than a slot is refused with
    /// `EMSGSIZE`, as the kernel refuses a frame longer than the link allows.
    ///
    /// # Panics
    ///
    /// If the batch is full: send it first.
    pub(crate) fn push(&mut self, frame: &[u8]) -> io::Result<()> {
        assert!(!self.is_full(), "TxBatch::push on a full batch");
        if frame.len() > self.slot_len {
            return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
        }
        let at = self.lens.len() * self.slot_len;
        self.slots[at..at + frame.len()].copy_from_slice(frame);
        self.lens.push(frame.len());
        Ok(())
    }

    /// Sends every waiting frame on `fd` (bound, so no address is needed), with as few
    /// `sendmmsg` calls as the kernel allows, and empties the batch. `lost` is told
    /// about each frame refused, with why; the batch goes on with the next frame.
    pub(crate) fn send(&mut self, fd: &OwnedFd, mut lost: impl FnMut(Refusal)) {
        let count = self.lens.len();
        // SAFETY: iovec and mmsghdr are plain C structs for which all-zero is valid.
        let mut iovecs: [libc::iovec; TX_BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; TX_BATCH] = unsafe { std::mem::zeroed() };
        // One pointer for all slots, so no slot's pointer outlives a borrow of another.
        let base = self.slots.as_mut_ptr();
        for (i, &len) in self.lens.iter().enumerate() {
            iovecs[i] = libc::iovec {
                // SAFETY: slot i starts at i * slot_len < slots.len() (i < TX_BATCH).
                iov_base: unsafe { base.add(i * self.slot_len) }.cast(),
                iov_len: len,
            };
        }
        for (msg, iov) in msgs.iter_mut().zip(iovecs.iter_mut()).take(count) {
            msg.msg_hdr.msg_iov = iov;
            msg.msg_hdr.msg_iovlen = 1;
        }
        let mut next = 0;
        while next < count {
            let left = (count - next) as libc::c_uint;
            // SAFETY: msgs[next..count] are initialised mmsghdrs, each with one iovec
            // pointing at a slot of `self.slots` valid for reads of its length; no name
            // and no control data. The arrays and the slots outlive the call, and
            // sendmmsg only writes the msg_len fields.
            let sent =
                unsafe { libc::sendmmsg(fd.as_raw_fd(), msgs[next..].as_mut_ptr(), left, 0) };
            if sent > 0 {
                next += sent as usize; // sent <= left
                continue;
            }
            // Nothing was sent: the error belongs to frame `next` alone.
            match Refusal::of(io::Error::last_os_error()) {
                Refusal::Retry => {}
                refusal => {
                    lost(refusal);
                    next += 1;
                }
            }
        }
        self.lens.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_longer_than_a_slot_are_refused_and_the_batch_fills_up() {
        let mut batch = TxBatch::new(100);
        assert!(batch.is_empty());
        let e = batch.push(&[0; 101]).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EMSGSIZE));
        assert!(batch.is_empty());
        for _ in 0..TX_BATCH {
            batch.push(&[1; 100]).unwrap();
        }
        assert!(batch.is_full());
    }

    #[test]
    fn refusals_are_sorted_by_error() {
        let of = |errno| Refusal::of(io::Error::from_raw_os_error(errno));
        assert!(matches!(of(libc::EINTR), Refusal::Retry));
        assert!(matches!(of(libc::EAGAIN), Refusal::QueueFull));
        assert!(matches!(of(libc::ENOBUFS), Refusal::QueueFull));
        assert!(matches!(of(libc::ENETDOWN), Refusal::LinkDown));
        assert!(matches!(of(libc::EMSGSIZE), Refusal::Error(_)));
    }
}

//! The transmit queue: frames the stack has built and the driver has not yet taken.
//!
//! Buffers are recycled through a small pool, so steady-state traffic allocates nothing
//! per frame. The queue is bounded; the stack counts a [`TxDrop::TxQueueFull`] when a
//! driver falls behind.
//!
//! [`TxDrop::TxQueueFull`]: crate::TxDrop::TxQueueFull

use std::collections::VecDeque;

use super::offload::TxOffload;

/// Frames waiting for the driver at most. Linux's default txqueuelen is 1000.
pub const QUEUE_LIMIT: usize = 1024;
/// Frames waiting at most before TCP, which can wait, stops adding segments: three
/// quarters of the queue. The last quarter is kept for what cannot wait and resend (UDP
/// and ICMP datagrams, ARP), so that a bulk transfer backed up behind a busy driver does
/// not crowd them out, as Linux's TCP small queues keep one flow from filling the qdisc.
pub const TCP_LIMIT: usize = QUEUE_LIMIT / 4 * 3;
/// Spare buffers kept for reuse.
const POOL_LIMIT: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct TxQueue {
    /// Frames in order, each with the work it leaves to the link.
    ready: VecDeque<(Vec<u8>, Option<TxOffload>)>,
    pool: Vec<Vec<u8>>,
}

impl TxQueue {
    /// An empty buffer, from the pool when one is spare.
    pub fn buffer(&mut self) -> Vec<u8> {
        self.pool.pop().unwrap_or_default()
    }

    /// Returns a buffer to the pool.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.pool.len() < POOL_LIMIT {
            buf.clear();
            self.pool.push(buf);
        }
    }

    /// Queues a finished frame. Returns false (and recycles it) when the queue is full.
    pub fn push(&mut self, frame: Vec<u8>, offload: Option<TxOffload>) -> bool {
        if self.ready.len() >= QUEUE_LIMIT {
            self.recycle(frame);
            return false;
        }
        self.ready.push_back((frame, offload));
        true
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.ready.len()
    }

    /// Hands waiting frames to `emit`, oldest first, while it returns true; the frame it
    /// refuses stays first in the queue. Returns how many it took and their bytes.
    pub fn drain_while(
        &mut self,
        mut emit: impl FnMut(&[u8], Option<&TxOffload>) -> bool,
    ) -> (usize, usize) {
        let (mut frames, mut bytes) = (0, 0);
        while let Some((frame, offload)) = self.ready.pop_front() {
            if !emit(&frame, offload.as_ref()) {
                self.ready.push_front((frame, offload));
                break;
            }
            frames += 1;
            bytes += frame.len();
            self.recycle(frame);
        }
        (frames, bytes)
    }
}

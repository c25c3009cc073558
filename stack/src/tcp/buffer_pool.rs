//! Ring storage given back by quiet connections, kept for the next connection that needs
//! some, so a busy stack does not free, re-allocate and re-zero its rings at every lull.
//!
//! A connection gives its rings back whenever nothing is owed or in flight (see
//! `Connection::reclaim_buffers`). A bulk receiver whose application keeps up is "quiet"
//! after every read, so without a pool each read would free a ring and the next segment
//! would allocate, zero and re-grow a fresh one page by page. With the pool, the next
//! segment gets the same storage back at once. Linux keeps freed socket buffers in slab
//! caches for the same reason.
//!
//! The pool is bounded in storage count and bytes ([`MAX_POOLED`], [`MAX_POOLED_BYTES`]);
//! storage beyond that is freed, so an idle stack holds at most those bytes.

/// The most rings the pool keeps.
pub const MAX_POOLED: usize = 64;

/// The most bytes the pool keeps, all rings together.
pub const MAX_POOLED_BYTES: usize = 8 << 20;

/// Quiet connections' ring storage, for reuse. See the [module docs](self).
#[derive(Debug, Default)]
pub struct BufferPool {
    rings: Vec<Box<[u8]>>,
    bytes: usize,
}

impl BufferPool {
    /// An empty pool.
    pub fn new() -> Self {
        BufferPool::default()
    }

    /// Keeps `ring` for reuse, or frees it if the pool is full.
    pub fn put(&mut self, ring: Box<[u8]>) {
        if ring.is_empty()
            || self.rings.len() >= MAX_POOLED
            || self.bytes + ring.len() > MAX_POOLED_BYTES
        {
            return;
        }
        self.bytes += ring.len();
        self.rings.push(ring);
    }

    /// The most recently kept ring of at most `max_len` bytes, if any (the most recent is
    /// likeliest still in the CPU's cache).
    pub fn take(&mut self, max_len: usize) -> Option<Box<[u8]>> {
        let i = self.rings.iter().rposition(|r| r.len() <= max_len)?;
        let ring = self.rings.swap_remove(i);
        self.bytes -= ring.len();
        Some(ring)
    }

    /// Bytes held by the pool.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(len: usize) -> Box<[u8]> {
        vec![0; len].into_boxed_slice()
    }

    #[test]
    fn gives_back_what_it_kept_within_the_size_asked() {
        let mut p = BufferPool::new();
        p.put(ring(4096));
        p.put(ring(65536));
        assert_eq!(p.bytes(), 69632);
        assert_eq!(p.take(8192).map(|r| r.len()), Some(4096));
        assert_eq!(
            p.take(8192),
            None,
            "the 64 KiB ring is too big for this buffer"
        );
        assert_eq!(p.take(1 << 20).map(|r| r.len()), Some(65536));
        assert_eq!(p.bytes(), 0);
    }

    #[test]
    fn stays_within_its_bounds() {
        let mut p = BufferPool::new();
        for _ in 0..MAX_POOLED + 10 {
            p.put(ring(4096));
        }
        assert_eq!(p.bytes(), MAX_POOLED * 4096);
        let mut p = BufferPool::new();
        p.put(ring(MAX_POOLED_BYTES));
        p.put(ring(1));
        assert_eq!(
            p.bytes(),
            MAX_POOLED_BYTES,
            "a byte more would pass the bound"
        );
        p.put(ring(0));
        assert_eq!(p.take(usize::MAX).map(|r| r.len()), Some(MAX_POOLED_BYTES));
    }
}

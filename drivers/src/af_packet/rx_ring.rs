//! The receive ring of a `TPACKET_V3` packet socket (`PACKET_MMAP`, Linux's
//! Documentation/networking/packet_mmap.rst).
//!
//! The kernel writes received frames, one after another, into blocks of memory it shares
//! with us, and hands a block over (`TP_STATUS_USER` in the block's status) when it is
//! full or has been open for [`RETIRE_TIMEOUT_MS`]. We then walk every frame of the
//! block without a system call and give the block back (`TP_STATUS_KERNEL`). The
//! descriptor polls readable when a block has been handed over.
//!
//! ```text
//!  ring: BLOCK_COUNT blocks of BLOCK_SIZE bytes, used in turn
//!  block: descriptor (block_status, num_pkts, offset_to_first_pkt) | frame | frame | ...
//!  frame: tpacket3_hdr (tp_next_offset, tp_snaplen, tp_len, tp_status, tp_mac)
//!         | sockaddr_ll (sll_pkttype) | ... | the Ethernet frame at tp_mac, tp_snaplen long
//! ```
//!
//! The walk over a block ([`BlockWalk`]) is plain safe code over a byte slice, checked
//! against the block's bounds at every step, and is unit-tested on blocks built in
//! memory; only mapping the ring and reading and writing a block's status touch raw
//! memory.
//!
//! ## Sizes
//!
//! [`BLOCK_COUNT`] × [`BLOCK_SIZE`] = 32 × 128 KiB = 4 MiB per socket. A block must hold
//! the largest frame the link hands over whole: a veth peer passes the kernel's 64 KB
//! GSO TCP segments on as they are, and a frame longer than a block would be cut. 4 MiB
//! is a few milliseconds of traffic at the rates a veth carries, against the 200 KB or
//! so of a packet socket's default receive buffer; when the ring is full the kernel
//! drops frames, as a NIC with a full ring does.
//!
//! ## Latency
//!
//! A block is handed over when full or after the timeout, so at low rates a frame waits
//! up to [`RETIRE_TIMEOUT_MS`] (rounded up to the kernel's timer tick) before the loop
//! sees it: the price of reading many frames per wake-up. Open the device with
//! [`Batch::Off`](crate::Batch::Off) for one-frame-at-a-time latency.

use std::io;
use std::mem::{self, offset_of};
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// Bytes per block: a 64 KB GSO frame and its headers fit, with room to spare. A
/// multiple of the page size, as the kernel requires.
pub(crate) const BLOCK_SIZE: usize = 128 * 1024;
/// Blocks in the ring: 4 MiB in all.
pub(crate) const BLOCK_COUNT: usize = 32;
/// How long the kernel keeps a block that is not full before handing it over, in ms
/// (the smallest it accepts; 0 would let it choose, 8 ms on a veth).
const RETIRE_TIMEOUT_MS: u32 = 1;
/// The nominal frame size `PACKET_RX_RING` wants. TPACKET_V3 packs frames of any
/// length into a block; the kernel only checks that the sizes add up.
const FRAME_SIZE: usize = 2048;

/// `PACKET_VERSION`'s value for the third frame format (linux/if_packet.h,
/// `enum tpacket_versions`).
const TPACKET_V3: libc::c_int = 2;

/// Where, in a block, its status word is (`tpacket_block_desc.hdr.bh1.block_status`).
const BLOCK_STATUS: usize =
    offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, block_status);
/// Where, in a block, the number of frames it holds is.
const NUM_PKTS: usize =
    offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, num_pkts);
/// Where, in a block, the offset of its first frame is.
const FIRST_PKT: usize = offset_of!(libc::tpacket_block_desc, hdr)
    + offset_of!(libc::tpacket_hdr_v1, offset_to_first_pkt);

/// A frame's header fields, as offsets into the frame's `tpacket3_hdr`.
const NEXT_OFFSET: usize = offset_of!(libc::tpacket3_hdr, tp_next_offset);
const SNAPLEN: usize = offset_of!(libc::tpacket3_hdr, tp_snaplen);
const WIRE_LEN: usize = offset_of!(libc::tpacket3_hdr, tp_len);
const STATUS: usize = offset_of!(libc::tpacket3_hdr, tp_status);
const MAC: usize = offset_of!(libc::tpacket3_hdr, tp_mac);
/// The `sockaddr_ll` follows the header, aligned to `TPACKET_ALIGNMENT`.
const SLL: usize = mem::size_of::<libc::tpacket3_hdr>().next_multiple_of(libc::TPACKET_ALIGNMENT);
const PKTTYPE: usize = SLL + offset_of!(libc::sockaddr_ll, sll_pkttype);

/// One frame found in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RingFrame {
    /// Where the Ethernet frame starts in the block.
    pub start: usize,
    /// Bytes of it in the block (`tp_snaplen`).
    pub captured: usize,
    /// Its length on the link (`tp_len`); longer than `captured` if the kernel cut it.
    pub wire_len: usize,
    /// The frame's `tp_status`: `TP_STATUS_CSUMNOTREADY` when its TCP or UDP checksum
    /// was left for offload to complete, `TP_STATUS_CSUM_VALID` when already checked.
    pub status: u32,
    /// Sent by this host (`PACKET_OUTGOING`): seen only on kernels without
    /// `PACKET_IGNORE_OUTGOING`.
    pub outgoing: bool,
}

/// Where the walk over one handed-over block stands: the next frame's offset and how
/// many frames are left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockWalk {
    offset: usize,
    left: u32,
}

impl BlockWalk {
    /// The walk over `block` from its first frame, as its descriptor says. A descriptor
    /// that cannot be read gives an empty walk.
    pub(crate) fn start(block: &[u8]) -> BlockWalk {
        match (read_u32(block, NUM_PKTS), read_u32(block, FIRST_PKT)) {
            (Some(left), Some(first)) => BlockWalk {
                offset: first as usize,
                left,
            },
            _ => BlockWalk { offset: 0, left: 0 },
        }
    }

    /// Whether every frame of the block has been walked.
    pub(crate) fn is_done(&self) -> bool {
        self.left == 0
    }

    /// The next frame of `block`, or `None` when the walk is over. A header or frame
    /// that would reach past the block ends the walk (the kernel never writes one; the
    /// check makes sure a bug cannot make us read outside the block).
    pub(crate) fn next(&mut self, block: &[u8]) -> Option<RingFrame> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let at = self.offset;
        let frame = frame_at(block, at);
        let next = frame.and_then(|_| read_u32(block, at + NEXT_OFFSET));
        match next {
            // The last frame of a block has no successor (tp_next_offset 0).
            Some(next) if next != 0 => self.offset = at + next as usize,
            _ => self.left = 0,
        }
        frame
    }
}

/// The frame whose `tpacket3_hdr` starts at `at` in `block`, if it lies wholly inside.
fn frame_at(block: &[u8], at: usize) -> Option<RingFrame> {
    let mac = usize::from(read_u16(block, at + MAC)?);
    let captured = read_u32(block, at + SNAPLEN)? as usize;
    let start = at.checked_add(mac)?;
    if start.checked_add(captured)? > block.len() {
        return None;
    }
    Some(RingFrame {
        start,
        captured,
        wire_len: read_u32(block, at + WIRE_LEN)? as usize,
        status: read_u32(block, at + STATUS)?,
        outgoing: *block.get(at + PKTTYPE)? == libc::PACKET_OUTGOING,
    })
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let field = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes(field.try_into().ok()?))
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let field = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes(field.try_into().ok()?))
}

/// A frame copied out of the ring by [`RxRing::recv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Copied {
    /// Bytes written to the caller's buffer.
    pub len: usize,
    /// The frame was longer than what was written (the caller's buffer or the block
    /// was too short for it).
    pub truncated: bool,
    /// The kernel left its TCP or UDP checksum for offload to complete.
    pub checksum_pending: bool,
}

/// The mapped receive ring of one packet socket, and our place in it.
#[derive(Debug)]
pub(crate) struct RxRing {
    map: NonNull<u8>,
    /// The block we read next, or are reading.
    block: usize,
    /// The walk over `block` while it is ours (handed over and not yet given back).
    walk: Option<BlockWalk>,
}

// SAFETY: the mapping is owned by this value alone and only read or written through
// `&mut self`; what the kernel shares with it is synchronised through each block's
// status word, whichever thread we are on.
unsafe impl Send for RxRing {}

impl RxRing {
    /// Turns `fd` (a packet socket not yet bound, so no frame is lost) into a
    /// TPACKET_V3 socket with a receive ring, and maps the ring.
    pub(crate) fn new(fd: &OwnedFd) -> io::Result<RxRing> {
        super::setsockopt(fd, libc::PACKET_VERSION, &TPACKET_V3)?;
        let req = libc::tpacket_req3 {
            tp_block_size: BLOCK_SIZE as u32,
            tp_block_nr: BLOCK_COUNT as u32,
            tp_frame_size: FRAME_SIZE as u32,
            tp_frame_nr: (BLOCK_SIZE / FRAME_SIZE * BLOCK_COUNT) as u32,
            tp_retire_blk_tov: RETIRE_TIMEOUT_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        super::setsockopt(fd, libc::PACKET_RX_RING, &req)?;
        // SAFETY: mapping a packet socket's ring: a fresh shared mapping of exactly the
        // ring's length at an address the kernel picks, so it overlaps nothing of ours.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BLOCK_SIZE * BLOCK_COUNT,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let map = NonNull::new(map.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        Ok(RxRing {
            map,
            block: 0,
            walk: None,
        })
    }

    /// Copies the next frame of the ring into `buf`, or says `None` when no handed-over
    /// block has a frame left. A block is given back as soon as its last frame is
    /// copied. Our own transmissions (kernels without `PACKET_IGNORE_OUTGOING`) are
    /// skipped.
    pub(crate) fn recv(&mut self, buf: &mut [u8]) -> Option<Copied> {
        loop {
            let mut walk = match self.walk {
                Some(walk) => walk,
                None if self.status().load(Ordering::Acquire) & libc::TP_STATUS_USER != 0 => {
                    BlockWalk::start(self.block_bytes())
                }
                None => return None,
            };
            let block = self.block_bytes();
            let copied = walk.next(block).and_then(|frame| {
                if frame.outgoing {
                    return None;
                }
                let data = &block[frame.start..frame.start + frame.captured];
                let len = data.len().min(buf.len());
                buf[..len].copy_from_slice(&data[..len]);
                Some(Copied {
                    len,
                    truncated: frame.wire_len > len,
                    checksum_pending: frame.status & libc::TP_STATUS_CSUMNOTREADY != 0,
                })
            });
            if walk.is_done() {
                self.give_back();
            } else {
                self.walk = Some(walk);
            }
            if copied.is_some() {
                return copied;
            }
        }
    }

    /// The current block's status word.
    fn status(&self) -> &AtomicU32 {
        // SAFETY: the block starts BLOCK_SIZE-aligned inside the mapping, which lives as
        // long as `self`; its status word is a u32 at a 4-aligned offset, which the
        // kernel and we only ever access whole. An AtomicU32 has a u32's layout.
        unsafe {
            AtomicU32::from_ptr(
                self.map
                    .as_ptr()
                    .add(self.block * BLOCK_SIZE + BLOCK_STATUS)
                    .cast::<u32>(),
            )
        }
    }

    /// The current block's bytes. Call only while the block is ours: its status said
    /// `TP_STATUS_USER` and it has not been given back.
    fn block_bytes(&self) -> &[u8] {
        // SAFETY: the block lies inside the mapping (block < BLOCK_COUNT), which lives as
        // long as `self`. The kernel handed it over (TP_STATUS_USER, read with Acquire,
        // so its writes to the block are visible) and writes to it again only after
        // `give_back` stores TP_STATUS_KERNEL, which needs `&mut self` and so cannot
        // happen while this borrow lives.
        unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(self.block * BLOCK_SIZE), BLOCK_SIZE)
        }
    }

    /// Returns the current block to the kernel and moves on to the next.
    fn give_back(&mut self) {
        // Release: our reads of the block happen before the kernel may write it again.
        self.status()
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.walk = None;
        self.block = (self.block + 1) % BLOCK_COUNT;
    }
}

impl Drop for RxRing {
    fn drop(&mut self) {
        // SAFETY: `map` is the mapping made in `new`, of exactly this length, and no
        // borrow of it outlives `self`.
        let rc = unsafe { libc::munmap(self.map.as_ptr().cast(), BLOCK_SIZE * BLOCK_COUNT) };
        if rc != 0 {
            log::warn!(
                "cannot unmap a packet socket's receive ring: {}",
                io::Error::last_os_error()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block as the kernel leaves it: a descriptor and `frames` packed one after the
    /// other at 16-byte-aligned offsets, each with its header, address and data.
    fn block(frames: &[(&[u8], u32, u8)]) -> Vec<u8> {
        let mut block = vec![0u8; 4096];
        let first = 48;
        block[NUM_PKTS..NUM_PKTS + 4].copy_from_slice(&(frames.len() as u32).to_ne_bytes());
        block[FIRST_PKT..FIRST_PKT + 4].copy_from_slice(&(first as u32).to_ne_bytes());
        let mut at = first;
        for (i, &(data, status, pkttype)) in frames.iter().enumerate() {
            let mac = (SLL + mem::size_of::<libc::sockaddr_ll>() + 2).next_multiple_of(16) - 2;
            let next = (mac + data.len()).next_multiple_of(16);
            let next = if i + 1 == frames.len() { 0 } else { next };
            let put = |block: &mut Vec<u8>, field: usize, v: u32| {
                block[at + field..at + field + 4].copy_from_slice(&v.to_ne_bytes())
            };
            put(&mut block, NEXT_OFFSET, next as u32);
            put(&mut block, SNAPLEN, data.len() as u32);
            put(&mut block, WIRE_LEN, data.len() as u32);
            put(&mut block, STATUS, status);
            block[at + MAC..at + MAC + 2].copy_from_slice(&(mac as u16).to_ne_bytes());
            block[at + PKTTYPE] = pkttype;
            block[at + mac..at + mac + data.len()].copy_from_slice(data);
            at += next;
        }
        block
    }

    fn walk_all(block: &[u8]) -> Vec<(Vec<u8>, u32, bool)> {
        let mut walk = BlockWalk::start(block);
        let mut out = Vec::new();
        while let Some(f) = walk.next(block) {
            out.push((
                block[f.start..f.start + f.captured].to_vec(),
                f.status,
                f.outgoing,
            ));
        }
        assert!(walk.is_done());
        out
    }

    #[test]
    fn every_frame_of_a_block_is_walked_in_order() {
        let csum = libc::TP_STATUS_USER | libc::TP_STATUS_CSUMNOTREADY;
        let b = block(&[
            (b"first frame", libc::TP_STATUS_USER, libc::PACKET_OTHERHOST),
            (&[7u8; 100], csum, libc::PACKET_HOST),
            (b"ours", libc::TP_STATUS_USER, libc::PACKET_OUTGOING),
        ]);
        assert_eq!(
            walk_all(&b),
            [
                (b"first frame".to_vec(), libc::TP_STATUS_USER, false),
                (vec![7u8; 100], csum, false),
                (b"ours".to_vec(), libc::TP_STATUS_USER, true),
            ]
        );
    }

    #[test]
    fn an_empty_block_has_no_frames() {
        assert_eq!(walk_all(&block(&[])), []);
        assert!(BlockWalk::start(&[0u8; 4]).is_done());
    }

    #[test]
    fn a_frame_reaching_past_the_block_ends_the_walk() {
        let mut b = block(&[(b"fine", 0, 0), (b"too long", 0, 0), (b"never", 0, 0)]);
        // The second frame claims more bytes than the block has.
        let second = 48 + read_u32(&b, 48 + NEXT_OFFSET).unwrap() as usize;
        b[second + SNAPLEN..second + SNAPLEN + 4].copy_from_slice(&5000u32.to_ne_bytes());
        assert_eq!(walk_all(&b), [(b"fine".to_vec(), 0, false)]);
        // A count larger than the frames present stops at the last one.
        let mut b = block(&[(b"one", 0, 0)]);
        b[NUM_PKTS..NUM_PKTS + 4].copy_from_slice(&9u32.to_ne_bytes());
        assert_eq!(walk_all(&b), [(b"one".to_vec(), 0, false)]);
        // A first frame offset past the end gives nothing, without panicking.
        let mut b = block(&[(b"one", 0, 0)]);
        b[FIRST_PKT..FIRST_PKT + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(walk_all(&b), []);
    }

    #[test]
    fn the_layout_matches_the_kernel_headers() {
        // linux/if_packet.h: the block descriptor's status after version and
        // offset_to_priv; the frame header 48 bytes, the address after it.
        assert_eq!((BLOCK_STATUS, NUM_PKTS, FIRST_PKT), (8, 12, 16));
        assert_eq!((SNAPLEN, WIRE_LEN, STATUS, MAC), (12, 16, 20, 24));
        assert_eq!(SLL, 48);
        assert_eq!(BLOCK_SIZE % 4096, 0);
        assert_eq!(BLOCK_SIZE % FRAME_SIZE, 0);
    }
}

//! The [`Device`] trait: one Ethernet link as the runtime drives it.
//!
//! A runtime loop uses a device like this:
//!
//! 1. `poll` the device's [`as_raw_fd`](Device::as_raw_fd) for readability (with the
//!    stack's next deadline as the timeout, see [`crate::poll`]);
//! 2. call [`recv`](Device::recv) until it returns `Ok(None)`, handing each frame to the
//!    stack: wrappers such as [`Faulty`](crate::Faulty) may hold a frame back that the
//!    descriptor no longer signals, so "read one frame per wake-up" can stall;
//! 3. [`send`](Device::send) each frame the stack wants transmitted, or better
//!    [`try_send`](Device::try_send): on a device that can say its queue is full, the
//!    loop then keeps the rest of its frames and polls the descriptor for `POLLOUT`
//!    too, instead of losing them;
//! 4. [`flush`](Device::flush) once the round's frames are offered: a device that sends
//!    in batches ([`AfPacketDevice`](crate::AfPacketDevice)) holds what `try_send` took
//!    until then.
//!
//! Frames are whole Ethernet frames without the FCS: destination MAC, source MAC,
//! EtherType, payload. A receive buffer of [`mtu`](Device::mtu)` + `[`ETHERNET_OVERHEAD`]
//! bytes holds any frame a device delivers; a shorter buffer gets the frame truncated.

use std::io;
use std::os::unix::io::RawFd;
use std::time::Duration;

use netstack_core::outbound::{LinkOffload, TxOffload};

use crate::fault::FaultReport;

/// Bytes an Ethernet frame carries beyond its IP MTU: 14 bytes of header plus room for
/// one 802.1Q VLAN tag. Size receive buffers as `mtu() + ETHERNET_OVERHEAD`.
pub const ETHERNET_OVERHEAD: usize = 14 + 4;

/// What a device dropped on its own, the way a real link loses frames without an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkDrops {
    /// Frames not sent because the device's transmit queue (or socket buffer) was full.
    pub tx_queue_full: u64,
    /// Frames not sent because the link was down: the interface is administratively
    /// down, or the peer of an in-memory link is gone.
    pub tx_link_down: u64,
    /// Frames received that were longer than the caller's buffer and were delivered
    /// truncated. Counted only where the OS reports it (AF_PACKET).
    pub rx_truncated: u64,
}

/// A frame [`Device::recv_info`] read: its length, and what the device knows of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxInfo {
    /// Bytes of the frame in the buffer.
    pub len: usize,
    /// The device vouches for the frame's TCP or UDP checksum (receive checksum
    /// offload): the frame came from the kernel's own stack with the checksum left
    /// undone (`NEEDS_CSUM`), or the kernel verified it (`DATA_VALID`). The checksum
    /// field may then hold a partial sum; hand the frame to
    /// `Stack::receive_batch` as a `Received` with `checksum_valid` set.
    pub checksum_valid: bool,
}

/// Whether a device and the loop driving it move many frames per system call and per
/// wake-up, or one at a time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Batch {
    /// Many: a receive ring and `sendmmsg` on AF_PACKET, and up to a batch of frames
    /// read per wake-up by the runtime's loop: the default.
    #[default]
    On,
    /// One: one system call per frame and one frame read per wake-up, for comparison
    /// and for teaching.
    Off,
}

/// What became of a frame offered with [`Device::try_send`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// The device took the frame (or lost it as a real link would, and counted it).
    Taken,
    /// The device's queue is full and the frame was not taken: offer it again once the
    /// descriptor polls writable (`POLLOUT`).
    Full,
}

/// One Ethernet link. Implemented by the OS-backed devices and by the wrappers.
pub trait Device: Send {
    /// Reads one waiting frame into `buf` without blocking: `Ok(Some(len))`, or
    /// `Ok(None)` when nothing waits. An `Err` is a real failure of the device.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;

    /// Like [`recv`](Device::recv), and says whether the device vouches for the frame's
    /// checksum ([`RxInfo::checksum_valid`]); such a frame is handed over as the device
    /// gave it, its checksum maybe partial. By default the device vouches for nothing:
    /// `recv`'s frame, every checksum complete. Wrappers (pcap, trace, faults) keep the
    /// default, so what they record or corrupt is a frame whose checksums hold.
    fn recv_info(&mut self, buf: &mut [u8]) -> io::Result<Option<RxInfo>> {
        Ok(self.recv(buf)?.map(|len| RxInfo {
            len,
            checksum_valid: false,
        }))
    }

    /// Writes one whole Ethernet frame (no FCS). A full device queue or a down link
    /// drops the frame and returns `Ok`, as a real link would; the drop is counted in
    /// [`drops`](Device::drops). An `Err` means the frame itself was refused (for
    /// example longer than the link allows) or the device failed.
    fn send(&mut self, frame: &[u8]) -> io::Result<()>;

    /// Like [`send`](Device::send), except that a full device queue takes nothing and
    /// returns [`Sent::Full`], so the caller can hold the frame (and those behind it)
    /// until the descriptor polls writable, as a NIC's full ring stops Linux's qdisc,
    /// rather than lose its own traffic to its own bursts. By default the device cannot
    /// tell: it sends as `send` does and says [`Sent::Taken`].
    ///
    /// A device that sends in batches may hold a frame it took until
    /// [`flush`](Device::flush); call that once the round's frames are offered.
    fn try_send(&mut self, frame: &[u8]) -> io::Result<Sent> {
        self.send(frame).map(|()| Sent::Taken)
    }

    /// Sends whatever [`try_send`](Device::try_send) took and held, as one batch. An
    /// `Err` says a held frame was refused (the others went). By default there is
    /// nothing held.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Like [`try_send`](Device::try_send), for a frame that may leave work to the
    /// device: segmentation and the checksum (`offload`, see [`offloads`]). Without an
    /// offload it is `try_send`; a device that cannot do the work refuses the frame with
    /// `Unsupported`, which a caller avoids by asking [`offloads`] first.
    ///
    /// [`offloads`]: Device::offloads
    fn try_send_offloaded(
        &mut self,
        frame: &[u8],
        offload: Option<&TxOffload>,
    ) -> io::Result<Sent> {
        match offload {
            None => self.try_send(frame),
            Some(_) => Err(unsupported_offload(self.name())),
        }
    }

    /// The work the device does for the stack (TSO): configure the stack with it. By
    /// default none.
    fn offloads(&self) -> LinkOffload {
        LinkOffload::default()
    }

    /// The longest frame [`recv`](Device::recv) may deliver: size receive buffers so.
    /// [`mtu`](Device::mtu)` + `[`ETHERNET_OVERHEAD`] unless the device hands over
    /// larger frames (a TAP's 64 KB GSO frames).
    fn max_frame_len(&self) -> usize {
        self.mtu() + ETHERNET_OVERHEAD
    }

    /// A descriptor that polls readable (`POLLIN`) when a frame may be waiting. It stays
    /// owned by the device: do not close it.
    fn as_raw_fd(&self) -> RawFd;

    /// The link's IP MTU (1500 for Ethernet unless the interface says otherwise).
    fn mtu(&self) -> usize;

    /// A short human name ("tap0", "veth0", "mem0").
    fn name(&self) -> &str;

    /// Frames this device dropped by itself so far. Wrappers report their inner device's.
    fn drops(&self) -> LinkDrops {
        LinkDrops::default()
    }

    /// How soon `recv` or `send` should be called even if the descriptor stays quiet:
    /// a wrapper holding frames until a moment ([`Faulty`](crate::Faulty)'s delay and
    /// rate limit) says when the next is due. `None`: only when the descriptor
    /// signals. A loop adds this to its `poll` timeout.
    fn next_wake(&self) -> Option<Duration> {
        None
    }

    /// What a [`Faulty`](crate::Faulty) wrapper on the way to the link was asked to do
    /// and has done, if there is one. Wrappers report their inner device's.
    fn faults(&self) -> Option<FaultReport> {
        None
    }
}

/// A device built around another one, which it reaches the link through: it observes or
/// alters frames on their way and leaves everything else to the inner device.
///
/// Implement `Wrapper`, not [`Device`], for such a type: `impl<W: Wrapper> Device for W`
/// forwards the descriptor, MTU, name and drops to [`inner`](Wrapper::inner) and sends
/// and receives through [`send_through`](Wrapper::send_through) and
/// [`recv_through`](Wrapper::recv_through), so a wrapper writes only what it does to
/// frames. [`Pcap`](crate::Pcap) and [`Trace`](crate::Trace) watch frames;
/// [`Faulty`](crate::Faulty) changes them; a `Box<D>` changes nothing.
pub trait Wrapper: Send {
    /// The device wrapped.
    type Inner: Device + ?Sized;

    /// The wrapped device.
    fn inner(&self) -> &Self::Inner;

    /// The wrapped device, mutably. Frames sent or received through it directly bypass
    /// this wrapper: they are not recorded, traced or faulted.
    fn inner_mut(&mut self) -> &mut Self::Inner;

    /// What [`Device::send`] does: send `frame` through the inner device. Each wrapper
    /// writes its own, because when it looks at the frame matters: before sending
    /// ([`Trace`](crate::Trace)) or only once the inner device took it
    /// ([`Pcap`](crate::Pcap)).
    fn send_through(&mut self, frame: &[u8]) -> io::Result<()>;

    /// What [`Device::try_send`] does. By default the wrapper cannot hand a frame back:
    /// it sends through [`send_through`](Wrapper::send_through) and says
    /// [`Sent::Taken`] (a full inner device drops the frame).
    fn try_send_through(&mut self, frame: &[u8]) -> io::Result<Sent> {
        self.send_through(frame).map(|()| Sent::Taken)
    }

    /// What [`Device::offloads`] says. By default none, whatever the inner device does:
    /// a wrapper that watches or alters frames wants each segment as the wire carries
    /// it. A wrapper that changes nothing forwards the inner device's.
    fn offloads_through(&self) -> LinkOffload {
        LinkOffload::default()
    }

    /// What [`Device::try_send_offloaded`] does. By default: [`try_send_through`] a
    /// frame without an offload and refuse one with (the wrapper offered none).
    ///
    /// [`try_send_through`]: Wrapper::try_send_through
    fn try_send_offloaded_through(
        &mut self,
        frame: &[u8],
        offload: Option<&TxOffload>,
    ) -> io::Result<Sent> {
        match offload {
            None => self.try_send_through(frame),
            Some(_) => Err(unsupported_offload(self.inner().name())),
        }
    }

    /// What [`Device::recv`] does. By default: receive from the inner device and show
    /// the frame to [`received`](Wrapper::received). A wrapper that changes, holds back
    /// or drops received frames replaces this.
    fn recv_through(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let got = self.inner_mut().recv(buf)?;
        if let Some(len) = got {
            // The device returned len <= buf.len().
            self.received(&buf[..len.min(buf.len())]);
        }
        Ok(got)
    }

    /// Called by the default [`recv_through`](Wrapper::recv_through) with each frame
    /// received, before `recv` returns it. By default does nothing.
    fn received(&mut self, _frame: &[u8]) {}

    /// What [`Device::flush`] does. By default: flush the inner device.
    fn flush_through(&mut self) -> io::Result<()> {
        self.inner_mut().flush()
    }

    /// What [`Device::next_wake`] says. By default: the inner device's.
    fn next_wake_through(&self) -> Option<Duration> {
        self.inner().next_wake()
    }

    /// What [`Device::faults`] says. By default: the inner device's.
    fn faults_through(&self) -> Option<FaultReport> {
        self.inner().faults()
    }
}

impl<W: Wrapper> Device for W {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.recv_through(buf)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        self.send_through(frame)
    }

    fn try_send(&mut self, frame: &[u8]) -> io::Result<Sent> {
        self.try_send_through(frame)
    }

    fn try_send_offloaded(
        &mut self,
        frame: &[u8],
        offload: Option<&TxOffload>,
    ) -> io::Result<Sent> {
        self.try_send_offloaded_through(frame, offload)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_through()
    }

    fn offloads(&self) -> LinkOffload {
        self.offloads_through()
    }

    fn max_frame_len(&self) -> usize {
        self.inner().max_frame_len()
    }

    fn as_raw_fd(&self) -> RawFd {
        self.inner().as_raw_fd()
    }

    fn mtu(&self) -> usize {
        self.inner().mtu()
    }

    fn name(&self) -> &str {
        self.inner().name()
    }

    fn drops(&self) -> LinkDrops {
        self.inner().drops()
    }

    fn next_wake(&self) -> Option<Duration> {
        self.next_wake_through()
    }

    fn faults(&self) -> Option<FaultReport> {
        self.faults_through()
    }
}

/// A boxed device, `Box<dyn Device>` above all, is a wrapper that changes nothing.
impl<D: Device + ?Sized> Wrapper for Box<D> {
    type Inner = D;

    fn inner(&self) -> &D {
        self
    }

    fn inner_mut(&mut self) -> &mut D {
        self
    }

    fn send_through(&mut self, frame: &[u8]) -> io::Result<()> {
        (**self).send(frame)
    }

    fn try_send_through(&mut self, frame: &[u8]) -> io::Result<Sent> {
        (**self).try_send(frame)
    }

    fn offloads_through(&self) -> LinkOffload {
        (**self).offloads()
    }

    fn try_send_offloaded_through(
        &mut self,
        frame: &[u8],
        offload: Option<&TxOffload>,
    ) -> io::Result<Sent> {
        (**self).try_send_offloaded(frame, offload)
    }
}

/// A frame asked for an offload the device did not offer.
fn unsupported_offload(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{name}: the device does not segment or checksum for the stack"),
    )
}

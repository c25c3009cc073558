//! # netstack's drivers: everything that touches the OS
//!
//! A [`Device`] is one Ethernet link as the stack sees it: read a waiting frame without
//! blocking, write a whole frame, and a file descriptor to `poll` for "a frame may be
//! waiting". The stack itself never performs I/O; the runtime moves frames between a
//! `Device` and the stack.
//!
//! | link | type | when to use it |
//! |---|---|---|
//! | a TAP interface | [`TapDevice`] | the usual way to talk to the host kernel |
//! | an existing interface, e.g. one end of a veth pair | [`AfPacketDevice`] | attach to a link the kernel already owns |
//! | an in-process cable | [`memory::link`] | two stacks in one process, tests |
//!
//! Wrappers are devices around a device, so they compose (`Trace<Faulty<TapDevice>>`),
//! also over `Box<dyn Device>`. Each implements [`Wrapper`] (its inner device and what
//! it does to frames) and gets [`Device`] from it:
//!
//! - [`Pcap`] records every frame received and sent to a libpcap file (Wireshark, tshark).
//! - [`Trace`] prints one tcpdump-style line per frame.
//! - [`Faulty`] impairs the link, each direction on its own and deterministically from a
//!   seed: loss (random or in bursts), duplication, corruption, reordering, delay with
//!   jitter, and a rate limit with a bounded queue. Its time comes from a [`Clock`]: the
//!   wall clock on a real device, a [`VirtualClock`] in a simulation.
//!
//! The wrapper nearest the device sees what is on the wire: in `Pcap<Faulty<TapDevice>>`
//! the capture shows frames before faults on transmit and after them on receive; in
//! `Faulty<Pcap<TapDevice>>` it shows the wire itself.
//!
//! Around the devices: [`poll`] waits for readiness on several descriptors, [`Waker`]
//! wakes a waiting loop from another thread, and [`netns`] puts a test into a private
//! network namespace (and decides whether a root-only test runs, skips or fails).
//!
//! ## Safety policy
//!
//! This is the only crate in the workspace that may use `unsafe`. It is confined to the
//! system calls std does not wrap (`ioctl`, `socket(AF_PACKET)`, `setsockopt`, `poll`,
//! `unshare`, ...), each `unsafe` block says why it is sound in a `// SAFETY:` comment,
//! and every such call returns `io::Result`, never a raw error code. Where std has a safe
//! API (`UnixDatagram`, `OwnedFd`), it is used instead.

pub mod af_packet;
pub mod device;
pub mod fault;
pub mod limits;
pub mod memory;
pub mod netns;
mod offload;
mod open_error;
pub mod pcap;
pub mod poll;
pub mod tap;
pub mod trace;
mod vnet;
pub mod waker;

mod ifreq;

pub use af_packet::AfPacketDevice;
pub use device::{Batch, Device, LinkDrops, RxInfo, Sent, Wrapper, ETHERNET_OVERHEAD};
pub use fault::{
    Clock, FaultConfig, FaultConfigError, FaultCounters, FaultReport, FaultSpecError, Faulty,
    Impairment, VirtualClock, WallClock,
};
pub use memory::MemoryDevice;
pub use open_error::{is_busy, is_missing_interface, is_missing_tun, is_permission_problem};
pub use pcap::{Pcap, PcapFile};
pub use poll::{wait_readable, Poller};
pub use tap::{Offload, TapDevice};
pub use trace::Trace;
pub use waker::Waker;

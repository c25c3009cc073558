//! [`TapDevice`]: a TAP interface, the usual link between netstack and the host kernel.
//!
//! The kernel sees a TAP as an Ethernet interface (`ip addr add 10.0.0.1/24 dev tap0`);
//! every frame the kernel sends out of it is read here, and every frame written here
//! arrives at the kernel as if received from a wire. Open it once at start-up with
//! [`TapDevice::open`].
//!
//! Opening needs CAP_NET_ADMIN, unless `tap0` already exists as a persistent TAP owned by
//! the current user (`ip tuntap add dev tap0 mode tap user $USER`, which
//! `scripts/setup-tap.sh` does). A TAP that did not exist is created and vanishes again
//! when the device is dropped.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsRawFd, RawFd};

use netstack_core::outbound::{LinkOffload, TxOffload};

use crate::device::{Device, LinkDrops, RxInfo, Sent, ETHERNET_OVERHEAD};
use crate::ifreq;
use crate::offload::complete_checksum;
use crate::open_error::OpenError;
use crate::vnet;

/// The character device behind every TUN/TAP interface.
const TUN_PATH: &str = "/dev/net/tun";

/// The MTU assumed when the interface cannot be asked (Ethernet's).
const DEFAULT_MTU: usize = 1500;

/// The longest frame a TAP with offloads hands over: a 64 KB GSO datagram, its Ethernet
/// header and room for a VLAN tag.
const MAX_GSO_FRAME: usize = 65535 + ETHERNET_OVERHEAD;

/// Whether to ask the kernel for offloads when opening a TAP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Offload {
    /// The virtio-net header, checksum offload and TSO/GRO for IPv4 TCP, where the
    /// kernel offers them (it has since Linux 2.6.27): the default.
    #[default]
    On,
    /// Plain Ethernet frames, one MTU-sized segment per system call: for comparison and
    /// for teaching (every segment on the wire is one the stack built).
    Off,
}

/// A TAP interface opened for reading and writing Ethernet frames, non-blocking.
#[derive(Debug)]
pub struct TapDevice {
    file: File,
    name: String,
    mtu: usize,
    drops: LinkDrops,
    /// Frames carry a virtio-net header (the TAP was opened with `IFF_VNET_HDR`).
    vnet: bool,
    /// What the kernel agreed to with `TUNSETOFFLOAD`.
    offload: LinkOffload,
}

impl TapDevice {
    /// Attaches to TAP interface `name`, creating it if it does not exist, and sets it
    /// non-blocking, with offloads on where the kernel offers them ([`Offload::On`]).
    /// The MTU is read from the interface (1500 if it cannot be read). `name` may be
    /// empty or contain `%d` for a kernel-chosen name; [`Device::name`] reports the real
    /// one.
    ///
    /// # Errors
    ///
    /// The error keeps the OS error's kind and names the interface and likely cause;
    /// classify it with [`is_missing_tun`](crate::is_missing_tun) (no `/dev/net/tun`),
    /// [`is_permission_problem`](crate::is_permission_problem) (EPERM/EACCES) or
    /// [`is_busy`](crate::is_busy) (EBUSY: another process has the TAP open). A name
    /// longer than 15 bytes is `InvalidInput` (the kernel would silently truncate it).
    pub fn open(name: &str) -> io::Result<TapDevice> {
        Self::open_inner(name, Offload::On)
    }

    /// [`open`](Self::open) with offloads on or off.
    pub fn open_with(name: &str, offload: Offload) -> io::Result<TapDevice> {
        Self::open_inner(name, offload)
    }

    /// Opens the TAP `name` only if it already exists, with offloads as asked.
    ///
    /// [`open`](Self::open) run as root *creates* a missing TAP, which then has no host
    /// address and vanishes when closed: right for tests that build their own link, wrong
    /// for a user who forgot `scripts/setup-tap.sh`. The CLI uses this instead, and
    /// [`is_missing_interface`](crate::is_missing_interface) recognises the error.
    ///
    /// A multi-queue TAP (see [`open_existing_queues`](Self::open_existing_queues)) is
    /// opened as one of its queues.
    pub fn open_existing(name: &str, offload: Offload) -> io::Result<TapDevice> {
        check_exists(name)?;
        match Self::open_inner(name, offload) {
            // EINVAL from a TAP that exists: it may be multi-queue, which takes only
            // queues. (Anything else that is not a TAP refuses this too.)
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                Self::attach(name, offload, true).map_err(|_| e)
            }
            other => other,
        }
    }

    /// Opens `queues` queues of the existing multi-queue TAP `name` (made with
    /// `ip tuntap add ... multi_queue`, or `scripts/setup-tap.sh --queues N`), one device
    /// each, with offloads as asked. The kernel steers each flow to one queue: a flow's
    /// packets go to the queue that last sent one of its packets, and a new flow's to
    /// the queue its hash picks (tun's "automq"). `queues == 1` is
    /// [`open_existing`](Self::open_existing).
    ///
    /// # Errors
    ///
    /// As [`open_existing`](Self::open_existing); a TAP made without `multi_queue`
    /// refuses a second queue with `InvalidInput` and says how to make one.
    pub fn open_existing_queues(
        name: &str,
        offload: Offload,
        queues: usize,
    ) -> io::Result<Vec<TapDevice>> {
        if queues <= 1 {
            return Ok(vec![Self::open_existing(name, offload)?]);
        }
        check_exists(name)?;
        (0..queues)
            .map(|_| {
                Self::attach(name, offload, true).map_err(|e| {
                    if e.raw_os_error() == Some(libc::EINVAL) {
                        OpenError::wrap(
                            format!(
                                "cannot open {queues} queues of TAP {name:?}: it was made with one queue; \
                                 make it with `sudo scripts/setup-tap.sh --queues {queues}`"
                            ),
                            e,
                        )
                    } else {
                        e
                    }
                })
            })
            .collect()
    }

    fn open_inner(name: &str, offload: Offload) -> io::Result<TapDevice> {
        Self::attach(name, offload, false)
    }

    fn attach(name: &str, offload: Offload, multi_queue: bool) -> io::Result<TapDevice> {
        ifreq::check_name(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(TUN_PATH)
            .map_err(|e| explain(name, e))?;
        let vnet = offload == Offload::On;
        let name = ifreq::attach_tap(&file, name, vnet, multi_queue).map_err(|e| {
            if multi_queue && e.raw_os_error() == Some(libc::EINVAL) {
                e
            } else {
                explain(name, e)
            }
        })?;
        let offload = if vnet {
            negotiate_offloads(&file, &name)
        } else {
            LinkOffload::default()
        };
        let mtu = ifreq::mtu(&name).unwrap_or_else(|e| {
            log::warn!("cannot read the MTU of {name} ({e}); assuming {DEFAULT_MTU}");
            DEFAULT_MTU
        });
        Ok(TapDevice {
            file,
            name,
            mtu,
            drops: LinkDrops::default(),
            vnet,
            offload,
        })
    }
}

/// `TUNSETOFFLOAD`: lets the kernel hand us partial checksums and IPv4 TCP segments of
/// up to 64 KB, and take the same from us. A kernel that refuses leaves plain frames
/// (behind the header, which stays).
fn negotiate_offloads(file: &File, name: &str) -> LinkOffload {
    match ifreq::set_tap_offload(file, libc::TUN_F_CSUM | libc::TUN_F_TSO4) {
        Ok(()) => LinkOffload { tso: true },
        Err(e) => {
            log::warn!("{name}: the kernel refused checksum and TSO offload ({e}); without");
            LinkOffload::default()
        }
    }
}

/// A TAP the CLI opens must exist already (see [`TapDevice::open_existing`]).
fn check_exists(name: &str) -> io::Result<()> {
    match ifreq::index(name) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Err(e),
        Err(e) => Err(OpenError::missing_interface(
            format!("TAP {name} does not exist"),
            e,
        )),
    }
}

/// Turns a bare OS error from opening the TAP into one that says what to do about it.
fn explain(name: &str, e: io::Error) -> io::Error {
    let what = format!("cannot open TAP {name:?}");
    // ENOENT/ENODEV/ENXIO can only come from opening /dev/net/tun, the others from the
    // TUNSETIFF ioctl.
    match e.raw_os_error() {
        Some(libc::ENOENT | libc::ENODEV | libc::ENXIO) => OpenError::missing_tun(
            format!(
                "{what}: {TUN_PATH} is unavailable ({e}); load the tun module (`modprobe tun`) \
                 or, in a container, pass {TUN_PATH} in"
            ),
            e,
        ),
        Some(libc::EPERM | libc::EACCES) => OpenError::wrap(
            format!(
                "{what}: permission denied; creating or attaching a TAP needs CAP_NET_ADMIN, \
                 unless it already exists as a persistent TAP owned by this user"
            ),
            e,
        ),
        Some(libc::EBUSY) => OpenError::wrap(
            format!("{what}: device busy; another process has it open"),
            e,
        ),
        Some(libc::EINVAL) => OpenError::wrap(
            format!(
                "{what}: invalid argument; the name is not a valid interface name, or an \
                 interface of that name exists and is not a TAP"
            ),
            e,
        ),
        _ => OpenError::wrap(format!("{what}: {e}"), e),
    }
}

impl TapDevice {
    /// Reads one frame with `read(2)`, or `readv(2)` behind the virtio-net header.
    /// `complete`: finish a checksum the kernel left partial, so the frame is as from a
    /// wire; otherwise leave it, and say the checksum is to be trusted (receive
    /// checksum offload, as a virtio-net guest takes `NEEDS_CSUM` and `DATA_VALID`).
    fn read_frame(&mut self, buf: &mut [u8], complete: bool) -> io::Result<RxInfo> {
        let fd = self.file.as_raw_fd();
        if !self.vnet {
            // SAFETY: `buf` is valid for writes of buf.len() bytes for the whole call.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            let len = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
            return Ok(RxInfo {
                len,
                checksum_valid: false,
            });
        }
        let mut hdr = [0u8; vnet::LEN];
        let iov = [
            libc::iovec {
                iov_base: hdr.as_mut_ptr().cast(),
                iov_len: hdr.len(),
            },
            libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            },
        ];
        // SAFETY: both iovecs point at buffers valid for writes of their lengths, which
        // outlive the call; the count matches the array.
        let n = unsafe { libc::readv(fd, iov.as_ptr(), 2) };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        let len = n.saturating_sub(vnet::LEN).min(buf.len());
        let rx = vnet::parse(&hdr);
        if !complete {
            return Ok(RxInfo {
                len,
                checksum_valid: rx.needs_checksum || rx.data_valid,
            });
        }
        if rx.needs_checksum {
            // The kernel's own TCP/UDP left the checksum for the "NIC" (us): complete it,
            // so the stack verifies every checksum as from a wire. A frame it cannot
            // complete goes to the stack as it is and is judged (and dropped) there.
            complete_checksum(&mut buf[..len]);
        }
        Ok(RxInfo {
            len,
            checksum_valid: false,
        })
    }

    /// Reads without blocking: `None` when nothing waits.
    fn read_nonblocking(&mut self, buf: &mut [u8], complete: bool) -> io::Result<Option<RxInfo>> {
        loop {
            return match self.read_frame(buf, complete) {
                Ok(info) => Ok(Some(info)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    /// Writes one frame with `write(2)`, or `writev(2)` behind the virtio-net header.
    fn write_frame(&mut self, frame: &[u8], offload: Option<&TxOffload>) -> io::Result<()> {
        let fd = self.file.as_raw_fd();
        let n = if self.vnet {
            let hdr = vnet::emit(offload);
            let iov = [
                libc::iovec {
                    iov_base: hdr.as_ptr() as *mut libc::c_void,
                    iov_len: hdr.len(),
                },
                libc::iovec {
                    iov_base: frame.as_ptr() as *mut libc::c_void,
                    iov_len: frame.len(),
                },
            ];
            // SAFETY: both iovecs point at buffers valid for reads of their lengths,
            // which outlive the call; writev does not write through them.
            unsafe { libc::writev(fd, iov.as_ptr(), 2) }
        } else {
            // SAFETY: `frame` is valid for reads of frame.len() bytes for the whole call.
            unsafe { libc::write(fd, frame.as_ptr().cast(), frame.len()) }
        };
        // A TAP write is all or nothing: the kernel takes the frame whole.
        usize::try_from(n)
            .map(|_| ())
            .map_err(|_| io::Error::last_os_error())
    }

    /// Sends with the outcome a full queue or a down link gives.
    fn send_frame(&mut self, frame: &[u8], offload: Option<&TxOffload>) -> io::Result<Sent> {
        if offload.is_some() && !self.offload.tso {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{}: the kernel did not agree to TSO", self.name),
            ));
        }
        loop {
            return match self.write_frame(frame, offload) {
                Ok(()) => Ok(Sent::Taken),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Sent::Full),
                // EIO: the interface is down (`ip link set tap0 up` was not run).
                Err(e) if e.raw_os_error() == Some(libc::EIO) => {
                    if self.drops.tx_link_down == 0 {
                        log::warn!("{} is down; dropping frames until it is up", self.name);
                    }
                    self.drops.tx_link_down += 1;
                    Ok(Sent::Taken)
                }
                Err(e) => Err(e),
            };
        }
    }
}

impl Device for TapDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        Ok(self.read_nonblocking(buf, true)?.map(|info| info.len))
    }

    fn recv_info(&mut self, buf: &mut [u8]) -> io::Result<Option<RxInfo>> {
        self.read_nonblocking(buf, false)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        if self.send_frame(frame, None)? == Sent::Full {
            self.drops.tx_queue_full += 1;
        }
        Ok(())
    }

    fn try_send(&mut self, frame: &[u8]) -> io::Result<Sent> {
        self.send_frame(frame, None)
    }

    fn try_send_offloaded(
        &mut self,
        frame: &[u8],
        offload: Option<&TxOffload>,
    ) -> io::Result<Sent> {
        self.send_frame(frame, offload)
    }

    fn offloads(&self) -> LinkOffload {
        self.offload
    }

    fn max_frame_len(&self) -> usize {
        if self.offload.tso {
            MAX_GSO_FRAME
        } else {
            self.mtu + ETHERNET_OVERHEAD
        }
    }

    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn drops(&self) -> LinkDrops {
        self.drops
    }
}

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

use std::io;
use std::os::unix::io::{AsRawFd, RawFd};

use tun_tap::{Iface, Mode};

use crate::device::{Device, LinkDrops};
use crate::ifreq;
use crate::open_error::OpenError;

/// The character device behind every TUN/TAP interface.
const TUN_PATH: &str = "/dev/net/tun";

/// The MTU assumed when the interface cannot be asked (Ethernet's).
const DEFAULT_MTU: usize = 1500;

/// A TAP interface opened for reading and writing Ethernet frames, non-blocking.
#[derive(Debug)]
pub struct TapDevice {
    iface: Iface,
    name: String,
    mtu: usize,
    drops: LinkDrops,
}

impl TapDevice {
    /// Attaches to TAP interface `name`, creating it if it does not exist, and sets it
    /// non-blocking. The MTU is read from the interface (1500 if it cannot be read).
    /// `name` may be empty or contain `%d` for a kernel-chosen name; [`Device::name`]
    /// reports the real one.
    ///
    /// # Errors
    ///
    /// The error keeps the OS error's kind and names the interface and likely cause;
    /// classify it with [`is_missing_tun`](crate::is_missing_tun) (no `/dev/net/tun`),
    /// [`is_permission_problem`](crate::is_permission_problem) (EPERM/EACCES) or
    /// [`is_busy`](crate::is_busy) (EBUSY: another process has the TAP open). A name
    /// longer than 15 bytes is `InvalidInput` (tun-tap would silently truncate it).
    pub fn open(name: &str) -> io::Result<TapDevice> {
        Self::open_inner(name)
    }

    /// Opens the TAP `name` only if it already exists.
    ///
    /// [`open`](Self::open) run as root *creates* a missing TAP, which then has no host
    /// address and vanishes when closed: right for tests that build their own link, wrong
    /// for a user who forgot `scripts/setup-tap.sh`. The CLI uses this instead, and
    /// [`is_missing_interface`](crate::is_missing_interface) recognises the error.
    pub fn open_existing(name: &str) -> io::Result<TapDevice> {
        if let Err(e) = ifreq::index(name) {
            if e.kind() == io::ErrorKind::InvalidInput {
                return Err(e);
            }
            return Err(OpenError::missing_interface(
                format!("TAP {name} does not exist"),
                e,
            ));
        }
        Self::open_inner(name)
    }

    fn open_inner(name: &str) -> io::Result<TapDevice> {
        ifreq::check_name(name)?;
        let iface = Iface::without_packet_info(name, Mode::Tap).map_err(|e| explain(name, e))?;
        iface
            .set_non_blocking()
            .map_err(|e| OpenError::wrap(format!("cannot make TAP {name} non-blocking: {e}"), e))?;
        let name = iface.name().to_owned();
        let mtu = ifreq::mtu(&name).unwrap_or_else(|e| {
            log::warn!("cannot read the MTU of {name} ({e}); assuming {DEFAULT_MTU}");
            DEFAULT_MTU
        });
        Ok(TapDevice {
            iface,
            name,
            mtu,
            drops: LinkDrops::default(),
        })
    }
}

/// Turns tun-tap's bare OS error into one that says what to do about it.
fn explain(name: &str, e: io::Error) -> io::Error {
    let what = format!("cannot open TAP {name:?}");
    // tun-tap's error does not say whether opening /dev/net/tun or the TUNSETIFF ioctl
    // failed; ENOENT/ENODEV/ENXIO can only come from the open.
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

impl Device for TapDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            // With the descriptor non-blocking, tun-tap's read reports "nothing queued"
            // as a WouldBlock error.
            return match self.iface.recv(buf) {
                Ok(len) => Ok(Some(len)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        loop {
            return match self.iface.send(frame) {
                // A TAP write is all or nothing: the kernel takes the frame whole.
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drops.tx_queue_full += 1;
                    Ok(())
                }
                // EIO: the interface is down (`ip link set tap0 up` was not run).
                Err(e) if e.raw_os_error() == Some(libc::EIO) => {
                    if self.drops.tx_link_down == 0 {
                        log::warn!("{} is down; dropping frames until it is up", self.name);
                    }
                    self.drops.tx_link_down += 1;
                    Ok(())
                }
                Err(e) => Err(e),
            };
        }
    }

    fn as_raw_fd(&self) -> RawFd {
        self.iface.as_raw_fd()
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

//! [`AfPacketDevice`]: attach to an existing interface (for example one end of a veth
//! pair) through a raw `AF_PACKET` socket.
//!
//! Use it when the kernel already owns the link and netstack should appear as one more
//! host on it: `ip link add veth0 type veth peer name veth1`, give veth1 an address, and
//! open veth0 here. netstack uses its own MAC address, different from veth0's, so the
//! socket puts the interface in promiscuous mode (a membership that ends when the
//! device is dropped) and frames for netstack's MAC are delivered too. Our own
//! transmissions are not read back (`PACKET_IGNORE_OUTGOING`, or a filter on the packet
//! type on kernels older than 4.20).
//!
//! Opening needs CAP_NET_RAW (root).
//!
//! ## Offloaded checksums on veth
//!
//! A veth peer hands frames over with checksum offload still pending: TCP and UDP
//! packets the kernel sends arrive with only the pseudo-header sum in their checksum
//! field. The socket asks for `PACKET_AUXDATA`; when the kernel marks a frame
//! `TP_STATUS_CSUMNOTREADY`, the driver completes the checksum as a NIC would,
//! so the stack still verifies every checksum it receives.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::device::{Device, LinkDrops};
use crate::ifreq;
use crate::open_error::OpenError;

/// The MTU assumed when the interface cannot be asked (Ethernet's).
const DEFAULT_MTU: usize = 1500;

/// A raw packet socket bound to one interface, non-blocking, reading every frame on it.
#[derive(Debug)]
pub struct AfPacketDevice {
    fd: OwnedFd,
    name: String,
    mtu: usize,
    drops: LinkDrops,
}

impl AfPacketDevice {
    /// Opens a packet socket on interface `ifname`, which must exist (in the calling
    /// thread's network namespace), and makes the interface promiscuous.
    ///
    /// # Errors
    ///
    /// The error keeps the OS error's kind and names the interface:
    /// [`is_permission_problem`](crate::is_permission_problem) when CAP_NET_RAW is
    /// missing, `NotFound`-like (ENODEV) when there is no such interface.
    pub fn open(ifname: &str) -> io::Result<AfPacketDevice> {
        let what = format!("cannot open AF_PACKET socket on {ifname:?}");
        ifreq::check_name(ifname)?;
        let ifindex = ifreq::index(ifname)
            .map_err(|e| OpenError::wrap(format!("{what}: no such interface ({e})"), e))?;
        let fd = packet_socket().map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::PermissionDenied {
                "; packet sockets need CAP_NET_RAW (run as root)"
            } else {
                ""
            };
            OpenError::wrap(format!("{what}: {e}{hint}"), e)
        })?;
        bind_to(&fd, ifindex).map_err(|e| OpenError::wrap(format!("{what}: bind: {e}"), e))?;
        // Without it (Linux < 4.20) every frame we send is also read back; recv filters
        // those by packet type, so failure here only costs a little work.
        // Tells us, per frame, whether the kernel left a checksum for offload to finish.
        setsockopt(&fd, libc::PACKET_AUXDATA, &1).map_err(|e| {
            OpenError::wrap(format!("cannot enable PACKET_AUXDATA on {ifname}: {e}"), e)
        })?;
        if let Err(e) = setsockopt(&fd, libc::PACKET_IGNORE_OUTGOING, &1) {
            log::debug!("PACKET_IGNORE_OUTGOING unsupported on {ifname} ({e}); filtering");
        }
        let promisc = libc::packet_mreq {
            mr_ifindex: ifindex,
            mr_type: libc::PACKET_MR_PROMISC as libc::c_ushort,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        setsockopt(&fd, libc::PACKET_ADD_MEMBERSHIP, &promisc).map_err(|e| {
            OpenError::wrap(format!("{what}: cannot enable promiscuous mode: {e}"), e)
        })?;
        let mtu = ifreq::mtu(ifname).unwrap_or_else(|e| {
            log::warn!("cannot read the MTU of {ifname} ({e}); assuming {DEFAULT_MTU}");
            DEFAULT_MTU
        });
        Ok(AfPacketDevice {
            fd,
            name: ifname.to_owned(),
            mtu,
            drops: LinkDrops::default(),
        })
    }
}

/// `ETH_P_ALL` in network byte order, as `sll_protocol` wants it.
fn eth_p_all() -> u16 {
    // ETH_P_ALL is 3; the cast cannot truncate.
    (libc::ETH_P_ALL as u16).to_be()
}

/// A raw packet socket that receives nothing yet: protocol 0 until `bind` names the
/// interface, so no frame from another interface slips in before the bind.
fn packet_socket() -> io::Result<OwnedFd> {
    let kind = libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: socket(2) takes no pointers; it returns a new descriptor or -1.
    let fd = unsafe { libc::socket(libc::AF_PACKET, kind, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2), is open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Binds `fd` to interface `ifindex` for all EtherTypes; frames start arriving now.
fn bind_to(fd: &OwnedFd, ifindex: libc::c_int) -> io::Result<()> {
    let addr = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as libc::c_ushort,
        sll_protocol: eth_p_all(),
        sll_ifindex: ifindex,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    };
    // SAFETY: `addr` is a fully initialised sockaddr_ll that outlives the call, and the
    // length passed is exactly its size; bind(2) only reads it.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
            socklen_of::<libc::sockaddr_ll>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets a `SOL_PACKET` option to `value` (a plain C value: `c_int` or `packet_mreq`).
fn setsockopt<T: Copy>(fd: &OwnedFd, option: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to an initialised `T` of exactly the length passed, valid
    // for the duration of the call; setsockopt(2) only reads it. The options used here
    // expect a c_int or a packet_mreq, which are the only types callers pass.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            option,
            (value as *const T).cast::<libc::c_void>(),
            socklen_of::<T>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `tp_status` from the `PACKET_AUXDATA` control message `recvmsg` filled in, or 0.
fn auxdata_status(msg: &libc::msghdr) -> u32 {
    // SAFETY: `msg` was filled by a successful recvmsg, so its control buffer holds
    // `msg_controllen` bytes of well-formed cmsghdrs that CMSG_FIRSTHDR/CMSG_NXTHDR walk
    // without leaving it; a PACKET_AUXDATA message's data is a tpacket_auxdata, read
    // unaligned because CMSG_DATA gives no alignment promise for it.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_PACKET && (*cmsg).cmsg_type == libc::PACKET_AUXDATA {
                let data = libc::CMSG_DATA(cmsg).cast::<libc::tpacket_auxdata>();
                return std::ptr::read_unaligned(data).tp_status;
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    0
}

/// The size of `T` as a `socklen_t`. Only used for small socket structures.
fn socklen_of<T>() -> libc::socklen_t {
    // sockaddr_ll, packet_mreq and c_int are a few dozen bytes; no truncation.
    mem::size_of::<T>() as libc::socklen_t
}

impl Device for AfPacketDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            let mut from = libc::sockaddr_ll {
                sll_family: 0,
                sll_protocol: 0,
                sll_ifindex: 0,
                sll_hatype: 0,
                sll_pkttype: 0,
                sll_halen: 0,
                sll_addr: [0; 8],
            };
            // Room for one PACKET_AUXDATA control message, u64-aligned as cmsghdr wants.
            let mut control = [0u64; 8];
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast::<libc::c_void>(),
                iov_len: buf.len(),
            };
            // SAFETY: msghdr is a plain C struct for which all-zero is a valid value.
            let mut msg: libc::msghdr = unsafe { mem::zeroed() };
            msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast::<libc::c_void>();
            msg.msg_namelen = socklen_of::<libc::sockaddr_ll>();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast::<libc::c_void>();
            msg.msg_controllen = mem::size_of_val(&control) as _;
            // SAFETY: every pointer in `msg` (name, the one iovec over `buf`, control)
            // points to memory that is valid for writes of the stated lengths and outlives
            // the call. MSG_TRUNC makes the kernel return the frame's real length but
            // still write at most `buf.len()`.
            let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_TRUNC) };
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.raw_os_error() {
                    Some(libc::EAGAIN) => Ok(None),
                    Some(libc::EINTR) => continue,
                    // The interface went down; the socket reports it once and then
                    // works again when the link is back up.
                    Some(libc::ENETDOWN) => {
                        log::warn!("{} went down", self.name);
                        Ok(None)
                    }
                    _ => Err(e),
                };
            }
            if from.sll_pkttype == libc::PACKET_OUTGOING {
                continue; // our own transmission, on kernels without IGNORE_OUTGOING
            }
            let checksum_pending = auxdata_status(&msg) & libc::TP_STATUS_CSUMNOTREADY != 0;
            // n >= 0 was checked above.
            let len = n.unsigned_abs();
            if len > buf.len() {
                self.drops.rx_truncated += 1;
                return Ok(Some(buf.len()));
            }
            if checksum_pending {
                crate::offload::complete_checksum(&mut buf[..len]);
            }
            return Ok(Some(len));
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        loop {
            // SAFETY: `frame` is valid for reads of `frame.len()` bytes for the
            // duration of the call; send(2) only reads it.
            let n = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    frame.as_ptr().cast::<libc::c_void>(),
                    frame.len(),
                    0,
                )
            };
            if n >= 0 {
                return Ok(()); // a packet socket sends the frame whole or not at all
            }
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN | libc::ENOBUFS) => {
                    self.drops.tx_queue_full += 1;
                    Ok(())
                }
                Some(libc::ENETDOWN | libc::ENXIO) => {
                    if self.drops.tx_link_down == 0 {
                        log::warn!("{} is down; dropping frames until it is up", self.name);
                    }
                    self.drops.tx_link_down += 1;
                    Ok(())
                }
                _ => Err(e),
            };
        }
    }

    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
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

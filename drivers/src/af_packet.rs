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
//! so the stack still verifies every checksum it receives. Through the receive ring the
//! same flag comes in each frame's own `tp_status`.
//!
//! ## Large frames
//!
//! A veth peer hands over the kernel's TCP segments as it built them, GSO super-frames
//! of up to 64 KB, not cut at the MTU; [`max_frame_len`](Device::max_frame_len) says so,
//! and the stack takes them as it takes a TAP's.
//!
//! ## Batching ([`Batch`])
//!
//! With [`Batch::On`] (the default), frames are received through a `TPACKET_V3` ring
//! shared with the kernel (`af_packet/rx_ring.rs`): one wake-up hands over a block of frames, walked
//! without a system call. Frames offered with [`try_send`](Device::try_send) wait in a
//! batch (`af_packet/tx_batch.rs`) and leave with one `sendmmsg(2)` per round, when the loop calls
//! [`flush`](Device::flush); [`send`](Device::send) sends at once. With [`Batch::Off`]
//! every frame is one `recvmsg(2)` or `send(2)`, as simple as it gets: for comparison and
//! for teaching.

mod rx_ring;
mod tx_batch;

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::device::{Batch, Device, LinkDrops, Sent, ETHERNET_OVERHEAD};
use crate::ifreq;
use crate::open_error::OpenError;

/// The MTU assumed when the interface cannot be asked (Ethernet's).
const DEFAULT_MTU: usize = 1500;

/// The longest frame a veth hands over: a 64 KB GSO segment, its Ethernet header and
/// room for a VLAN tag.
const MAX_GSO_FRAME: usize = 65535 + ETHERNET_OVERHEAD;

/// A raw packet socket bound to one interface, non-blocking, reading every frame on it.
#[derive(Debug)]
pub struct AfPacketDevice {
    /// The receive ring ([`Batch::On`]); dropped (unmapped) before the socket closes.
    rx: Option<rx_ring::RxRing>,
    /// Frames waiting for [`flush`](Device::flush) ([`Batch::On`]).
    tx: Option<tx_batch::TxBatch>,
    /// The first error of a frame the kernel refused while sending the batch, for
    /// `flush` to return.
    tx_refused: Option<io::Error>,
    fd: OwnedFd,
    name: String,
    mtu: usize,
    drops: LinkDrops,
}

impl AfPacketDevice {
    /// Opens a packet socket on interface `ifname`, which must exist (in the calling
    /// thread's network namespace), and makes the interface promiscuous; with batching
    /// ([`Batch::On`]).
    ///
    /// # Errors
    ///
    /// The error keeps the OS error's kind and names the interface:
    /// [`is_permission_problem`](crate::is_permission_problem) when CAP_NET_RAW is
    /// missing, `NotFound`-like (ENODEV) when there is no such interface.
    pub fn open(ifname: &str) -> io::Result<AfPacketDevice> {
        Self::open_with(ifname, Batch::On)
    }

    /// [`open`](Self::open) with batching on (a receive ring and `sendmmsg`) or off (one
    /// system call per frame).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); also when the kernel refuses the ring or its mapping
    /// (too little memory, say).
    pub fn open_with(ifname: &str, batch: Batch) -> io::Result<AfPacketDevice> {
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
        // Before the bind: the ring is in place when the first frame arrives.
        let rx = match batch {
            Batch::On => Some(rx_ring::RxRing::new(&fd).map_err(|e| {
                OpenError::wrap(format!("{what}: cannot set up the receive ring: {e}"), e)
            })?),
            Batch::Off => None,
        };
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
        let tx = match batch {
            Batch::On => Some(tx_batch::TxBatch::new(mtu + ETHERNET_OVERHEAD)),
            Batch::Off => None,
        };
        Ok(AfPacketDevice {
            rx,
            tx,
            tx_refused: None,
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

/// Sets a `SOL_PACKET` option to `value` (a plain C value: `c_int`, `packet_mreq` or
/// `tpacket_req3`).
fn setsockopt<T: Copy>(fd: &OwnedFd, option: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to an initialised `T` of exactly the length passed, valid
    // for the duration of the call; setsockopt(2) only reads it. The options used here
    // expect a c_int, a packet_mreq or (PACKET_RX_RING) a tpacket_req3, which are the
    // only types callers pass with them.
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
    // sockaddr_ll, packet_mreq, tpacket_req3 and c_int are a few dozen bytes.
    mem::size_of::<T>() as libc::socklen_t
}

impl AfPacketDevice {
    /// Reads one frame from the ring ([`Batch::On`]).
    fn recv_ring(&mut self, buf: &mut [u8]) -> Option<usize> {
        let got = self.rx.as_mut()?.recv(buf)?;
        if got.truncated {
            self.drops.rx_truncated += 1;
        } else if got.checksum_pending {
            crate::offload::complete_checksum(&mut buf[..got.len]);
        }
        Some(got.len)
    }

    /// Reads one frame with `recvmsg(2)` ([`Batch::Off`]).
    fn recv_one(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
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

    /// Sends one frame with `send(2)`, now.
    fn send_now(&mut self, frame: &[u8]) -> io::Result<()> {
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
            match tx_batch::Refusal::of(io::Error::last_os_error()) {
                tx_batch::Refusal::Retry => continue,
                tx_batch::Refusal::Error(e) => return Err(e),
                lost => {
                    count_loss(&mut self.drops, &self.name, lost);
                    return Ok(());
                }
            }
        }
    }

    /// Sends the frames waiting in the batch, if any, with `sendmmsg(2)`. Frames lost
    /// to a full queue or a down link are counted; the first frame refused for itself
    /// is kept in `tx_refused` for [`flush`](Device::flush) to report.
    fn send_batch(&mut self) {
        let Some(tx) = self.tx.as_mut().filter(|tx| !tx.is_empty()) else {
            return;
        };
        let (drops, name, refused) = (&mut self.drops, &self.name, &mut self.tx_refused);
        tx.send(&self.fd, |refusal| match refusal {
            tx_batch::Refusal::Error(e) => {
                refused.get_or_insert(e);
            }
            lost => count_loss(drops, name, lost),
        });
    }
}

/// Counts a frame lost to a full queue or a down link, as a real link loses it.
fn count_loss(drops: &mut LinkDrops, name: &str, refusal: tx_batch::Refusal) {
    match refusal {
        tx_batch::Refusal::LinkDown => {
            if drops.tx_link_down == 0 {
                log::warn!("{name} is down; dropping frames until it is up");
            }
            drops.tx_link_down += 1;
        }
        _ => drops.tx_queue_full += 1,
    }
}

impl Device for AfPacketDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        if self.rx.is_some() {
            return Ok(self.recv_ring(buf));
        }
        self.recv_one(buf)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        // Frames offered before go first: the link keeps their order.
        self.send_batch();
        self.send_now(frame)
    }

    /// With [`Batch::On`], holds the frame until [`flush`](Device::flush) (or until the
    /// batch is full); it is then as good as sent: a full queue loses it, counted.
    fn try_send(&mut self, frame: &[u8]) -> io::Result<Sent> {
        let Some(tx) = self.tx.as_mut() else {
            return self.send_now(frame).map(|()| Sent::Taken);
        };
        if tx.is_full() {
            self.send_batch();
        }
        if let Some(tx) = self.tx.as_mut() {
            tx.push(frame)?;
        }
        Ok(Sent::Taken)
    }

    /// Sends the frames [`try_send`](Device::try_send) held. An `Err` is the first frame
    /// the kernel refused for itself since the last flush (the others went).
    fn flush(&mut self) -> io::Result<()> {
        self.send_batch();
        self.tx_refused.take().map_or(Ok(()), Err)
    }

    fn max_frame_len(&self) -> usize {
        MAX_GSO_FRAME.max(self.mtu + ETHERNET_OVERHEAD)
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

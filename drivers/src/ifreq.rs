//! Questions to the kernel about a network interface, by name: its MTU and its index;
//! and the two TUN/TAP ioctls that attach a TAP and set its offloads.
//!
//! Both are answered for the network namespace of the calling thread (the MTU through a
//! socket created on this thread, the index through `if_nametoindex`, which does the
//! same). `/sys/class/net` is deliberately not used: after `unshare(CLONE_NEWNET)` it
//! still shows the namespace sysfs was mounted in, not the thread's.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Longest interface name Linux accepts, without the terminating NUL (IFNAMSIZ - 1).
pub(crate) const MAX_NAME_LEN: usize = libc::IFNAMSIZ - 1;

/// Checks that `name` fits an `ifreq` (at most 15 bytes, no NUL). The kernel judges the
/// rest (no '/', ':' or whitespace) and answers EINVAL.
pub(crate) fn check_name(name: &str) -> io::Result<()> {
    if name.len() > MAX_NAME_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface name {name:?} is longer than {MAX_NAME_LEN} bytes"),
        ));
    }
    if name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface name {name:?} contains a NUL byte"),
        ));
    }
    Ok(())
}

/// The IP MTU of interface `name`, by `ioctl(SIOCGIFMTU)` on a throwaway AF_INET socket.
pub(crate) fn mtu(name: &str) -> io::Result<usize> {
    check_name(name)?;
    let mut req = libc::ifreq {
        ifr_name: [0; libc::IFNAMSIZ],
        ifr_ifru: libc::__c_anonymous_ifr_ifru { ifru_mtu: 0 },
    };
    // check_name guarantees at most IFNAMSIZ - 1 bytes, so the last byte stays NUL.
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    let socket = throwaway_inet_socket()?;
    // SAFETY: `req` is a fully initialised ifreq whose name is NUL-terminated (above);
    // SIOCGIFMTU reads the name and writes only `ifr_mtu` inside `req`, which outlives
    // the call. The descriptor is a valid open socket owned by `socket`.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFMTU, &mut req) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the successful SIOCGIFMTU above stored the MTU in `ifru_mtu`, and any bit
    // pattern is a valid c_int.
    let mtu = unsafe { req.ifr_ifru.ifru_mtu };
    usize::try_from(mtu).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("kernel reported a negative MTU ({mtu}) for {name}"),
        )
    })
}

/// The kernel's index for interface `name`, as `bind` on an AF_PACKET socket wants it.
pub(crate) fn index(name: &str) -> io::Result<libc::c_int> {
    check_name(name)?;
    let c_name = CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c_name` is a NUL-terminated string that lives across the call;
    // if_nametoindex only reads it.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    libc::c_int::try_from(index).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("interface index {index} of {name} does not fit a C int"),
        )
    })
}

/// `TUNSETIFF`: attaches the open `/dev/net/tun` `file` to TAP `name` (creating it if
/// it does not exist and we may), without packet information, and with the virtio-net
/// header before every frame if `vnet`; as one queue of a multi-queue TAP if
/// `multi_queue` (`IFF_MULTI_QUEUE`). Returns the interface's real name (the kernel
/// fills in `%d` or an empty name).
pub(crate) fn attach_tap(
    file: &File,
    name: &str,
    vnet: bool,
    multi_queue: bool,
) -> io::Result<String> {
    check_name(name)?;
    let mut flags = libc::IFF_TAP | libc::IFF_NO_PI;
    if vnet {
        flags |= libc::IFF_VNET_HDR;
    }
    if multi_queue {
        flags |= libc::IFF_MULTI_QUEUE;
    }
    let mut req = libc::ifreq {
        ifr_name: [0; libc::IFNAMSIZ],
        ifr_ifru: libc::__c_anonymous_ifr_ifru {
            // The flags all fit the 16 bits of ifr_flags (IFF_VNET_HDR is 0x4000,
            // IFF_MULTI_QUEUE 0x0100).
            ifru_flags: flags as libc::c_short,
        },
    };
    // check_name guarantees at most IFNAMSIZ - 1 bytes, so the last byte stays NUL.
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: `req` is a fully initialised ifreq with a NUL-terminated name; TUNSETIFF
    // reads it and writes the chosen name back into it, which outlives the call. The
    // descriptor is open and owned by `file`.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut req) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let bytes: Vec<u8> = req
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `TUNSETOFFLOAD`: which offloads (`TUN_F_*`) the TAP attached to `file` takes and
/// gives; the kernel refuses flags it does not know with EINVAL.
pub(crate) fn set_tap_offload(file: &File, flags: libc::c_uint) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value and touches no memory of ours;
    // the descriptor is open and owned by `file`.
    let rc = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            libc::TUNSETOFFLOAD,
            libc::c_ulong::from(flags),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// An AF_INET datagram socket, used only as a handle for interface ioctls.
fn throwaway_inet_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; it returns a new descriptor or -1.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2), is open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_fit_an_ifreq_are_refused_before_any_syscall() {
        assert_eq!(
            check_name("abcdefghijklmnop").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            check_name("ta\0p").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(check_name("abcdefghijklmno").is_ok());
    }

    #[test]
    fn loopback_mtu_and_index_are_readable_without_privileges() {
        // "lo" exists in every namespace; reading its MTU needs no capability.
        assert!(mtu("lo").unwrap() > 0);
        assert!(index("lo").unwrap() > 0);
        assert_eq!(
            mtu("no-such-if0").unwrap_err().raw_os_error(),
            Some(libc::ENODEV)
        );
    }
}

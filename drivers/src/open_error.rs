//! Telling the user why a device could not be opened.
//!
//! [`TapDevice::open`](crate::TapDevice::open) and
//! [`AfPacketDevice::open`](crate::AfPacketDevice::open) return an `io::Error` that keeps
//! the OS error's kind, carries a message naming the interface and the likely cause, and
//! has the original error as its `source()`. The CLI prints the message and uses the
//! predicates below to add a remedy (for example "run `sudo scripts/setup-tap.sh`").

use std::error::Error;
use std::fmt;
use std::io;

/// Not allowed: EPERM or EACCES (no CAP_NET_ADMIN / CAP_NET_RAW, and for a TAP no
/// persistent device owned by this user).
pub fn is_permission_problem(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
}

/// Another process holds the device (EBUSY): a TAP is attached to another descriptor.
pub fn is_busy(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::ResourceBusy
}

/// The TUN/TAP driver is unavailable: `/dev/net/tun` is missing (ENOENT) or the `tun`
/// module is not loaded (ENODEV when opening it).
pub fn is_missing_tun(e: &io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<OpenError>())
        .is_some_and(|open| open.missing_tun)
}

/// The interface does not exist (from [`TapDevice::open_existing`](crate::TapDevice::open_existing)).
pub fn is_missing_interface(e: &io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<OpenError>())
        .is_some_and(|open| open.missing_interface)
}

/// The error payload: a sentence for the user and the OS error behind it.
#[derive(Debug)]
pub(crate) struct OpenError {
    message: String,
    missing_tun: bool,
    missing_interface: bool,
    source: io::Error,
}

impl OpenError {
    /// Wraps `source`, keeping its kind, under `message`.
    pub(crate) fn wrap(message: String, source: io::Error) -> io::Error {
        let kind = source.kind();
        io::Error::new(
            kind,
            OpenError {
                message,
                missing_tun: false,
                missing_interface: false,
                source,
            },
        )
    }

    /// Like [`wrap`](Self::wrap), for a missing TUN/TAP driver; the kind is `NotFound`
    /// whatever the OS said, so callers need not know ENODEV from ENOENT.
    pub(crate) fn missing_tun(message: String, source: io::Error) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            OpenError {
                message,
                missing_tun: true,
                missing_interface: false,
                source,
            },
        )
    }

    /// For an interface that does not exist; the kind is `NotFound`.
    pub(crate) fn missing_interface(message: String, source: io::Error) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            OpenError {
                message,
                missing_tun: false,
                missing_interface: true,
                source,
            },
        )
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for OpenError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_errors_keep_kind_message_and_source() {
        let e = OpenError::wrap(
            "cannot open TAP tap0: busy".into(),
            io::Error::from_raw_os_error(libc::EBUSY),
        );
        assert!(is_busy(&e));
        assert!(!is_permission_problem(&e));
        assert!(!is_missing_tun(&e));
        assert_eq!(e.to_string(), "cannot open TAP tap0: busy");
        let source = e.get_ref().and_then(|inner| inner.source()).unwrap();
        assert!(source.to_string().contains("busy"), "{source}");

        let e = OpenError::wrap("x".into(), io::Error::from_raw_os_error(libc::EPERM));
        assert!(is_permission_problem(&e));
        let e = OpenError::wrap("x".into(), io::Error::from_raw_os_error(libc::EACCES));
        assert!(is_permission_problem(&e));
        let e = OpenError::missing_tun("x".into(), io::Error::from_raw_os_error(libc::ENODEV));
        assert!(is_missing_tun(&e));
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}

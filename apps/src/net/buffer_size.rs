//! SO_RCVBUF and SO_SNDBUF as Linux computes them (`net/core/sock.c`, `sock_setsockopt`):
//! the size asked for is capped at `net.core.rmem_max` (`wmem_max` for sending), doubled
//! "to account for struct sk_buff overhead", and raised to a minimum; getsockopt returns
//! the doubled value. Programs that set 64 KiB expect 64 KiB of data to fit, so the
//! stack is given half the doubled value as its buffer, in bytes of data: the window a
//! Linux receiver offers for the same setting (`tcp_adv_win_scale` 1 gives half the
//! buffer to data).

use std::io;

/// Linux's SOCK_MIN_RCVBUF on 64-bit machines: 2048 + sizeof(struct sk_buff) rounded,
/// the smallest receive buffer getsockopt reports.
pub const SOCK_MIN_RCVBUF: usize = 2304;
/// Linux's SOCK_MIN_SNDBUF: twice TCP's smallest buffer truesize.
pub const SOCK_MIN_SNDBUF: usize = 4608;
/// `net.core.rmem_max` and `wmem_max` when /proc does not say: Linux's default.
pub const DEFAULT_MEM_MAX: usize = 212_992;

/// Which buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buffer {
    /// SO_RCVBUF
    Recv,
    /// SO_SNDBUF
    Send,
}

impl Buffer {
    /// The sysctl that caps it: `net.core.rmem_max` or `wmem_max`, read from /proc as
    /// Linux reads it at each setsockopt; Linux's default if /proc does not say.
    pub fn max(self) -> usize {
        let path = match self {
            Buffer::Recv => "/proc/sys/net/core/rmem_max",
            Buffer::Send => "/proc/sys/net/core/wmem_max",
        };
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(DEFAULT_MEM_MAX)
    }

    fn min(self) -> usize {
        match self {
            Buffer::Recv => SOCK_MIN_RCVBUF,
            Buffer::Send => SOCK_MIN_SNDBUF,
        }
    }

    /// What getsockopt reports after setsockopt(`asked`): `asked` capped at the sysctl
    /// maximum (and at `i32::MAX / 2`, as Linux keeps the double an int), doubled, and
    /// at least the minimum.
    pub fn reported(self, asked: usize) -> usize {
        let capped = asked.min(self.max()).min(i32::MAX as usize / 2);
        (capped * 2).max(self.min())
    }

    /// The stack's buffer, in bytes of data, for a reported size: half of it.
    pub fn data_bytes(reported: usize) -> usize {
        reported / 2
    }

    /// The reported size of a stack buffer of `data` bytes.
    pub fn reported_of(data: usize) -> usize {
        data.saturating_mul(2)
    }
}

/// A size asked for as a C int (a program's setsockopt): a negative one is huge to
/// Linux (`min_t(u32, val, max)`), so it gets the maximum.
pub fn from_c_int(value: i64) -> io::Result<usize> {
    let v = i32::try_from(value)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not an int"))?;
    Ok(v as u32 as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubled_capped_and_raised_to_the_minimum_as_linux() {
        let max = Buffer::Recv.max();
        assert_eq!(Buffer::Recv.reported(65_536), 131_072);
        assert_eq!(Buffer::Recv.reported(1), SOCK_MIN_RCVBUF);
        assert_eq!(Buffer::Send.reported(1), SOCK_MIN_SNDBUF);
        assert_eq!(Buffer::Send.reported(2304), SOCK_MIN_SNDBUF);
        assert_eq!(Buffer::Recv.reported(usize::MAX), 2 * max);
        assert_eq!(Buffer::data_bytes(Buffer::Recv.reported(65_536)), 65_536);
        assert_eq!(from_c_int(-1).unwrap(), u32::MAX as usize);
    }
}

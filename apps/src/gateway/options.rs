//! The socket options a program under `netstack run` sets, by the names the shim sends
//! (`OPT <id> <name> <value>`), kept per socket and applied to its netstack connection:
//!
//! | name | from | facade call |
//! |---|---|---|
//! | `nodelay 0/1` | TCP_NODELAY | `set_nodelay` |
//! | `keepalive 0/1` | SO_KEEPALIVE | `set_keepalive` |
//! | `keepidle s`, `keepintvl s`, `keepcnt n` | TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT | `set_keepalive_params` |
//! | `linger s` (-1: off) | SO_LINGER | `set_linger` |
//! | `ttl n` | IP_TTL | `set_ttl` |
//! | `congestion name` | TCP_CONGESTION | `set_congestion` |
//! | `rcvbuf n`, `sndbuf n` | SO_RCVBUF, SO_SNDBUF | `set_recv_buffer_size`, `set_send_buffer_size` (before connect or listen: on the `TcpSocket`) |
//! | `reuseaddr 0/1` | SO_REUSEADDR | `set_reuse_address` on the `TcpSocket` (bind and listen) |

use std::io;
use std::time::Duration;

use crate::net::buffer_size::from_c_int;
use crate::net::{TcpListener, TcpSocket, TcpStream};
use crate::runtime::Handle;

/// Linux's keep-alive defaults (tcp_keepalive_time, _intvl, _probes).
const KEEPALIVE_DEFAULTS: (u64, u64, u32) = (7200, 75, 9);

/// Options set on one socket, in the order set (a later value replaces an earlier one).
#[derive(Clone, Debug, Default)]
pub struct Options(Vec<(String, String)>);

/// Refuses a value Linux would refuse, with its errno.
pub fn check(name: &str, value: &str) -> Result<(), i32> {
    let number = || value.parse::<i64>().map_err(|_| libc::EINVAL);
    match name {
        "nodelay" | "keepalive" | "reuseaddr" => number().map(|_| ()),
        "rcvbuf" | "sndbuf" => from_c_int(number()?).map(|_| ()).map_err(|_| libc::EINVAL),
        // Linux: 1..=32767 s for the keep-alive times, 1..=127 probes, 1..=255 TTL.
        "keepidle" | "keepintvl" if (1..=32767).contains(&number()?) => Ok(()),
        "keepcnt" if (1..=127).contains(&number()?) => Ok(()),
        "ttl" if (1..=255).contains(&number()?) => Ok(()),
        "linger" => number().map(|_| ()),
        "congestion" if matches!(value, "cubic" | "reno") => Ok(()),
        "congestion" => Err(libc::ENOENT),
        _ => Err(libc::EINVAL),
    }
}

impl Options {
    /// Records `name = value`.
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_string(), value.to_string()));
    }

    /// Whether the program set SO_REUSEADDR.
    pub fn reuse(&self) -> bool {
        self.get("reuseaddr").is_some_and(|v| v != 0)
    }

    /// SO_RCVBUF (`rcvbuf`) or SO_SNDBUF (`sndbuf`) as set, as a size.
    fn size(&self, name: &str) -> Option<usize> {
        self.get(name).and_then(|v| from_c_int(v).ok())
    }

    /// A facade socket with the options that must come before connect or listen: the
    /// buffer sizes (which shape the SYN) and SO_REUSEADDR.
    pub fn socket(&self, net: &Handle) -> io::Result<TcpSocket> {
        let s = TcpSocket::new(net)?;
        if let Some(n) = self.size("rcvbuf") {
            s.set_recv_buffer_size(n)?;
        }
        if let Some(n) = self.size("sndbuf") {
            s.set_send_buffer_size(n)?;
        }
        s.set_reuse_address(self.reuse())?;
        Ok(s)
    }

    /// Applies the buffer sizes to a listener, for the connections it accepts next.
    pub fn apply_listener(&self, l: &TcpListener) -> Result<(), i32> {
        let err = |e: std::io::Error| super::errno::of(&e);
        if let Some(n) = self.size("rcvbuf") {
            l.set_recv_buffer_size(n).map_err(err)?;
        }
        if let Some(n) = self.size("sndbuf") {
            l.set_send_buffer_size(n).map_err(err)?;
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<i64> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.parse().ok())
    }

    /// Applies every option to `stream`; the first failure's errno.
    pub fn apply(&self, stream: &TcpStream) -> Result<(), i32> {
        let err = |e: std::io::Error| super::errno::of(&e);
        for (name, value) in &self.0 {
            let on = value != "0";
            match name.as_str() {
                "nodelay" => stream.set_nodelay(on).map_err(err)?,
                "keepalive" => stream.set_keepalive(on).map_err(err)?,
                "ttl" => stream.set_ttl(value.parse().unwrap_or(64)).map_err(err)?,
                "congestion" => stream.set_congestion(value).map_err(err)?,
                "rcvbuf" | "sndbuf" => {
                    let n = self.size(name).unwrap_or(0);
                    if name == "rcvbuf" {
                        stream.set_recv_buffer_size(n).map_err(err)?;
                    } else {
                        stream.set_send_buffer_size(n).map_err(err)?;
                    }
                }
                "linger" => {
                    let secs: i64 = value.parse().unwrap_or(-1);
                    let linger = u64::try_from(secs).ok().map(Duration::from_secs);
                    stream.set_linger(linger).map_err(err)?;
                }
                _ => {}
            }
        }
        if ["keepidle", "keepintvl", "keepcnt"]
            .iter()
            .any(|n| self.get(n).is_some())
        {
            let (idle, intvl, cnt) = KEEPALIVE_DEFAULTS;
            let secs = |n: &str, d: u64| Duration::from_secs(self.get(n).map_or(d, |v| v as u64));
            let count = self.get("keepcnt").map_or(cnt, |v| v as u32);
            stream
                .set_keepalive_params(secs("keepidle", idle), secs("keepintvl", intvl), count)
                .map_err(err)?;
        }
        Ok(())
    }
}

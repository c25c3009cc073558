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

use std::time::Duration;

use crate::net::TcpStream;

/// Linux's keep-alive defaults (tcp_keepalive_time, _intvl, _probes).
const KEEPALIVE_DEFAULTS: (u64, u64, u32) = (7200, 75, 9);

/// Options set on one socket, in the order set (a later value replaces an earlier one).
#[derive(Clone, Debug, Default)]
pub struct Options(Vec<(String, String)>);

/// Refuses a value Linux would refuse, with its errno.
pub fn check(name: &str, value: &str) -> Result<(), i32> {
    let number = || value.parse::<i64>().map_err(|_| libc::EINVAL);
    match name {
        "nodelay" | "keepalive" => number().map(|_| ()),
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

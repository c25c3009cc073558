//! From a URL's host to an IPv4 address, without DNS.
//!
//! netstack has no DNS client yet, so a host is one of:
//! - a dotted-quad IPv4 address, used as it is;
//! - a name listed in the hosts file (`/etc/hosts`, see hosts(5)), read here by our own
//!   parser: the first line whose IPv4 address carries the name (case-insensitively)
//!   wins, as in glibc. IPv6 lines are skipped, since netstack speaks IPv4 only.
//!
//! Any other name is an error that says so. Loopback addresses (`localhost` is
//! 127.0.0.1) are refused too: they are the kernel's own, on an interface netstack is
//! not attached to, so no packet of ours could reach them.

use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::url::Host;

/// The hosts file the `netstack` binary reads.
pub const HOSTS_FILE: &str = "/etc/hosts";

/// Why a host has no usable address.
#[derive(Debug)]
pub enum ResolveError {
    /// The name is not in the hosts file (or there is no hosts file).
    NotFound {
        /// The name looked up.
        name: String,
        /// The hosts file read.
        file: PathBuf,
    },
    /// The address is a loopback address, which netstack cannot reach.
    Loopback {
        /// The URL's host, as written.
        host: String,
        /// Its address.
        addr: Ipv4Addr,
    },
    /// The hosts file exists but cannot be read.
    Unreadable {
        /// The hosts file.
        file: PathBuf,
        /// What reading it said.
        error: io::Error,
    },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::NotFound { name, file } => write!(
                f,
                "cannot resolve {name:?}: it is not in {} and netstack has no DNS client yet \
                 (use an IPv4 address, or add the name to {})",
                file.display(),
                file.display()
            ),
            ResolveError::Loopback { host, addr } if host == &addr.to_string() => write!(
                f,
                "{addr} is a loopback address, the kernel's own, which netstack cannot reach \
                 (use the kernel's address on netstack's link, such as 10.0.0.1)"
            ),
            ResolveError::Loopback { host, addr } => write!(
                f,
                "{host} is {addr}, a loopback address, the kernel's own, which netstack cannot \
                 reach (use the kernel's address on netstack's link, such as 10.0.0.1)"
            ),
            ResolveError::Unreadable { file, error } => {
                write!(f, "cannot read {}: {error}", file.display())
            }
        }
    }
}

impl std::error::Error for ResolveError {}

/// The address of `host`: an IPv4 address as it is, a name from `hosts_file`.
pub fn resolve(host: &Host, hosts_file: &Path) -> Result<Ipv4Addr, ResolveError> {
    let addr = match host {
        Host::Ipv4(addr) => *addr,
        Host::Name(name) => {
            let text = match std::fs::read_to_string(hosts_file) {
                Ok(text) => text,
                Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
                Err(error) => {
                    return Err(ResolveError::Unreadable {
                        file: hosts_file.to_path_buf(),
                        error,
                    })
                }
            };
            lookup(&text, name).ok_or_else(|| ResolveError::NotFound {
                name: name.clone(),
                file: hosts_file.to_path_buf(),
            })?
        }
    };
    if addr.is_loopback() {
        return Err(ResolveError::Loopback {
            host: host.to_string(),
            addr,
        });
    }
    Ok(addr)
}

/// The IPv4 address of `name` in hosts-file text: the first line whose address is IPv4
/// and whose names (canonical name or aliases) include `name`, ignoring case.
/// `#` starts a comment; malformed lines are skipped.
pub fn lookup(text: &str, name: &str) -> Option<Ipv4Addr> {
    text.lines().find_map(|line| {
        let line = line.split_once('#').map_or(line, |(before, _)| before);
        let mut fields = line.split_whitespace();
        let addr: Ipv4Addr = fields.next()?.parse().ok()?;
        fields
            .any(|alias| alias.trim_end_matches('.').eq_ignore_ascii_case(name))
            .then_some(addr)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str = "\
# /etc/hosts as distributions write it
127.0.0.1\tlocalhost
127.0.1.1  box.example box
::1     localhost ip6-localhost ip6-loopback
fe00::2 ip6-allrouters

10.0.0.1   kernel.lab  Kernel   # the TAP's kernel side
10.0.0.9   kernel.lab
not-an-address  broken
10.0.0.300 bad
10.0.0.7 fqdn.example.
#10.0.0.8 commented
  10.0.0.5\t\tindented
";

    #[test]
    fn names_are_looked_up_like_glibc_does() {
        let ip = |s: &str| Some(s.parse::<Ipv4Addr>().unwrap());
        assert_eq!(lookup(HOSTS, "localhost"), ip("127.0.0.1"));
        assert_eq!(lookup(HOSTS, "box"), ip("127.0.1.1"));
        // Aliases, any case; the first line wins.
        assert_eq!(lookup(HOSTS, "kernel"), ip("10.0.0.1"));
        assert_eq!(lookup(HOSTS, "KERNEL.lab"), ip("10.0.0.1"));
        assert_eq!(lookup(HOSTS, "fqdn.example"), ip("10.0.0.7"));
        assert_eq!(lookup(HOSTS, "indented"), ip("10.0.0.5"));
        // IPv6-only names, comments, malformed lines and absent names find nothing.
        for name in [
            "ip6-allrouters",
            "ip6-loopback",
            "commented",
            "broken",
            "bad",
            "the",
        ] {
            assert_eq!(lookup(HOSTS, name), None, "{name}");
        }
        assert_eq!(lookup("", "localhost"), None);
    }

    /// A hosts file in the temp directory, removed at the end of the test.
    struct TempHosts(PathBuf);

    impl TempHosts {
        fn new(tag: &str, text: &str) -> TempHosts {
            let path =
                std::env::temp_dir().join(format!("netstack-hosts-{tag}-{}", std::process::id()));
            std::fs::write(&path, text).expect("write a temp hosts file");
            TempHosts(path)
        }
    }

    impl Drop for TempHosts {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn resolve_reads_the_file_it_is_given() {
        let file = TempHosts::new("resolve", HOSTS);
        let name = |s: &str| Host::Name(s.to_string());
        assert_eq!(
            resolve(&name("kernel.lab"), &file.0).unwrap(),
            Ipv4Addr::new(10, 0, 0, 1)
        );
        let direct = Host::Ipv4(Ipv4Addr::new(10, 0, 0, 42));
        assert_eq!(
            resolve(&direct, Path::new("/nonexistent")).unwrap(),
            Ipv4Addr::new(10, 0, 0, 42)
        );

        let err = resolve(&name("example.com"), &file.0).unwrap_err();
        assert!(matches!(err, ResolveError::NotFound { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("\"example.com\"") && text.contains("no DNS client"),
            "{text}"
        );
        // No hosts file at all: just not found.
        let err = resolve(&name("kernel.lab"), Path::new("/nonexistent/hosts")).unwrap_err();
        assert!(matches!(err, ResolveError::NotFound { .. }), "{err:?}");
        // A directory cannot be read as a file.
        let err = resolve(&name("kernel.lab"), &std::env::temp_dir()).unwrap_err();
        assert!(matches!(err, ResolveError::Unreadable { .. }), "{err:?}");
    }

    #[test]
    fn loopback_is_refused_whether_named_or_numeric() {
        let file = TempHosts::new("loopback", HOSTS);
        let err = resolve(&Host::Name("localhost".into()), &file.0).unwrap_err();
        assert!(matches!(err, ResolveError::Loopback { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("localhost is 127.0.0.1, a loopback address")
                && text.contains("10.0.0.1"),
            "{text}"
        );
        let err = resolve(&Host::Ipv4(Ipv4Addr::new(127, 0, 0, 1)), &file.0).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("127.0.0.1 is a loopback address"),
            "{err}"
        );
    }
}

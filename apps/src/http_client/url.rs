//! `http://` URLs: parsing what the user typed, and resolving a redirect's `Location`
//! against the URL that answered it (RFC 3986 section 5).
//!
//! Only what an HTTP/1.1 GET needs is kept: the host, the port and the request target
//! (path and query). A fragment is dropped, as it is never sent (RFC 9110 4.2.4).
//! Refused, each with a one-line reason: other schemes (`https` in particular: netstack
//! has no TLS), user names and passwords, IPv6 literals, ports outside 1..=65535, and
//! spaces or control characters anywhere. Bytes outside ASCII in the path and query are
//! percent-encoded, as a browser would send them.

use std::fmt;
use std::net::Ipv4Addr;

/// The port an `http://` URL without one uses (RFC 9110 4.2.1).
pub const DEFAULT_PORT: u16 = 80;

/// An `http://` URL, parsed and normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    host: Host,
    port: u16,
    /// The request target in origin form (RFC 9112 3.2.1): the path, always starting with
    /// `/`, then the query with its `?` if there is one.
    target: String,
}

/// The host part of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A dotted-quad IPv4 address.
    Ipv4(Ipv4Addr),
    /// A host name, lowercased and without a trailing dot, to be looked up (see
    /// [`resolve`](super::resolve)).
    Name(String),
}

/// Why a URL was refused. The `Display` text is one line, fit for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// No `scheme://` at the start.
    NoScheme,
    /// `https://`: netstack has no TLS.
    Https,
    /// A scheme other than http and https.
    UnsupportedScheme(String),
    /// `user:password@` before the host.
    Credentials,
    /// Nothing between `//` and the path.
    NoHost,
    /// A bracketed IPv6 literal.
    Ipv6,
    /// A host that is neither an IPv4 address nor a valid host name.
    BadHost(String),
    /// A port that is not a number from 1 to 65535.
    BadPort(String),
    /// A space or control character (the character is given).
    BadCharacter(char),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NoScheme => {
                write!(
                    f,
                    "expected a URL starting with http://, such as http://10.0.0.1/"
                )
            }
            UrlError::Https => write!(
                f,
                "https:// is not supported: netstack has no TLS (use an http:// URL)"
            ),
            UrlError::UnsupportedScheme(scheme) => {
                write!(
                    f,
                    "unsupported scheme {scheme:?}: only http:// URLs can be fetched"
                )
            }
            UrlError::Credentials => {
                write!(f, "user names and passwords in URLs are not supported")
            }
            UrlError::NoHost => write!(f, "the URL has no host"),
            UrlError::Ipv6 => write!(
                f,
                "IPv6 addresses are not supported: netstack speaks IPv4 only"
            ),
            UrlError::BadHost(host) => write!(
                f,
                "{host:?} is neither an IPv4 address nor a valid host name"
            ),
            UrlError::BadPort(port) => {
                write!(f, "port {port:?} is not a number from 1 to 65535")
            }
            UrlError::BadCharacter(c) => write!(
                f,
                "the URL contains {c:?}; spaces and control characters must be percent-encoded"
            ),
        }
    }
}

impl std::error::Error for UrlError {}

impl Url {
    /// Parses an absolute `http://` URL: `http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]`.
    /// The scheme and host are case-insensitive.
    pub fn parse(input: &str) -> Result<Url, UrlError> {
        if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::BadCharacter(c));
        }
        let (scheme, rest) = split_scheme(input).ok_or(UrlError::NoScheme)?;
        match scheme.to_ascii_lowercase().as_str() {
            "http" => {}
            "https" => return Err(UrlError::Https),
            other => return Err(UrlError::UnsupportedScheme(other.to_string())),
        }
        let rest = rest.strip_prefix("//").ok_or(UrlError::NoScheme)?;
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, reference) = rest.split_at(authority_end);
        let (host, port) = parse_authority(authority)?;
        let (path, query) = split_reference(reference);
        let path = if path.is_empty() { "/" } else { path };
        Ok(Url {
            host,
            port,
            target: target(&remove_dot_segments(path), query),
        })
    }

    /// The URL a redirect's `Location` value names, resolved against this one as RFC
    /// 3986 (5.2.2) says: an absolute URL stands alone; `//host/path` keeps our scheme;
    /// `/path` keeps our host and port; `?query` keeps our path; anything else is
    /// relative to our path's last `/`. Dot segments are removed (5.2.4).
    pub fn join(&self, location: &str) -> Result<Url, UrlError> {
        let location = location.trim();
        if let Some(c) = location
            .chars()
            .find(|c| c.is_whitespace() || c.is_control())
        {
            return Err(UrlError::BadCharacter(c));
        }
        if split_scheme(location).is_some() {
            return Url::parse(location);
        }
        if location.starts_with("//") {
            return Url::parse(&format!("http:{location}"));
        }
        let (path, query) = split_reference(location);
        let (base_path, base_query) = split_reference(&self.target);
        let (path, query) = if path.is_empty() {
            (base_path.to_string(), query.or(base_query))
        } else if path.starts_with('/') {
            (remove_dot_segments(path), query)
        } else {
            // RFC 3986 5.2.3: merge with everything up to the base path's last "/".
            let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
            (remove_dot_segments(&format!("{dir}{path}")), query)
        };
        Ok(Url {
            host: self.host.clone(),
            port: self.port,
            target: target(&path, query),
        })
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port (80 unless the URL gave one).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target: path and query, as sent in the request line.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The `Host` header's value (RFC 9110 7.2): the host, with the port only when it is
    /// not the default.
    pub fn host_header(&self) -> String {
        if self.port == DEFAULT_PORT {
            self.host.to_string()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.target)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ipv4(addr) => write!(f, "{addr}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

impl std::str::FromStr for Url {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Url, UrlError> {
        Url::parse(s)
    }
}

/// `scheme` and what follows `scheme:`, if `s` starts with a scheme (RFC 3986 3.1:
/// a letter, then letters, digits, `+`, `-` or `.`).
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some((scheme, rest))
}

/// Splits a path-and-query-and-fragment into the path and the query (without `?`);
/// the fragment is dropped.
fn split_reference(s: &str) -> (&str, Option<&str>) {
    let s = s.split_once('#').map_or(s, |(before, _)| before);
    match s.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (s, None),
    }
}

/// The host and port of `host[:port]`.
fn parse_authority(authority: &str) -> Result<(Host, u16), UrlError> {
    if authority.contains('@') {
        return Err(UrlError::Credentials);
    }
    if authority.starts_with('[') {
        return Err(UrlError::Ipv6);
    }
    let (host, port) = match authority.rsplit_once(':') {
        // RFC 3986 3.2.3: an empty port means the default.
        Some((host, "")) => (host, DEFAULT_PORT),
        Some((host, port)) => {
            let number = port
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| UrlError::BadPort(port.to_string()))?;
            (host, number)
        }
        None => (authority, DEFAULT_PORT),
    };
    Ok((parse_host(host)?, port))
}

/// An IPv4 address in dotted-quad form, or a host name (RFC 1123 2.1: labels of letters,
/// digits and hyphens, not starting or ending with a hyphen).
fn parse_host(host: &str) -> Result<Host, UrlError> {
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let bad = || UrlError::BadHost(host.to_string());
    // Something that looks numeric must be an address: "10.0.0.300" is a typo, not a
    // name to look up.
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.parse().map(Host::Ipv4).map_err(|_| bad());
    }
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(bad());
    }
    Ok(Host::Name(name))
}

/// RFC 3986 5.2.4, for a path starting with `/`: `.` segments go, and each `..` takes
/// the segment before it with it (never above the root).
fn remove_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                out.pop();
            }
            other => {
                out.push(other);
                continue;
            }
        }
        // A trailing "." or ".." names a directory: keep the final "/".
        if last {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}

/// The origin-form target for `path` and `query`, with bytes outside printable ASCII
/// percent-encoded (RFC 3986 2.1).
fn target(path: &str, query: Option<&str>) -> String {
    let mut target = String::with_capacity(path.len() + query.map_or(0, str::len) + 1);
    encode_into(&mut target, path);
    if let Some(query) = query {
        target.push('?');
        encode_into(&mut target, query);
    }
    target
}

fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_graphic() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s:?} refused: {e}"))
    }

    #[test]
    fn host_port_path_and_query() {
        let u = url("http://10.0.0.1:8000/a/b.txt?x=1&y=2#top");
        assert_eq!(u.host(), &Host::Ipv4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(u.port(), 8000);
        assert_eq!(u.target(), "/a/b.txt?x=1&y=2");
        assert_eq!(u.host_header(), "10.0.0.1:8000");
        assert_eq!(u.to_string(), "http://10.0.0.1:8000/a/b.txt?x=1&y=2");

        let u = url("HTTP://Example.COM.");
        assert_eq!(u.host(), &Host::Name("example.com".to_string()));
        assert_eq!((u.port(), u.target()), (80, "/"));
        assert_eq!(u.host_header(), "example.com");

        assert_eq!(url("http://h?q").target(), "/?q");
        assert_eq!(url("http://h:/x").port(), 80);
        assert_eq!(url("http://h:80/").host_header(), "h");
        assert_eq!(url("http://h/a/./b/../c").target(), "/a/c");
        assert_eq!(
            url("http://h/caf\u{e9}?n=\u{e9}").target(),
            "/caf%C3%A9?n=%C3%A9"
        );
        assert_eq!(url("http://h/%20ok").target(), "/%20ok");
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for (input, err) in [
            ("10.0.0.1/", UrlError::NoScheme),
            ("http:/10.0.0.1/", UrlError::NoScheme),
            ("", UrlError::NoScheme),
            ("https://10.0.0.1/", UrlError::Https),
            ("ftp://h/", UrlError::UnsupportedScheme("ftp".into())),
            ("http://user:pw@h/", UrlError::Credentials),
            ("http:///path", UrlError::NoHost),
            ("http://:80/", UrlError::NoHost),
            ("http://[::1]/", UrlError::Ipv6),
            ("http://10.0.0.300/", UrlError::BadHost("10.0.0.300".into())),
            ("http://1.2.3/", UrlError::BadHost("1.2.3".into())),
            ("http://a_b/", UrlError::BadHost("a_b".into())),
            ("http://-a/", UrlError::BadHost("-a".into())),
            ("http://a..b/", UrlError::BadHost("a..b".into())),
            ("http://h:0/", UrlError::BadPort("0".into())),
            ("http://h:65536/", UrlError::BadPort("65536".into())),
            ("http://h:+80/", UrlError::BadPort("+80".into())),
            ("http://h:http/", UrlError::BadPort("http".into())),
            ("http://h/a b", UrlError::BadCharacter(' ')),
            ("http://h/\n", UrlError::BadCharacter('\n')),
        ] {
            assert_eq!(Url::parse(input), Err(err), "{input:?}");
        }
        assert!(UrlError::Https.to_string().contains("no TLS"));
    }

    #[test]
    fn redirects_resolve_as_rfc_3986_says() {
        let base = url("http://10.0.0.1:8000/a/b/c?q=1");
        for (location, expected) in [
            // RFC 3986 5.4.1's normal examples, on our base.
            ("g", "http://10.0.0.1:8000/a/b/g"),
            ("./g", "http://10.0.0.1:8000/a/b/g"),
            ("g/", "http://10.0.0.1:8000/a/b/g/"),
            ("/g", "http://10.0.0.1:8000/g"),
            ("?y", "http://10.0.0.1:8000/a/b/c?y"),
            ("g?y#s", "http://10.0.0.1:8000/a/b/g?y"),
            ("", "http://10.0.0.1:8000/a/b/c?q=1"),
            ("#s", "http://10.0.0.1:8000/a/b/c?q=1"),
            (".", "http://10.0.0.1:8000/a/b/"),
            ("..", "http://10.0.0.1:8000/a/"),
            ("../g", "http://10.0.0.1:8000/a/g"),
            ("../../../../g", "http://10.0.0.1:8000/g"),
            ("/./g/.", "http://10.0.0.1:8000/g/"),
            // Elsewhere: same scheme, another host; or absolute.
            ("//10.0.0.9/x", "http://10.0.0.9/x"),
            ("http://10.0.0.9:81/len", "http://10.0.0.9:81/len"),
            ("HTTP://Other.Example/", "http://other.example/"),
            ("  /spaced  ", "http://10.0.0.1:8000/spaced"),
        ] {
            let joined = base
                .join(location)
                .unwrap_or_else(|e| panic!("{location:?}: {e}"));
            assert_eq!(joined.to_string(), expected, "{location:?}");
        }
        assert_eq!(base.join("https://h/"), Err(UrlError::Https));
        assert_eq!(base.join("/a b"), Err(UrlError::BadCharacter(' ')));
    }
}

//! `netstack http-get URL [-o FILE]`: one HTTP/1.1 GET over netstack's own TCP, with
//! [`crate::http_client`], the body written to stdout or to FILE.
//!
//! Host names: an IPv4 address, or a name from `/etc/hosts` (netstack has no DNS
//! client yet); loopback addresses are refused, being the kernel's own. See
//! [`crate::http_client::resolve`].
//!
//! Exit status, as `curl -f` has it: 0 for a 2xx response (after at most five
//! redirects); 1 for any other status (nothing is written and the error reads
//! `netstack: HTTP 404 Not Found`), for too many redirects, for a connection refused,
//! reset or timed out, or for a body cut short; 2 for a malformed URL (refused by clap)
//! or a host netstack cannot reach (no address, loopback). With `-o FILE`, the file is
//! created once a 2xx response has arrived, and removed again if the body then fails.
//!
//! A progress bar is drawn on stderr for bodies over a megabyte, when stderr is a
//! terminal and the body is not going to that same terminal; never in pipes or tests.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{HttpGetArgs, NetOptions};
use crate::commands::{output_error, setup};
use crate::error::CliError;
use crate::http_client::response::ResponseHead;
use crate::http_client::{self, io_message, resolve, Client, NetstackConnector};
use crate::runtime::Handle;

/// Bodies at least this long get a progress bar (when one can be seen).
const BAR_THRESHOLD: u64 = 1 << 20;

/// Runs the command.
pub fn run(net: &NetOptions, args: &HttpGetArgs) -> Result<u8, CliError> {
    // A host we cannot use is refused before any device is opened (so without
    // privileges, too). Redirects to other hosts are resolved as they come.
    resolve::resolve(args.url.host(), Path::new(resolve::HOSTS_FILE))
        .map_err(|e| client_error(&http_client::Error::Resolve(e)))?;
    let runtime = setup::start(net, setup::seed(net))?;
    let fetched = fetch(&runtime.handle(), args);
    setup::report_faults(&runtime.handle());
    let stopped = runtime
        .shutdown()
        .map_err(|e| CliError::failure(e.to_string()));
    fetched.and(stopped).map(|()| 0)
}

/// The GET itself, on a running stack.
fn fetch(net: &Handle, args: &HttpGetArgs) -> Result<(), CliError> {
    let connector = NetstackConnector::new(net, args.timeout);
    let mut client = Client::new(connector).connect_timeout(args.timeout);
    let mut response = client.get(&args.url).map_err(|e| client_error(&e))?;
    if let Some(err) = status_error(&response.head) {
        return Err(err);
    }
    let url = response.url.clone();
    let mut progress = Progress::new(response.body.announced_len(), args.output.is_some());
    let copied = match &args.output {
        Some(path) => save(&mut response.body, path, &mut progress),
        None => {
            let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
            copy(&mut response.body, &mut out, &mut progress).map_err(|e| match e {
                CopyError::Write(e) => output_error(e),
                CopyError::Read(e) => body_error(&url, &e),
            })
        }
    };
    progress.finish();
    copied
}

/// The error for a response whose status is not 2xx (`curl -f`'s rule), if it is not.
pub fn status_error(head: &ResponseHead) -> Option<CliError> {
    if (200..300).contains(&head.status) {
        return None;
    }
    let message = format!("HTTP {} {}", head.status, head.reason);
    Some(CliError::failure(message.trim_end()))
}

/// A client error as the command's error: status 2 when the request could never have
/// worked as written, 1 otherwise.
pub fn client_error(err: &http_client::Error) -> CliError {
    if err.is_usage() {
        CliError::usage(err.to_string())
    } else {
        CliError::failure(err.to_string())
    }
}

fn body_error(url: &http_client::url::Url, e: &io::Error) -> CliError {
    CliError::failure(format!("cannot read the body of {url}: {}", io_message(e)))
}

/// Writes the body to `path`, removing the file again if anything fails.
fn save(body: &mut impl Read, path: &Path, progress: &mut Progress) -> Result<(), CliError> {
    let file = File::create(path)
        .map_err(|e| CliError::failure(format!("cannot create {}: {e}", path.display())))?;
    let mut partial = PartialFile::new(path, &file);
    let mut out = BufWriter::new(file);
    copy(body, &mut out, progress)
        .and_then(|()| out.flush().map_err(CopyError::Write))
        .map_err(|e| match e {
            CopyError::Write(e) => {
                CliError::failure(format!("cannot write {}: {e}", path.display()))
            }
            CopyError::Read(e) => CliError::failure(format!(
                "the download was cut short ({}), so {} was removed",
                io_message(&e),
                path.display()
            )),
        })?;
    partial.keep();
    Ok(())
}

/// Which side of a copy failed.
#[derive(Debug)]
enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies `body` to `out`, moving the progress bar.
fn copy(
    body: &mut impl Read,
    out: &mut impl Write,
    progress: &mut Progress,
) -> Result<(), CopyError> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        out.write_all(&buf[..n]).map_err(CopyError::Write)?;
        progress.advance(n as u64);
    }
    out.flush().map_err(CopyError::Write)
}

/// The output file while it is being written: removed on drop unless
/// [`PartialFile::keep`] was called. Only a regular file is removed: `-o /dev/null`
/// must survive a failed download.
struct PartialFile {
    path: Option<PathBuf>,
}

impl PartialFile {
    fn new(path: &Path, file: &File) -> PartialFile {
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        PartialFile {
            path: regular.then(|| path.to_path_buf()),
        }
    }

    fn keep(&mut self) {
        self.path = None;
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The progress bar: hidden unless a person can see it and the body is large.
struct Progress {
    bar: ProgressBar,
    /// Whether stderr is a terminal the body is not also going to.
    visible: bool,
    shown: bool,
}

impl Progress {
    fn new(total: Option<u64>, to_file: bool) -> Progress {
        let visible = io::stderr().is_terminal() && (to_file || !io::stdout().is_terminal());
        let (bar, template) = match total {
            Some(len) => (
                ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden()),
                "{bytes:>10} / {total_bytes} [{wide_bar}] {binary_bytes_per_sec} ETA {eta}",
            ),
            None => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
                "{spinner} {bytes:>10} {binary_bytes_per_sec}",
            ),
        };
        // The templates are constants that parse; the fallback is for form's sake.
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        let mut progress = Progress {
            bar,
            visible,
            shown: false,
        };
        if total.is_some_and(|len| len >= BAR_THRESHOLD) {
            progress.show();
        }
        progress
    }

    fn advance(&mut self, n: u64) {
        self.bar.inc(n);
        if self.bar.position() >= BAR_THRESHOLD {
            self.show();
        }
    }

    fn show(&mut self) {
        if self.visible && !self.shown {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{EXIT_FAILURE, EXIT_USAGE};
    use crate::http_client::resolve::ResolveError;
    use std::net::{Ipv4Addr, SocketAddrV4};

    fn head(status: u16, reason: &str) -> ResponseHead {
        ResponseHead {
            minor_version: 1,
            status,
            reason: reason.to_string(),
            headers: Vec::new(),
        }
    }

    #[test]
    fn only_2xx_succeeds_like_curl_f() {
        for status in [200, 201, 204, 206, 299] {
            assert_eq!(status_error(&head(status, "Fine")), None, "{status}");
        }
        let err = status_error(&head(404, "Not Found")).unwrap();
        assert_eq!(
            (err.exit_code(), err.message()),
            (EXIT_FAILURE, "HTTP 404 Not Found")
        );
        let err = status_error(&head(503, "")).unwrap();
        assert_eq!(err.message(), "HTTP 503");
        // A redirect that could not be followed (no Location) is a failure too.
        assert_eq!(
            status_error(&head(302, "Found")).unwrap().message(),
            "HTTP 302 Found"
        );
        assert!(status_error(&head(100, "Continue")).is_some());
    }

    #[test]
    fn exit_codes_2_for_what_could_never_work_and_1_for_what_went_wrong() {
        let addr = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
        let code = |err: http_client::Error| client_error(&err).exit_code();
        let not_found = ResolveError::NotFound {
            name: "example.com".into(),
            file: "/etc/hosts".into(),
        };
        assert_eq!(code(http_client::Error::Resolve(not_found)), EXIT_USAGE);
        let loopback = ResolveError::Loopback {
            host: "localhost".into(),
            addr: Ipv4Addr::LOCALHOST,
        };
        assert_eq!(code(http_client::Error::Resolve(loopback)), EXIT_USAGE);
        let unreadable = ResolveError::Unreadable {
            file: "/etc/hosts".into(),
            error: io::ErrorKind::PermissionDenied.into(),
        };
        assert_eq!(code(http_client::Error::Resolve(unreadable)), EXIT_FAILURE);
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::TimedOut,
            io::ErrorKind::HostUnreachable,
        ] {
            let err = http_client::Error::Connect {
                addr,
                error: kind.into(),
                timeout: None,
            };
            assert_eq!(code(err), EXIT_FAILURE, "{kind:?}");
        }
        let err = http_client::Error::Connect {
            addr,
            error: io::ErrorKind::InvalidInput.into(),
            timeout: None,
        };
        assert_eq!(code(err), EXIT_USAGE);
        for err in [
            http_client::Error::Receive(io::ErrorKind::ConnectionReset.into()),
            http_client::Error::Send(io::ErrorKind::BrokenPipe.into()),
            http_client::Error::Malformed("x".into()),
            http_client::Error::TooManyRedirects {
                next: "http://h/".parse().unwrap(),
            },
        ] {
            assert_eq!(code(err), EXIT_FAILURE);
        }
    }

    /// A body that gives `good` bytes and then fails.
    struct Truncated<'a>(&'a [u8]);

    impl Read for Truncated<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_failed_download_leaves_no_file_and_a_good_one_all_of_it() {
        let path = std::env::temp_dir().join(format!("netstack-http-get-{}", std::process::id()));
        let mut progress = Progress::new(None, true);
        let err = save(&mut Truncated(b"partial"), &path, &mut progress).unwrap_err();
        assert_eq!(err.exit_code(), EXIT_FAILURE);
        assert!(
            err.message().contains("cut short") && err.message().contains("removed"),
            "{err}"
        );
        assert!(!path.exists(), "the partial file was left behind");

        save(&mut &b"complete"[..], &path, &mut progress).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"complete");
        std::fs::remove_file(&path).unwrap();

        // Not a regular file: written to, never removed.
        save(&mut Truncated(b"x"), Path::new("/dev/null"), &mut progress).unwrap_err();
        assert!(Path::new("/dev/null").exists());
    }
}

//! The fuzz corpus's real traffic: small TCP conversations between the kernel and
//! netstack, each captured to a pcap on netstack's side of the TAP link, and checked for
//! the segments that make it what it is. `fuzz-seeds` (fuzz/harness) turns the captures
//! into inputs of every fuzz target.
//!
//! ```text
//!   kernel 10.0.0.1 (std::net)  <-- tap0 -->  Lossy  <-->  Pcap  <-->  netstack 10.0.0.2
//! ```
//!
//! Run with `NETSTACK_FUZZ_CAPTURES=DIR` to keep the captures in DIR
//! (`scripts/fuzz-captures.sh` refreshes `fuzz/captures/`); otherwise they go to the temp
//! directory and are removed. Loss is made by [`Lossy`], which drops chosen frames on
//! their way in or out, so every run loses the same segments. The capture shows
//! netstack's view: a frame dropped on its way in is not in it, one dropped on its way
//! out is.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpStream as KernelStream};
use std::path::PathBuf;
use std::thread;

use common::netstack::Netstack;
use common::{in_netns, tap_lab, HOST_IP, STACK_IP, TIMEOUT};
use netstack::net::TcpListener;
use netstack_core::TcpState;
use netstack_drivers::{Device, Pcap, Wrapper};
use pcap_file::pcap::PcapReader;
use socket2::{Domain, SockAddr, Socket, Type};

/// A frame's way through [`Lossy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Way {
    /// From the kernel to netstack.
    In,
    /// From netstack to the kernel.
    Out,
}

/// Which frames to drop: called with each frame and its way; true drops it.
type Rule = Box<dyn FnMut(Way, &[u8]) -> bool + Send>;

/// A device wrapper that drops the frames its rule picks, both ways.
struct Lossy<D> {
    inner: D,
    rule: Rule,
}

impl<D: Device> Wrapper for Lossy<D> {
    type Inner = D;

    fn inner(&self) -> &D {
        &self.inner
    }

    fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    fn send_through(&mut self, frame: &[u8]) -> std::io::Result<()> {
        if (self.rule)(Way::Out, frame) {
            return Ok(());
        }
        self.inner.send(frame)
    }

    fn recv_through(&mut self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        loop {
            let Some(len) = self.inner.recv(buf)? else {
                return Ok(None);
            };
            if !(self.rule)(Way::In, &buf[..len.min(buf.len())]) {
                return Ok(Some(len));
            }
        }
    }
}

/// A TCP segment's (flags, payload length), if `frame` is IPv4 and TCP.
fn tcp(frame: &[u8]) -> Option<(u8, usize)> {
    let ip = frame.get(14..)?;
    if frame.get(12..14)? != [0x08, 0x00] || *ip.get(9)? != 6 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let seg = ip.get(ihl..total)?;
    let off = usize::from(seg.get(12)? >> 4) * 4;
    Some((*seg.get(13)?, seg.len().checked_sub(off)?))
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// Drops the `nth` (from 1) frame going `way` whose TCP segment `pick` chooses.
fn drop_nth(way: Way, nth: usize, pick: fn(u8, usize) -> bool) -> impl FnMut(Way, &[u8]) -> bool {
    let mut seen = 0;
    move |w, f| {
        let Some((flags, len)) = tcp(f) else {
            return false;
        };
        if w != way || !pick(flags, len) {
            return false;
        }
        seen += 1;
        seen == nth
    }
}

/// Where a capture goes: `$NETSTACK_FUZZ_CAPTURES/NAME.pcap`, or a temp file removed
/// when dropped.
struct Capture {
    path: PathBuf,
    keep: bool,
}

impl Capture {
    fn new(name: &str) -> Capture {
        match std::env::var_os("NETSTACK_FUZZ_CAPTURES") {
            Some(dir) => {
                std::fs::create_dir_all(&dir).expect("create the captures directory");
                Capture {
                    path: PathBuf::from(dir).join(format!("{name}.pcap")),
                    keep: true,
                }
            }
            None => Capture {
                path: std::env::temp_dir().join(format!(
                    "netstack-fuzz-capture-{}-{name}.pcap",
                    std::process::id()
                )),
                keep: false,
            },
        }
    }

    /// Every TCP segment in the capture: (from the kernel?, flags, payload length).
    fn segments(&self) -> Vec<(bool, u8, usize)> {
        let file = File::open(&self.path).expect("open the capture");
        let mut reader = PcapReader::new(file).expect("a pcap header");
        let mut out = vec![];
        while let Some(p) = reader.next_packet() {
            let p = p.expect("a well-formed record");
            if let Some((flags, len)) = tcp(&p.data) {
                // Source MAC: netstack's is 02:00:00:00:00:02.
                let from_kernel = p.data[6..12] != [2, 0, 0, 0, 0, 2];
                out.push((from_kernel, flags, len));
            }
        }
        out
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// netstack on a fresh TAP lab, capturing to `capture`, dropping what `rule` picks.
fn lab(capture: &Capture, rule: impl FnMut(Way, &[u8]) -> bool + Send + 'static) -> Netstack {
    let dropper = Lossy {
        inner: tap_lab(),
        rule: Box::new(rule),
    };
    Netstack::start(Pcap::new(dropper, &capture.path).expect("create the capture"))
}

/// Our echo server on port 80 for one connection: reads until end of stream, writing
/// back what it read, then closes. Returns the bytes echoed.
fn echo_once(listener: &TcpListener) -> usize {
    let (conn, _) = listener.accept().expect("our accept");
    conn.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut buf = [0; 4096];
    let mut total = 0;
    loop {
        let n = (&conn).read(&mut buf).expect("our read");
        if n == 0 {
            return total;
        }
        (&conn).write_all(&buf[..n]).expect("our write");
        total += n;
    }
}

/// The kernel connects to our port 80, writes `data`, half-closes, and reads the echo
/// to the end.
fn kernel_echo_client(data: Vec<u8>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let addr = SocketAddrV4::new(STACK_IP, 80);
        let mut s = KernelStream::connect_timeout(&addr.into(), TIMEOUT).expect("kernel connect");
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        s.write_all(&data).expect("kernel write");
        s.shutdown(Shutdown::Write).unwrap();
        let mut back = vec![];
        s.read_to_end(&mut back).expect("kernel read");
        back
    })
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// The kernel sends `len` bytes to our echo server on port 80 and half-closes; they come
/// back whole, and we close. Once only our listener is left, the lab stops.
fn echo_and_stop(net: Netstack, len: usize) {
    let listener = TcpListener::bind(net.handle(), "0.0.0.0:80").unwrap();
    let client = kernel_echo_client(pattern(len));
    assert_eq!(echo_once(&listener), len);
    assert_eq!(client.join().unwrap(), pattern(len));
    net.wait_for("our close to finish", |s| {
        s.tcp()
            .sockets()
            .iter()
            .all(|r| r.state == TcpState::Listen)
            .then_some(())
    });
    net.stop();
}

/// Handshake, data both ways, the kernel closes first, then us.
#[test]
fn capture_handshake_data_close() {
    in_netns("capture_handshake_data_close", || {
        let capture = Capture::new("handshake-data-close");
        echo_and_stop(lab(&capture, |_, _| false), 3000);
        let segs = capture.segments();
        assert_eq!(segs[0], (true, SYN, 0), "{segs:?}");
        assert_eq!(segs[1].1, SYN | ACK, "{segs:?}");
        assert!(segs.iter().any(|s| s.0 && s.1 & FIN != 0), "{segs:?}");
        assert!(segs.iter().any(|s| !s.0 && s.1 & FIN != 0), "{segs:?}");
    });
}

/// Our active open to a kernel server, data both ways, we close first.
#[test]
fn capture_active_open_send_close() {
    in_netns("capture_active_open_send_close", || {
        let capture = Capture::new("active-open-send-close");
        let net = lab(&capture, |_, _| false);
        let server = std::net::TcpListener::bind((HOST_IP, 8080)).expect("kernel listen");
        let kernel = thread::spawn(move || {
            let (mut s, _) = server.accept().expect("kernel accept");
            s.set_read_timeout(Some(TIMEOUT)).unwrap();
            let mut got = vec![];
            s.read_to_end(&mut got).expect("kernel read");
            s.write_all(b"bye").expect("kernel write");
            got
        });
        let ours = netstack::net::TcpStream::connect_timeout(
            net.handle(),
            &SocketAddrV4::new(HOST_IP, 8080).into(),
            TIMEOUT,
        )
        .expect("our connect");
        ours.set_read_timeout(Some(TIMEOUT)).unwrap();
        (&ours).write_all(&pattern(2000)).expect("our write");
        ours.shutdown(Shutdown::Write).unwrap();
        let mut back = vec![];
        (&ours).read_to_end(&mut back).expect("our read");
        assert_eq!(back, b"bye");
        assert_eq!(kernel.join().unwrap(), pattern(2000));
        drop(ours);
        net.stop();
        let segs = capture.segments();
        assert_eq!(segs[0], (false, SYN, 0), "{segs:?}");
        assert!(segs.iter().any(|s| s.0 && s.1 & FIN != 0), "{segs:?}");
    });
}

/// Loss both ways: the kernel's second data segment and our first are dropped once,
/// and come again.
#[test]
fn capture_loss_and_retransmission() {
    in_netns("capture_loss_and_retransmission", || {
        let capture = Capture::new("loss-and-retransmission");
        let is_data = |_flags: u8, len: usize| len > 0;
        let (mut lose_in, mut lose_out) = (
            drop_nth(Way::In, 2, is_data),
            drop_nth(Way::Out, 1, is_data),
        );
        let net = lab(&capture, move |way, f| lose_in(way, f) || lose_out(way, f));
        echo_and_stop(net, 6000);
        let segs = capture.segments();
        let data_out = segs.iter().filter(|s| !s.0 && s.2 > 0).count();
        let bytes_out: usize = segs.iter().filter(|s| !s.0).map(|s| s.2).sum();
        assert!(
            bytes_out > 6000,
            "our lost segment was sent again: {segs:?}"
        );
        assert!(data_out >= 2, "{segs:?}");
    });
}

/// Resets: the kernel aborts a connection with data in flight (SO_LINGER 0), then
/// connects to a closed port.
#[test]
fn capture_resets() {
    in_netns("capture_resets", || {
        let capture = Capture::new("resets");
        let net = lab(&capture, |_, _| false);
        let listener = TcpListener::bind(net.handle(), "0.0.0.0:80").unwrap();
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.connect_timeout(&SockAddr::from(SocketAddrV4::new(STACK_IP, 80)), TIMEOUT)
            .expect("kernel connect");
        (&s).write_all(b"hello").unwrap();
        let (conn, _) = listener.accept().expect("our accept");
        conn.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut buf = [0; 5];
        (&conn).read_exact(&mut buf).expect("our read");
        s.set_linger(Some(std::time::Duration::ZERO)).unwrap();
        drop(s); // [R.]
        let err = (&conn).read(&mut buf).expect_err("the reset is an error");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
        let refused =
            KernelStream::connect_timeout(&SocketAddrV4::new(STACK_IP, 81).into(), TIMEOUT)
                .expect_err("port 81 is closed");
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        drop(conn);
        net.stop();
        let segs = capture.segments();
        assert!(segs.iter().any(|s| s.0 && s.1 & RST != 0), "{segs:?}");
        assert!(segs.iter().any(|s| !s.0 && s.1 & RST != 0), "{segs:?}");
    });
}

/// Simultaneous open (RFC 9293 figure 8) from our side: our SYN is dropped on its way
/// out, and the kernel connects to the port ours came from while we are in SYN-SENT;
/// we answer its SYN with a SYN,ACK from SYN-RECEIVED. Then data, and the kernel closes
/// first.
#[test]
fn capture_simultaneous_open() {
    in_netns("capture_simultaneous_open", || {
        let capture = Capture::new("simultaneous-open");
        let first_syn = drop_nth(Way::Out, 1, |flags, _| flags & (SYN | ACK) == SYN);
        let net = lab(&capture, first_syn);
        let kernel_addr = SocketAddrV4::new(HOST_IP, 9000);
        let h = net
            .with_stack(|s, now| s.tcp().connect(now, kernel_addr))
            .expect("our connect");
        let ours = net.with_stack(|s, _| s.tcp().local_addr(h)).unwrap();
        // Our SYN goes to the device (and is dropped there) before the kernel's can
        // arrive: it waits for ARP first, and a loop that wakes late would read the
        // kernel's SYN in the same round as the ARP reply, so the capture would start
        // with it. Resolved and nothing queued: our SYN is out.
        net.wait_for("our SYN handed to the device", |s| {
            let resolved = s
                .arp_entries()
                .iter()
                .any(|e| e.ip == HOST_IP && e.mac.is_some());
            (resolved && s.pending_transmit() == 0).then_some(())
        });
        // The kernel's SYN from 10.0.0.1:9000 finds our connection in SYN-SENT.
        let k = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        k.bind(&SockAddr::from(kernel_addr)).unwrap();
        k.connect_timeout(&SockAddr::from(ours), TIMEOUT)
            .expect("kernel connect");
        net.wait_for("our connection to be ESTABLISHED", |s| {
            (s.tcp().state(h) == Ok(TcpState::Established)).then_some(())
        });
        let mut k: KernelStream = k.into();
        k.set_read_timeout(Some(TIMEOUT)).unwrap();
        k.write_all(b"hello").unwrap();
        k.shutdown(Shutdown::Write).unwrap();
        net.wait_for("the kernel's data and FIN", |s| {
            (s.tcp().state(h) == Ok(TcpState::CloseWait)).then_some(())
        });
        let mut buf = [0; 16];
        let got = net.with_stack(|s, now| s.tcp().recv(now, h, &mut buf));
        assert_eq!(got, Ok(Some(5)));
        assert_eq!(&buf[..5], b"hello");
        net.with_stack(|s, now| s.tcp().send(now, h, b"bye"))
            .unwrap();
        net.with_stack(|s, now| s.tcp().close(now, h)).unwrap();
        let mut back = vec![];
        k.read_to_end(&mut back).expect("kernel read");
        assert_eq!(back, b"bye");
        net.wait_for("our close to finish", |s| {
            s.tcp().sockets().is_empty().then_some(())
        });
        net.stop();
        let segs = capture.segments();
        // Our SYN (dropped, but in our capture), the kernel's SYN, our SYN,ACK.
        assert_eq!(
            &segs[..3],
            [(false, SYN, 0), (true, SYN, 0), (false, SYN | ACK, 0)],
            "{segs:?}"
        );
    });
}

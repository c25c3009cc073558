//! smoltcp as an [`Endpoint`]: an `Interface` on an in-memory device with one TCP
//! socket, listening as the server, with CUBIC. smoltcp is our interop peer only.

use netstack_core::Instant;
use smoltcp::iface::{Config as SmolConfig, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, RecvError, State};
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};

use super::endpoint::{Endpoint, Read, PORT, SERVER};
use crate::smol::Wire;

/// smoltcp's socket buffers each way: a window big enough for the matrix's longest
/// delays to move data at a few Mbit/s.
const BUFFER: usize = 1 << 20;

/// The smoltcp server.
pub struct SmolEnd {
    iface: Interface,
    device: Wire,
    sockets: SocketSet<'static>,
    socket: SocketHandle,
}

impl SmolEnd {
    /// The server at 10.0.0.3, listening on the port.
    pub fn server(seed: u64) -> SmolEnd {
        let mut device = Wire::default();
        let mac = HardwareAddress::Ethernet(EthernetAddress([2, 0, 0, 0, 0, 3]));
        let mut config = SmolConfig::new(mac);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut device, SmolInstant::ZERO);
        iface.update_ip_addrs(|addrs| {
            addrs
                .push(IpCidr::new(IpAddress::Ipv4(SERVER), 24))
                .expect("room for one address");
        });
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; BUFFER]),
            tcp::SocketBuffer::new(vec![0; BUFFER]),
        );
        socket.set_congestion_control(tcp::CongestionControl::Cubic);
        socket.listen(PORT).expect("smoltcp listens");
        let mut sockets = SocketSet::new(vec![]);
        let socket = sockets.add(socket);
        SmolEnd {
            iface,
            device,
            sockets,
            socket,
        }
    }

    fn socket(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket<'static>>(self.socket)
    }
}

fn smol(now: Instant) -> SmolInstant {
    SmolInstant::from_micros(now.total_micros() as i64)
}

impl Endpoint for SmolEnd {
    fn receive(&mut self, _now: Instant, frame: &[u8]) {
        self.device.to_smol.push_back(frame.to_vec());
    }

    fn poll(&mut self, now: Instant, emit: &mut dyn FnMut(&[u8])) {
        self.iface
            .poll(smol(now), &mut self.device, &mut self.sockets);
        for frame in self.device.from_smol.drain(..) {
            emit(&frame);
        }
    }

    fn next_timer(&mut self, now: Instant) -> Option<Instant> {
        let delay = self.iface.poll_delay(smol(now), &self.sockets)?;
        Some(now + netstack_core::Duration::from_micros(delay.total_micros()))
    }

    fn established(&mut self) -> bool {
        !matches!(
            self.socket().state(),
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    fn send(&mut self, _now: Instant, data: &[u8]) -> Result<usize, String> {
        let socket = self.socket();
        if !socket.can_send() {
            return Ok(0);
        }
        socket.send_slice(data).map_err(|e| format!("send: {e}"))
    }

    fn recv(&mut self, _now: Instant, buf: &mut [u8]) -> Result<Read, String> {
        match self.socket().recv_slice(buf) {
            Ok(0) => Ok(Read::Nothing),
            Ok(n) => Ok(Read::Data(n)),
            Err(RecvError::Finished) => Ok(Read::Eof),
            Err(RecvError::InvalidState) => Err(format!("recv in {}", self.socket().state())),
        }
    }

    fn shutdown(&mut self, _now: Instant) -> Result<(), String> {
        self.socket().close();
        Ok(())
    }

    fn closed_cleanly(&mut self) -> Result<bool, String> {
        Ok(matches!(
            self.socket().state(),
            State::TimeWait | State::Closed
        ))
    }

    fn describe(&mut self) -> String {
        let s = self.socket();
        format!(
            "  smoltcp {} send_queue={} recv_queue={}",
            s.state(),
            s.send_queue(),
            s.recv_queue()
        )
    }
}

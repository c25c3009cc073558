//! UDP interop with smoltcp over an in-memory link: our sockets against smoltcp's, both
//! ways, from 8 bytes to fragmented 8000-byte datagrams.

mod smol;

use std::net::{Ipv4Addr, SocketAddrV4};

use smol::{Link, OURS, SMOL};
use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpEndpoint};

const SIZES: [usize; 4] = [8, 1472, 1473, 8000];

fn payload(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
        .collect()
}

fn smol_udp(link: &mut Link, port: u16) -> smoltcp::iface::SocketHandle {
    let rx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 65536]);
    let tx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 65536]);
    let mut s = udp::Socket::new(rx, tx);
    s.bind(port).unwrap();
    link.sockets.add(s)
}

#[test]
fn our_socket_to_a_smoltcp_echo() {
    let mut link = Link::new();
    let echo = smol_udp(&mut link, 7);
    let ours = link.ours.udp().bind("0.0.0.0:0".parse().unwrap()).unwrap();
    let smol_addr = SocketAddrV4::new(Ipv4Addr::from(SMOL), 7);
    for (i, &len) in SIZES.iter().enumerate() {
        let data = payload(len, i as u8);
        link.ours
            .udp()
            .send_to(link.now, ours, &data, smol_addr)
            .unwrap();
        link.drive();
        // smoltcp echoes what it got.
        let s = link.sockets.get_mut::<udp::Socket<'_>>(echo);
        let (got, meta) = s
            .recv()
            .map(|(d, m)| (d.to_vec(), m))
            .unwrap_or_else(|e| panic!("{len} B: smoltcp got nothing: {e}"));
        assert_eq!(got, data, "{len} B arrived altered");
        s.send_slice(&got, meta.endpoint).unwrap();
        link.drive();
        let mut buf = vec![0; 9000];
        let (n, from) = link
            .ours
            .udp()
            .recv_from(ours, &mut buf)
            .unwrap()
            .unwrap_or_else(|| panic!("{len} B: no echo"));
        assert_eq!((&buf[..n], from), (&data[..], smol_addr), "{len} B echo");
    }
    assert!(
        link.ours.counters().ipv4_reassembled >= 1,
        "the 8000 B echo came back in fragments"
    );
}

#[test]
fn a_smoltcp_client_to_our_echo() {
    let mut link = Link::new();
    let client = smol_udp(&mut link, 40000);
    let ours = link.ours.udp().bind("0.0.0.0:7".parse().unwrap()).unwrap();
    let to_us = IpEndpoint::new(IpAddress::v4(OURS[0], OURS[1], OURS[2], OURS[3]), 7);
    for (i, &len) in SIZES.iter().enumerate() {
        let data = payload(len, 100 + i as u8);
        link.sockets
            .get_mut::<udp::Socket<'_>>(client)
            .send_slice(&data, to_us)
            .unwrap();
        link.drive();
        // The first datagram waits for ARP inside smoltcp; give its timer a tick.
        link.advance(10);
        let mut buf = vec![0; 9000];
        let (n, from) = link
            .ours
            .udp()
            .recv_from(ours, &mut buf)
            .unwrap()
            .unwrap_or_else(|| panic!("{len} B never arrived"));
        assert_eq!(&buf[..n], &data[..]);
        link.ours
            .udp()
            .send_to(link.now, ours, &buf[..n], from)
            .unwrap();
        link.drive();
        let s = link.sockets.get_mut::<udp::Socket<'_>>(client);
        let (got, meta) = s
            .recv()
            .map(|(d, m)| (d.to_vec(), m))
            .unwrap_or_else(|e| panic!("{len} B: no echo: {e}"));
        assert_eq!(got, data);
        assert_eq!(meta.endpoint, to_us);
    }
}

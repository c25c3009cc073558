//! The Ethernet link below IP: ARP (RFC 826) in both directions, Ethernet framing, and
//! the transmit queue every frame leaves through.
//!
//! IP hands down a frame with room for the Ethernet header and the next hop's address;
//! the link resolves that address, writes the header and queues the frame, or parks it
//! behind ARP until the neighbour answers. Received ARP packets come here too, since they
//! update the same neighbour cache.

use core::net::Ipv4Addr;

use log::warn;

use super::offload::TxOffload;
use super::tx::TxQueue;
use crate::arp::{self, ArpCache, EntryInfo, Lookup};
use crate::config::{ArpConfig, Config};
use crate::counters::{RxDrop, TxDrop};
use crate::time::Instant;
use crate::wire::{self, ArpOperation, ArpRepr, EtherType, EthernetRepr, MacAddr, WireError};

/// What the link counts: frames handed to the driver, ARP packets sent, and every
/// outgoing datagram dropped before reaching the wire, by reason.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LinkCounters {
    pub tx_frames: u64,
    pub tx_bytes: u64,
    pub arp_requests_sent: u64,
    pub arp_replies_sent: u64,
    pub tx_drops: [u64; TxDrop::COUNT],
}

/// A frame parked behind ARP, with the work it leaves to the link.
type Parked = (Vec<u8>, Option<TxOffload>);

/// The neighbour cache and the transmit queue.
#[derive(Debug)]
pub(crate) struct Link {
    arp: ArpCache<Parked>,
    tx: TxQueue,
    pub counters: LinkCounters,
}

impl Link {
    pub fn new(config: ArpConfig) -> Link {
        Link {
            arp: ArpCache::new(config),
            tx: TxQueue::default(),
            counters: LinkCounters::default(),
        }
    }

    pub fn count_tx_drop(&mut self, reason: TxDrop) {
        self.counters.tx_drops[reason as usize] += 1;
    }

    /// An empty frame buffer, recycled when one is spare.
    pub fn buffer(&mut self) -> Vec<u8> {
        self.tx.buffer()
    }

    /// Returns a buffer that will not be sent.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.tx.recycle(buf)
    }

    /// RFC 826, "Packet Reception", for Ethernet/IPv4 only.
    pub fn receive_arp(
        &mut self,
        now: Instant,
        cfg: &Config,
        payload: &[u8],
    ) -> Result<(), RxDrop> {
        let arp = ArpRepr::parse(payload).map_err(|e| match e {
            WireError::Unsupported => RxDrop::ArpUnsupported,
            _ => RxDrop::ArpMalformed,
        })?;
        let ours = cfg.addr;
        if arp.sender_ip == ours && arp.sender_mac != cfg.mac {
            warn!("address conflict: {} claims {ours}", arp.sender_mac);
            return Err(RxDrop::ArpBadSender);
        }
        if !arp.sender_mac.is_unicast() || !cfg.is_host_address(arp.sender_ip) {
            // An RFC 5227 probe (sender 0.0.0.0) for our address still deserves an answer,
            // so the prober learns the address is taken; nothing is learned from it.
            if arp.sender_ip.is_unspecified()
                && arp.sender_mac.is_unicast()
                && arp.target_ip == ours
            {
                if arp.operation == ArpOperation::Request {
                    let to = arp.sender_mac;
                    self.send_arp(cfg, ArpOperation::Reply, to, to, arp.sender_ip);
                }
                return Ok(());
            }
            return Err(RxDrop::ArpBadSender);
        }
        let for_us = arp.target_ip == ours;
        // Merge step: update an existing entry; add one only if we are the target.
        let learned = self.arp.learn(now, arp.sender_ip, arp.sender_mac, for_us);
        if learned {
            self.flush_arp_queue(cfg, arp.sender_ip);
        }
        if !for_us {
            return if learned {
                Ok(())
            } else {
                Err(RxDrop::ArpNotForUs)
            };
        }
        if arp.operation == ArpOperation::Request {
            let to = arp.sender_mac;
            self.send_arp(cfg, ArpOperation::Reply, to, to, arp.sender_ip);
        }
        Ok(())
    }

    /// Moves the packets that waited for `ip` to the transmit queue.
    fn flush_arp_queue(&mut self, cfg: &Config, ip: Ipv4Addr) {
        let (mac, ready) = self.arp.take_ready(ip);
        if let Some(mac) = mac {
            for (frame, offload) in ready {
                self.finish_frame(cfg, frame, offload, mac, EtherType::Ipv4);
            }
        }
    }

    /// Emits an ARP packet from us: `op` to Ethernet `dst`, about `target_mac`/`target_ip`.
    fn send_arp(
        &mut self,
        cfg: &Config,
        op: ArpOperation,
        dst: MacAddr,
        target_mac: MacAddr,
        target_ip: Ipv4Addr,
    ) {
        let mut buf = self.tx.buffer();
        buf.resize(wire::ethernet::HEADER_LEN + wire::arp::PACKET_LEN, 0);
        let repr = ArpRepr {
            operation: op,
            sender_mac: cfg.mac,
            sender_ip: cfg.addr,
            target_mac,
            target_ip,
        };
        repr.emit(&mut buf[wire::ethernet::HEADER_LEN..]);
        match op {
            ArpOperation::Request => self.counters.arp_requests_sent += 1,
            ArpOperation::Reply => self.counters.arp_replies_sent += 1,
        }
        self.finish_frame(cfg, buf, None, dst, EtherType::Arp);
    }

    /// Resolves the next hop of an IPv4 frame and queues it, or parks it behind ARP.
    /// `frame` has room for the Ethernet header, which is written here; `next_hop` None
    /// means link broadcast. `offload` is the work the frame leaves to the link.
    pub fn send_ipv4_frame(
        &mut self,
        now: Instant,
        cfg: &Config,
        frame: Vec<u8>,
        offload: Option<TxOffload>,
        next_hop: Option<Ipv4Addr>,
    ) {
        let Some(hop) = next_hop else {
            self.finish_frame(cfg, frame, offload, MacAddr::BROADCAST, EtherType::Ipv4);
            return;
        };
        let lookup = self.arp.lookup(now, hop);
        for _ in 0..self.arp.take_evicted_packets() {
            self.count_tx_drop(TxDrop::ArpTableFull);
        }
        match lookup {
            Lookup::Resolved { mac, refresh } => {
                self.finish_frame(cfg, frame, offload, mac, EtherType::Ipv4);
                if refresh {
                    self.send_arp(cfg, ArpOperation::Request, mac, MacAddr::ZERO, hop);
                }
            }
            Lookup::Pending { request } => {
                if let Some((old, _)) = self.arp.enqueue(hop, (frame, offload)) {
                    self.count_tx_drop(TxDrop::ArpQueueFull);
                    self.tx.recycle(old);
                }
                if request {
                    let to = MacAddr::BROADCAST;
                    self.send_arp(cfg, ArpOperation::Request, to, MacAddr::ZERO, hop);
                }
            }
            Lookup::Failed => {
                self.count_tx_drop(TxDrop::ArpUnresolved);
                self.tx.recycle(frame);
            }
            Lookup::TableFull => {
                self.count_tx_drop(TxDrop::ArpTableFull);
                self.tx.recycle(frame);
            }
        }
    }

    fn finish_frame(
        &mut self,
        cfg: &Config,
        mut frame: Vec<u8>,
        offload: Option<TxOffload>,
        dst: MacAddr,
        ty: EtherType,
    ) {
        EthernetRepr {
            dst,
            src: cfg.mac,
            ethertype: ty,
        }
        .emit(&mut frame);
        if !self.tx.push(frame, offload) {
            self.count_tx_drop(TxDrop::TxQueueFull);
        }
    }

    /// ARP retries and expiry.
    pub fn handle_timeout(&mut self, now: Instant, cfg: &Config) {
        let mut requests: heapless::Vec<arp::Request, { arp::CACHE_SIZE }> = heapless::Vec::new();
        let mut unresolved = 0;
        self.arp.handle_timeout(
            now,
            |r| {
                // One request per entry at most, and the Vec holds as many as the table.
                let _ = requests.push(r);
            },
            |buf| {
                unresolved += 1;
                drop(buf);
            },
        );
        for _ in 0..unresolved {
            self.count_tx_drop(TxDrop::ArpUnresolved);
        }
        for r in requests {
            let op = ArpOperation::Request;
            self.send_arp(cfg, op, r.dst_mac, MacAddr::ZERO, r.target_ip);
        }
    }

    /// When ARP next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.arp.poll_timeout()
    }

    /// Hands waiting frames to `emit`, oldest first, while it takes them; returns how
    /// many it took.
    pub fn transmit_while(&mut self, emit: impl FnMut(&[u8], Option<&TxOffload>) -> bool) -> usize {
        let (frames, bytes) = self.tx.drain_while(emit);
        self.counters.tx_frames += frames as u64;
        self.counters.tx_bytes += bytes as u64;
        frames
    }

    /// Frames waiting for [`Link::transmit_while`].
    pub fn pending(&self) -> usize {
        self.tx.len()
    }

    /// A snapshot of the ARP cache.
    pub fn arp_entries(&self) -> Vec<EntryInfo> {
        self.arp.entries()
    }
}

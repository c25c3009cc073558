//! ARP cache behaviour on a virtual clock.

use super::*;
use crate::time::Duration;

const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER_MAC: MacAddr = MacAddr([0x22, 0, 0, 0, 0, 1]);

fn cache() -> ArpCache<u32> {
    ArpCache::new(ArpConfig::default())
}

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

#[test]
fn miss_requests_once_then_waits() {
    let mut c = cache();
    assert_eq!(c.lookup(t(0), PEER), Lookup::Pending { request: true });
    assert_eq!(c.lookup(t(10), PEER), Lookup::Pending { request: false });
    assert_eq!(c.poll_timeout(), Some(t(1000)));
}

#[test]
fn reply_resolves_and_releases_queued_packets_in_order() {
    let mut c = cache();
    c.lookup(t(0), PEER);
    assert_eq!(c.enqueue(PEER, 1), None);
    assert_eq!(c.enqueue(PEER, 2), None);
    assert!(c.learn(t(5), PEER, PEER_MAC, true));
    assert_eq!(c.take_ready(PEER), (Some(PEER_MAC), vec![1, 2]));
    assert_eq!(
        c.lookup(t(6), PEER),
        Lookup::Resolved {
            mac: PEER_MAC,
            refresh: false
        }
    );
    assert_eq!(c.queued(), 0);
}

#[test]
fn per_address_queue_drops_the_oldest() {
    let mut c = ArpCache::new(ArpConfig {
        queue_per_address: 3,
        ..ArpConfig::default()
    });
    c.lookup(t(0), PEER);
    for p in 1..=3 {
        assert_eq!(c.enqueue(PEER, p), None);
    }
    assert_eq!(c.enqueue(PEER, 4), Some(1));
    c.learn(t(1), PEER, PEER_MAC, true);
    assert_eq!(c.take_ready(PEER).1, vec![2, 3, 4]);
}

#[test]
fn total_queue_is_bounded() {
    let mut c = cache();
    for i in 0..QUEUE_TOTAL as u32 + 10 {
        let ip = Ipv4Addr::from(0x0a00_0100 + i);
        c.enqueue(ip, i);
    }
    assert_eq!(c.queued(), QUEUE_TOTAL);
}

#[test]
fn retries_at_the_rate_limit_then_gives_up_and_drops_waiting_packets() {
    let mut c = cache();
    c.lookup(t(0), PEER); // request 1 at t=0
    c.enqueue(PEER, 7);
    let mut requests = vec![];
    let mut dropped = vec![];
    for ms in (0..=5000).step_by(100) {
        c.handle_timeout(t(ms), |r| requests.push((ms, r)), |p| dropped.push((ms, p)));
    }
    // Requests 2 and 3 at 1 s and 2 s; gives up at 3 s.
    let times: Vec<u64> = requests.iter().map(|(ms, _)| *ms).collect();
    assert_eq!(times, vec![1000, 2000]);
    assert!(requests
        .iter()
        .all(|(_, r)| r.dst_mac == MacAddr::BROADCAST && r.target_ip == PEER));
    assert_eq!(dropped, vec![(3000, 7)]);
    // Failed: new traffic is dropped at once, without a new request, until the hold ends.
    let hold_end = 3000 + ArpConfig::default().failed_hold.total_millis();
    assert_eq!(c.lookup(t(hold_end - 1), PEER), Lookup::Failed);
    c.handle_timeout(t(hold_end), |_| {}, |_| {});
    assert_eq!(
        c.lookup(t(hold_end), PEER),
        Lookup::Pending { request: true }
    );
}

#[test]
fn entries_expire_and_are_refreshed_before_expiry() {
    let cfg = ArpConfig::default();
    let mut c = cache();
    c.learn(t(0), PEER, PEER_MAC, true);
    let expiry = cfg.lifetime.total_millis();
    let refresh_from = expiry - cfg.refresh_before.total_millis();
    assert_eq!(
        c.lookup(t(refresh_from - 1), PEER),
        Lookup::Resolved {
            mac: PEER_MAC,
            refresh: false
        }
    );
    // Within the refresh window: one unicast refresh, not one per packet.
    assert_eq!(
        c.lookup(t(refresh_from), PEER),
        Lookup::Resolved {
            mac: PEER_MAC,
            refresh: true
        }
    );
    assert_eq!(
        c.lookup(t(refresh_from + 1), PEER),
        Lookup::Resolved {
            mac: PEER_MAC,
            refresh: false
        }
    );
    assert_eq!(c.entries()[0].state, EntryState::Refreshing);
    // A reply renews the lifetime.
    c.learn(t(refresh_from + 2), PEER, PEER_MAC, false);
    c.handle_timeout(t(expiry + 1), |_| {}, |_| {});
    assert_eq!(c.entries().len(), 1);
    // Without one, the entry is forgotten at expiry.
    c.handle_timeout(t(refresh_from + 2 + expiry), |_| {}, |_| {});
    assert!(c.entries().is_empty());
}

#[test]
fn gratuitous_arp_updates_but_never_creates() {
    let mut c = cache();
    let new_mac = MacAddr([0x22, 0, 0, 0, 0, 9]);
    assert!(!c.learn(t(0), PEER, new_mac, false));
    assert!(c.entries().is_empty());
    c.learn(t(0), PEER, PEER_MAC, true);
    assert!(c.learn(t(1), PEER, new_mac, false));
    assert_eq!(
        c.lookup(t(2), PEER),
        Lookup::Resolved {
            mac: new_mac,
            refresh: false
        }
    );
}

#[test]
fn full_table_evicts_the_resolved_entry_closest_to_expiry() {
    let mut c = cache();
    for i in 0..CACHE_SIZE as u32 {
        c.learn(t(i.into()), Ipv4Addr::from(0x0a00_1000 + i), PEER_MAC, true);
    }
    // The entry closest to expiry (the first learned) makes room.
    assert_eq!(c.lookup(t(100), PEER), Lookup::Pending { request: true });
    assert_eq!(c.entries().len(), CACHE_SIZE);
    assert!(!c
        .entries()
        .iter()
        .any(|e| e.ip == Ipv4Addr::from(0x0a00_1000)));

    let _ = Duration::ZERO;
}

#[test]
fn at_most_half_the_table_resolves_at_once_and_the_oldest_resolution_makes_room() {
    // Half the table resolving, with a packet waiting on each ...
    let mut c = cache();
    let ip = |i: u32| Ipv4Addr::from(0x0a00_0100 + i);
    for i in 0..(CACHE_SIZE / 2) as u32 {
        assert_eq!(
            c.lookup(t(i.into()), ip(i)),
            Lookup::Pending { request: true }
        );
        assert_eq!(c.enqueue(ip(i), i), None);
    }
    // ... a known neighbour, learned from its request ...
    assert!(c.learn(t(50), PEER, PEER_MAC, true));
    // ... and one more address to resolve: the first one gives way, with its packet.
    let next = (CACHE_SIZE / 2) as u32;
    assert_eq!(c.lookup(t(60), ip(next)), Lookup::Pending { request: true });
    assert_eq!(c.take_evicted_packets(), 1);
    assert_eq!(c.take_evicted_packets(), 0);
    assert!(!c.entries().iter().any(|e| e.ip == ip(0)));
    assert_eq!(c.queued(), CACHE_SIZE / 2 - 1);
    // A flood of addresses to resolve churns that half only: the neighbour stays.
    for i in 0..10_000u32 {
        c.lookup(t(100 + u64::from(i)), Ipv4Addr::from(0x0a01_0000 + i));
    }
    let pending = c.entries().iter().filter(|e| e.mac.is_none()).count();
    assert_eq!(pending, CACHE_SIZE / 2);
    assert!(matches!(c.lookup(t(20_000), PEER), Lookup::Resolved { .. }));
    assert_eq!(c.queued(), 0, "every waiting packet went with its entry");
}

#[test]
fn a_flood_of_new_senders_evicts_its_own_kind_never_a_neighbour_we_talk_to() {
    let mut c = cache();
    // The neighbour we talk to, learned first and so closest to expiry.
    c.learn(t(0), PEER, PEER_MAC, true);
    assert!(matches!(c.lookup(t(1), PEER), Lookup::Resolved { .. }));
    // 10,000 made-up senders ask for us, each one creating an entry.
    for i in 0..10_000u32 {
        let sender = Ipv4Addr::from(0x0a01_0000 + i);
        c.learn(
            t(2 + u64::from(i)),
            sender,
            MacAddr([2, 0, 0, 0, 0, 9]),
            true,
        );
        assert!(c.entries().len() <= CACHE_SIZE);
    }
    assert!(matches!(c.lookup(t(20_000), PEER), Lookup::Resolved { .. }));
    assert_eq!(c.entries().len(), CACHE_SIZE);
    // Among neighbours we use, the least recently used goes first.
    let mut used = cache();
    for i in 0..CACHE_SIZE as u32 {
        let ip = Ipv4Addr::from(0x0a00_1000 + i);
        used.learn(t(0), ip, PEER_MAC, true);
        used.lookup(t(u64::from(CACHE_SIZE as u32 - i)), ip);
    }
    used.learn(t(100), PEER, PEER_MAC, true);
    let last = Ipv4Addr::from(0x0a00_1000 + CACHE_SIZE as u32 - 1);
    assert!(
        !used.entries().iter().any(|e| e.ip == last),
        "used least lately: evicted"
    );
    assert!(used.entries().iter().any(|e| e.ip == PEER));
}

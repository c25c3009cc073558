# shellcheck shell=bash
# Random loss on one device of a namespace, both directions, for scripts/bench.sh
# (sourced, not run). This kernel has no netem, and an iptables DROP in OUTPUT is not a
# loss: the sending socket sees the error and resends at once. So incoming packets are
# dropped by nftables before anything sees them, and outgoing ones are marked and routed
# to a dead device, which discards them as a cable would: a veth whose peer is down (the
# dummy driver is missing on some kernels), with a permanent neighbour entry so no ARP is
# tried. The sender sees a successful transmit, as on a real lossy link. Offloads go off
# first, so a lost packet is one segment, not a 64 KiB super-packet.

# offloads NS DEV on|off: GSO, GRO and TSO of DEV. Both ends of a veth need them off: a
# veth hands a super-packet from its peer through whole.
offloads() {
	ip netns exec "$1" ethtool -K "$2" gso "$3" gro "$3" tso "$3" >/dev/null 2>&1 || true
}

# loss_on NS DEV PERCENT: starts losing PERCENT of the TCP packets DEV receives and sends.
loss_on() {
	local ns=$1 dev=$2 percent=$3
	local per10k
	per10k=$(awk -v p="$percent" 'BEGIN { printf "%d", p * 100 + 0.5 }')
	offloads "$ns" "$dev" off
	if ! ip -n "$ns" link show dead0 >/dev/null 2>&1; then
		ip -n "$ns" link add dead0 type veth peer name dead1
		ip -n "$ns" link set dead0 up
		ip -n "$ns" neigh replace 10.0.0.2 lladdr 02:00:00:00:00:02 dev dead0 nud permanent
		ip -n "$ns" route add 10.0.0.0/24 dev dead0 table 42
		ip -n "$ns" rule add fwmark 0x42 table 42 priority 100
	fi
	ip netns exec "$ns" nft -f - <<NFT
table ip bench_loss
delete table ip bench_loss
table ip bench_loss {
	counter in_seen {}
	counter in_dropped {}
	counter out_seen {}
	counter out_diverted {}
	chain inbound {
		type filter hook prerouting priority -300; policy accept;
		iifname "$dev" ip protocol tcp counter name "in_seen"
		iifname "$dev" ip protocol tcp numgen random mod 10000 < $per10k counter name "in_dropped" drop
	}
	chain outbound {
		type route hook output priority -150; policy accept;
		oifname "$dev" ip protocol tcp counter name "out_seen"
		oifname "$dev" ip protocol tcp numgen random mod 10000 < $per10k counter name "out_diverted" meta mark set 0x42
	}
}
NFT
}

# loss_counts NS: prints "in_seen in_dropped out_seen out_diverted" (packets) since
# loss_on, then what dead0 really swallowed (its tx_dropped count), to cross-check.
loss_counts() {
	local ns=$1 name counts=()
	for name in in_seen in_dropped out_seen out_diverted; do
		counts+=("$(ip netns exec "$ns" nft list counter ip bench_loss "$name" |
			sed -n 's/.*packets \([0-9]*\).*/\1/p')")
	done
	counts+=("$(ip netns exec "$ns" cat /sys/class/net/dead0/statistics/tx_dropped)")
	echo "${counts[*]}"
}

# loss_off NS DEV: no more loss; offloads back on.
loss_off() {
	local ns=$1 dev=$2
	ip netns exec "$ns" nft delete table ip bench_loss 2>/dev/null || true
	offloads "$ns" "$dev" on
}

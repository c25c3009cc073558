#!/usr/bin/env bash
# Create the TAP device netstack runs on, owned by you, so `cargo run` needs no root.
# Safe to run again: whatever is already in place is left alone.
set -euo pipefail

prog=$(basename "$0")
args="$*"

# The stack's side of the link lives inside netstack (see `netstack --help`); the host
# only ever gets the other end.
readonly STACK_ADDR=10.0.0.2
readonly DEFAULT_HOST_ADDR=10.0.0.1/24

name=tap0
user=${SUDO_USER:-$(id -un)}
host_addr=$DEFAULT_HOST_ADDR
netns=
queues=1

usage() {
	cat <<EOF
Usage: sudo $0 [--name NAME] [--user USER] [--host-addr ADDR/LEN] [--netns NS] [--queues N]

Create a persistent TAP device for netstack, owned by USER so netstack can open it
without root, give the host end ADDR/LEN, turn IPv6 off on it (quiet captures), and
bring it up.

  --name NAME          TAP device name (default: tap0)
  --user USER          owner of the device (default: \$SUDO_USER, else you; now: $user)
  --host-addr A/N      host-side address (default: $DEFAULT_HOST_ADDR)
  --netns NS           do everything inside network namespace NS, creating it if
                       missing; the host's own interfaces are not touched
  --queues N           make a multi-queue TAP, for \`netstack serve --queues N\`
                       (default: 1, an ordinary TAP)
  -h, --help           show this help

Idempotent: re-running with the same options changes nothing.
Undo with: sudo scripts/teardown-tap.sh (with the same --name/--netns).
EOF
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

# Option values must exist; "--name --user" is a mistake, not a device called "--user".
need_value() {
	[[ $# -ge 2 && -n $2 && $2 != -* ]] || die "$1 needs a value (see --help)"
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--name) need_value "$@"; name=$2; shift 2 ;;
	--user) need_value "$@"; user=$2; shift 2 ;;
	--host-addr) need_value "$@"; host_addr=$2; shift 2 ;;
	--netns) need_value "$@"; netns=$2; shift 2 ;;
	--queues) need_value "$@"; queues=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

[[ $queues =~ ^[1-9][0-9]*$ ]] || die "--queues needs a whole number from 1, not '$queues'"

[[ $EUID -eq 0 ]] || die "must be run as root, e.g.: sudo $0${args:+ $args}"

[[ $host_addr == */* ]] || die "--host-addr needs a prefix length, e.g. $DEFAULT_HOST_ADDR"
host_ip=${host_addr%/*}
[[ $host_ip != "$STACK_ADDR" ]] ||
	die "$STACK_ADDR is the stack's address and must not be assigned to the host"
uid=$(id -u "$user" 2>/dev/null) || die "no such user: $user"

# `ip` and friends, aimed at the namespace when --netns is given.
ipc=(ip)
[[ -z $netns ]] || ipc+=(-n "$netns")
in_ns() {
	if [[ -n $netns ]]; then
		ip netns exec "$netns" "$@"
	else
		"$@"
	fi
}
where=${netns:+ in namespace $netns}
done_list=()

# /dev/net/tun is shared by all namespaces.
if [[ ! -c /dev/net/tun ]]; then
	if command -v modprobe >/dev/null; then
		modprobe tun 2>/dev/null || true
	fi
	[[ -c /dev/net/tun ]] ||
		die "/dev/net/tun is missing and 'modprobe tun' did not create it (in a container: mknod /dev/net/tun c 10 200)"
fi
# Distributions make it 0666 (opening it is harmless; creating devices needs root). Some
# containers leave it 0600, and then only root can attach even to a TAP it owns.
if [[ $uid -ne 0 && $(stat -c %a /dev/net/tun) != *6 ]]; then
	echo "warning: /dev/net/tun is mode $(stat -c %a /dev/net/tun), so $user cannot open it;" \
		"'chmod 0666 /dev/net/tun' is the usual setting" >&2
fi

if [[ -n $netns ]]; then
	if ip netns list | awk '{print $1}' | grep -qxF -- "$netns"; then
		echo "namespace $netns: already exists"
	else
		ip netns add "$netns"
		done_list+=("created network namespace $netns")
	fi
	"${ipc[@]}" link set lo up
fi

sysfs=/sys/class/net/$name
if "${ipc[@]}" link show dev "$name" >/dev/null 2>&1; then
	# Only ever reuse a TAP: anything else with this name is not ours to change.
	flags=$(in_ns cat "$sysfs/tun_flags" 2>/dev/null) ||
		die "$name exists$where but is not a TUN/TAP device; pick another --name"
	# IFF_TAP = 0x0002 (linux/if_tun.h)
	((flags & 0x2)) || die "$name exists$where but is a TUN, not a TAP; remove it first"
	# IFF_MULTI_QUEUE = 0x0100
	((queues == 1 || flags & 0x100)) ||
		die "$name exists$where with one queue; run scripts/teardown-tap.sh${netns:+ --netns $netns} first to make it with --queues $queues"
	owner=$(in_ns cat "$sysfs/owner")
	[[ $owner == "$uid" ]] ||
		die "$name exists$where but is owned by uid $owner, not $user ($uid); run scripts/teardown-tap.sh${netns:+ --netns $netns} first"
	echo "$name: already exists$where, owned by $user"
else
	mq=()
	((queues == 1)) || mq=(multi_queue)
	"${ipc[@]}" tuntap add dev "$name" mode tap user "$user" "${mq[@]}"
	done_list+=("created TAP $name$where, owned by $user${mq:+, multi-queue}")
fi

# Before the link goes up, so the kernel never sends router solicitations or DAD probes.
ipv6_knob=/proc/sys/net/ipv6/conf/$name/disable_ipv6
if in_ns test -w "$ipv6_knob"; then
	if [[ $(in_ns cat "$ipv6_knob") == 1 ]]; then
		echo "$name: IPv6 already off"
	else
		echo 1 | in_ns tee "$ipv6_knob" >/dev/null
		done_list+=("turned IPv6 off on $name")
	fi
else
	echo "$name: no IPv6 on this kernel, nothing to turn off"
fi

if "${ipc[@]}" -4 -o addr show dev "$name" | grep -qF " inet $host_addr "; then
	echo "$name: already has $host_addr"
else
	# A second interface on the same subnet would steal the stack's traffic.
	others=$("${ipc[@]}" -4 route show root "$host_addr" | grep -vw "dev $name" || true)
	[[ -z $others ]] ||
		echo "warning: another route$where already covers $host_addr and may win: $others" >&2
	"${ipc[@]}" addr add "$host_addr" dev "$name"
	done_list+=("assigned $host_addr to $name")
fi
stray=$("${ipc[@]}" -4 -o addr show dev "$name" | awk '{print $4}' | grep -vxF -- "$host_addr" || true)
[[ -z $stray ]] || echo "note: $name also has ${stray//$'\n'/, } (left alone)"
if [[ -n $("${ipc[@]}" -4 -o addr show to "$STACK_ADDR/32") ]]; then
	echo "warning: $STACK_ADDR is assigned to an interface$where; the kernel will answer for it instead of netstack" >&2
fi

if "${ipc[@]}" link show dev "$name" | grep -q '[<,]UP[,>]'; then
	echo "$name: already up"
else
	"${ipc[@]}" link set dev "$name" up
	done_list+=("brought $name up")
fi

echo
if [[ ${#done_list[@]} -eq 0 ]]; then
	echo "Nothing to do: $name was already set up$where."
else
	echo "Done:"
	printf '  - %s\n' "${done_list[@]}"
fi

run_opts=
[[ $name == tap0 ]] || run_opts=" -- --iface $name"
if [[ $host_addr != "$DEFAULT_HOST_ADDR" ]]; then
	echo
	echo "netstack defaults to $STACK_ADDR/24 with gateway ${DEFAULT_HOST_ADDR%/*}; pass"
	echo "--addr and --gateway $host_ip so it sits on the same subnet as $host_addr."
fi
echo
echo "The stack's address, $STACK_ADDR, belongs to netstack: do NOT assign it to the host."
echo
echo "Next:"
if [[ -z $netns ]]; then
	echo "  cargo run$run_opts      # starts netstack; no root needed"
	echo "  ping $STACK_ADDR     # from another shell"
else
	echo "  netstack must run inside the namespace too:"
	echo "  sudo ip netns exec $netns cargo run$run_opts"
	echo "    (or: cargo build && sudo ip netns exec $netns target/debug/netstack${run_opts# --})"
	echo "  sudo ip netns exec $netns ping $STACK_ADDR    # from another shell"
fi
echo "Undo: sudo scripts/teardown-tap.sh${netns:+ --netns $netns}${run_opts:+ --name $name}"

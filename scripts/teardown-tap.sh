#!/usr/bin/env bash
# Undo scripts/setup-tap.sh: remove the TAP device (and, with --netns, the namespace).
# Safe to run again: whatever is already gone is skipped.
set -euo pipefail

prog=$(basename "$0")
args="$*"
name=tap0
netns=

usage() {
	cat <<EOF
Usage: sudo $0 [--name NAME] [--netns NS]

Remove the TAP device made by scripts/setup-tap.sh.

  --name NAME   TAP device name (default: tap0)
  --netns NS    the device lives in network namespace NS; delete NS as well
  -h, --help    show this help

Idempotent: anything already gone is skipped. A device with this name that is not a
TUN/TAP is never touched.
EOF
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

need_value() {
	[[ $# -ge 2 && -n $2 && $2 != -* ]] || die "$1 needs a value (see --help)"
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--name) need_value "$@"; name=$2; shift 2 ;;
	--netns) need_value "$@"; netns=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

[[ $EUID -eq 0 ]] || die "must be run as root, e.g.: sudo $0${args:+ $args}"

ipc=(ip)
in_ns=()
if [[ -n $netns ]]; then
	if ! ip netns list | awk '{print $1}' | grep -qxF -- "$netns"; then
		echo "namespace $netns: not there, nothing to do"
		exit 0
	fi
	ipc+=(-n "$netns")
	in_ns=(ip netns exec "$netns")
fi
where=${netns:+ in namespace $netns}

if "${ipc[@]}" link show dev "$name" >/dev/null 2>&1; then
	# Refuse to delete anything that is not a TUN/TAP (a typo like --name eth0).
	"${in_ns[@]}" test -e "/sys/class/net/$name/tun_flags" ||
		die "$name$where is not a TUN/TAP device; not touching it"
	# A running netstack loses its device here; its reads start failing.
	"${ipc[@]}" link del dev "$name"
	echo "removed $name$where"
else
	echo "$name$where: not there"
fi

if [[ -n $netns ]]; then
	pids=$(ip netns pids "$netns" | tr '\n' ' ')
	ip netns del "$netns"
	echo "deleted namespace $netns"
	[[ -z ${pids// /} ]] ||
		echo "note: processes still run in it (pids: ${pids% }); it lingers until they exit" >&2
fi

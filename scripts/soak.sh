#!/usr/bin/env bash
# The long versions of the hostile-input and soak tests, which CI runs smaller (see README
# "Hostile input and soak"): 100,000 connections opened and closed against the echo
# service, in memory on a virtual clock and through a TAP against `netstack serve`, each
# reporting RSS before and after; then the attack tests (SYN flood, blind injection,
# malformed segments, fragments, ARP flood, greedy peers), printing peak RSS and table
# sizes. Release builds. The TAP part needs root (it makes its own network namespace,
# so the host's network is untouched); without root it is skipped, saying so.
#
#   scripts/soak.sh [CONNECTIONS]      # default 100000
set -euo pipefail

cd "$(dirname "$0")/.."
n=${1:-100000}

echo "==== in memory: $n connections"
SOAK_CONNECTIONS=$n cargo test --release -p netstack-core --test soak -- --nocapture
echo "==== in memory: attacks"
for t in hostile_syn_flood hostile_injection hostile_segments hostile_fragments hostile_arp hostile_peers; do
	cargo test --release -p netstack-core --test "$t" -- --nocapture --test-threads 1
done
echo "==== through TAP: $n connections and a SYN flood against netstack serve"
SOAK_TAP_CONNECTIONS=$n cargo test --release -p netstack --test hostile_serve -- \
	--nocapture --test-threads 1

#!/usr/bin/env bash
# Records the fuzz corpus's real traffic again: the small kernel conversations of
# tests/tests/fuzz_captures.rs (handshake, data, loss, close, resets, simultaneous open),
# each captured on a TAP in a private network namespace, into fuzz/captures/*.pcap.
# Needs root (the namespaces). Then turn them into seeds with
#   (cd fuzz && cargo run -p netstack-fuzz-harness --bin fuzz-seeds -- corpus)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
NETSTACK_FUZZ_CAPTURES="$root/fuzz/captures" \
	cargo test --manifest-path "$root/Cargo.toml" -p netstack-tests --test fuzz_captures
ls -l "$root/fuzz/captures"

#!/usr/bin/env bash
# Lists at scale (docs/operations.md, "Sizing"): a store of synthetic lists of 10M entries
# each (5M PDQ + 5M MD5), grown to 10M, 50M and 100M entries. At each size: the import time
# of each new list (parse, version file, index, snapshot), the snapshot size, then in a fresh
# process the cold load (page cache dropped when permitted), resident memory, PDQ queries/s
# on one core at distance 31 through the full matcher (checked against a linear scan on a
# sample), MD5 lookups/s, and a hot reload: 10,000 new entries imported into a 10M list and
# the time from the import's end to them matching.
# Usage: benches/lists_scale.sh [STORE] [SIZES] [random|clustered]
#        (default: a temporary store, "10000000 50000000 100000000", random)
# Needs ~25 GB of disk at 100M (version files and snapshots) and ~20 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-}
sizes=${2:-"10000000 50000000 100000000"}
kind=${3:-random}
if [ -z "$store" ]; then store=$(mktemp -d); trap 'rm -rf "$store"' EXIT; fi
cargo build --release --locked -p hashline-lists --example lists_scale >&2
bin=target/release/examples/lists_scale
for n in $sizes; do
  echo "== $n entries ($kind)"
  /usr/bin/time -f 'import process peak RSS: %M KB' "$bin" import "$store" "$n" "$kind"
  sync
  if echo 3 2>/dev/null > /proc/sys/vm/drop_caches; then echo "page cache dropped: cold read"; else echo "page cache not dropped (not permitted): warm read"; fi
  /usr/bin/time -f 'load process peak RSS: %M KB' "$bin" load "$store" "$n" "$kind"
done

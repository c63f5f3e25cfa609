#!/usr/bin/env bash
# Retroactive matching at scale (docs/retro.md): a journal of N synthetic rows (default 10M,
# random PDQ and digests over 20 days), its index built once as the long-running
# `retro --from-kafka` keeps it (time, resident memory against the raw hashes), then a list
# update of 10,000 new PDQ entries, 100 of them 4 bits from journaled uploads: time from the
# import to every retro report committed, on one core.
# Usage: benches/retro_scale.sh [ROWS] [DIR]   (~5 GB of disk at 10M rows)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
dir=${2:-}
if [ -z "$dir" ]; then dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT; fi
cargo build --release --locked -p hashline-retro --example retro_scale >&2
/usr/bin/time -f 'peak RSS: %M KB' taskset -c 0 target/release/examples/retro_scale "$dir" "$rows"

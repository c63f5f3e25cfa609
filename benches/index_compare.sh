#!/usr/bin/env bash
# hashline's PDQ index against FAISS (as HMA uses it) on identical generated data, one thread:
# 1M and 10M entries, random and clustered (10 % in near-duplicate clusters), 10,000 queries
# (40 % planted at 0–31 bits, 20 % at 32–40 bits, 40 % random), radius 31.
# Usage: benches/index_compare.sh [SIZES] [FAISS_QUERY_LIMIT]   (default "1000000 10000000", all)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-"1000000 10000000"}
limit=${2:-}
py=${HASHLINE_PEERS_PY:-/tmp/hashline-peers/bin/python}
[ -x "$py" ] || { bash ../shared/tools/setup-peers.sh /tmp/hashline-peers >&2; py=/tmp/hashline-peers/bin/python; }
cargo build --release --locked -p hashline-lists --example index_bench >&2
data=$(mktemp -d); trap 'rm -rf "$data"' EXIT
for n in $sizes; do
  for kind in random clustered; do
    /usr/bin/time -f '{"hashline_max_rss_kb": %M}' target/release/examples/index_bench "$n" "$kind" "$data" 2>"$data/rss"
    cat "$data/rss"
    "$py" benches/index_faiss.py "$data" $limit
  done
done

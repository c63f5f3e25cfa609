#!/usr/bin/env bash
# End-to-end throughput of `hashline run` through a local broker (tansu, SQLite engine) against
# `hashline hash` on the same files, with 1 and 2 instances (2 cores: 1 hashing thread each).
# Files: upload-sized JPEGs made from the benchmark corpus by benches/make_uploads.py (the
# full-size originals, up to 24 Mpx, measure the test broker rather than hashline), or any folder.
# Usage: benches/pipeline.sh [FOLDER] [COPIES]   (default /tmp/hashline-uploads, 6)
# Needs tansu (see ../shared/kafka/README.md) and Python confluent-kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
folder=${1:-/tmp/hashline-uploads}; copies=${2:-6}
if [ ! -d "$folder" ]; then
  [ -d /tmp/hashline-corpus/all ] || bash ../shared/corpus/install.sh >&2
  py=${HASHLINE_PEERS_PY:-/tmp/hashline-peers/bin/python}
  [ -x "$py" ] || bash ../shared/tools/setup-peers.sh /tmp/hashline-peers >&2
  "$py" benches/make_uploads.py /tmp/hashline-corpus/all "$folder" >&2
fi
cargo build --release --locked -p hashline >&2
bin=$PWD/target/release/hashline
work=$(mktemp -d); trap 'kill $broker 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work" && exec tansu broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
   --storage-engine sqlite://tansu.db >broker.log 2>&1) & broker=$!
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
for t in hashline.uploads:4 hashline.matches:1 hashline.dead-letter:1; do
  tansu topic create "${t%%:*}" --partitions "${t##*:}" --broker "tcp://127.0.0.1:$port" >/dev/null
done
# An empty list store: every upload is hashed and matched, nothing is reported (the report
# path is measured by the tests; here it is the hashing pipeline).
echo "pdq 0000000000000000000000000000000000000000000000000000000000000001" > "$work/l.txt"
"$bin" lists import --store "$work/store" --name bench --format pytx-file "$work/l.txt" >/dev/null
files=$(find -L "$folder" -type f | sort)
n=$(( $(echo "$files" | wc -l) * copies ))
bytes=$(echo "$files" | xargs -d '\n' stat -L -c %s | awk -v c="$copies" '{s+=$1} END {print s*c}')
echo "$files" | python3 -c '
import json, sys
files = [l.strip() for l in sys.stdin if l.strip()]
copies = int(sys.argv[1])
spec = [{"key": f"u{c}-{i}", "headers": {"hashline-upload-id": f"u{c}-{i}"}, "value_file": f} for c in range(copies) for i, f in enumerate(files)]
json.dump(spec, open(sys.argv[2], "w"))' "$copies" "$work/spec.json"
python3 - "$port" "$work/spec.json" <<'PY'
import json, sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": f"127.0.0.1:{sys.argv[1]}", "message.max.bytes": 200_000_000, "linger.ms": 50})
for r in json.load(open(sys.argv[2])):
    p.produce("hashline.uploads", value=open(r["value_file"], "rb").read(), key=r["key"], headers=list(r["headers"].items()))
    p.poll(0)
assert p.flush(120) == 0
PY
echo "$n uploads, $((bytes / 1000000)) MB produced to 4 partitions"

echo "== hashline hash on the same files (1 thread, then 2)"
for j in 1 2; do
  s=$(date +%s.%N); echo "$files" | xargs -d '\n' "$bin" hash -j $j > /dev/null || true; e=$(date +%s.%N)
  python3 -c "print(f'hash -j $j: {($n/$copies)/($e-$s):.2f} files/s')"
done

run_group() {  # instances threads group
  local k=$1 threads=$2 group=$3 ports=() pids=()
  printf '[hash]\nthreads = %s\n[kafka]\nstatistics_interval_ms = 1000\n' "$threads" > "$work/run.toml"
  local s=$(date +%s.%N)
  for i in $(seq "$k"); do
    local mp=$((port + 100 + i)); ports+=("$mp")
    HASHLINE_LOG=warn "$bin" --config "$work/run.toml" run --brokers "127.0.0.1:$port" --group "$group" --store "$work/store" \
      --data-dir "$work/data-$group-$i" --metrics-addr "127.0.0.1:$mp" &
    pids+=("$!")
  done
  local first=0 t0=""
  while :; do
    local total=0
    for mp in "${ports[@]}"; do
      c=$( (curl -s "127.0.0.1:$mp/metrics" || true) | awk '/^hashline_uploads_total\{/ {s+=$2} END {print s+0}')
      total=$((total + ${c%.*}))
    done
    # Steady state: from the first processed upload (after process start and group join).
    if [ -z "$t0" ] && [ "$total" -gt 0 ]; then t0=$(date +%s.%N); first=$total; fi
    [ "$total" -ge "$n" ] && break
    sleep 0.1
  done
  local e=$(date +%s.%N)
  kill -TERM "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true
  python3 -c "print(f'run x$k ($threads thread(s) each): {($n-$first)/($e-$t0):.2f} uploads/s steady, {$n/($e-$s):.2f} uploads/s from process start')"
}
echo "== hashline run through the broker"
run_group 1 1 bench-1a
run_group 1 2 bench-1b
run_group 2 1 bench-2

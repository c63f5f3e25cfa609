#!/usr/bin/env bash
# The match API under sustained load from a second process (wrk) on loopback.
# A store with N synthetic random PDQ and N MD5 entries; `hashline serve`; then
#   /v1/match with batches of 100 PDQ hashes (10 % planted near list entries) and 100 MD5
#   (10 % listed), and /v1/hash?match=true with a 1600x1000 PNG.
# Usage: benches/api_load.sh [N] [SECONDS] [CONNECTIONS]   (default 1000000 20 8)
# Needs wrk (apt-get install wrk). Prints requests/s, p50, p99 and non-2xx counts.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}; secs=${2:-20}; conns=${3:-8}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -p hashline >&2
bin=target/release/hashline
work=$(mktemp -d); trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$n" "$work" <<'PY'
import json, os, random, sys
n, work = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(7)
pdq = [rnd.getrandbits(256) for _ in range(n)]
md5 = [rnd.getrandbits(128) for _ in range(n)]
with open(f"{work}/list.txt", "w") as f:
    for h in pdq: f.write(f"pdq {h:064x}\n")
    for h in md5: f.write(f"md5 {h:032x}\n")
def flip(h, bits):
    for b in rnd.sample(range(256), bits): h ^= 1 << b
    return h
q_pdq = [f"{flip(pdq[rnd.randrange(n)], rnd.randrange(0, 31)):064x}" if i % 10 == 0 else f"{rnd.getrandbits(256):064x}" for i in range(100)]
q_md5 = [f"{md5[rnd.randrange(n)]:032x}" if i % 10 == 0 else f"{rnd.getrandbits(128):032x}" for i in range(100)]
json.dump({"pdq": q_pdq, "md5": q_md5}, open(f"{work}/batch.json", "w"))
PY
"$bin" lists import --store "$work/store" --name synthetic --format pytx-file "$work/list.txt" >&2
token=$("$bin" tokens create --name load --rate 1000000 --data-dir "$work/data" 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HASHLINE_LOG=warn "$bin" serve --store "$work/store" --data-dir "$work/data" --listen "127.0.0.1:$port" &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
echo "== /v1/match, batches of 200 hashes (100 PDQ + 100 MD5), $n+$n entries, $conns connections, ${secs}s"
BODY_FILE="$work/batch.json" TOKEN="$token" wrk -t2 -c"$conns" -d"${secs}s" -s benches/api_match.lua \
  "http://127.0.0.1:$port/v1/match" | tail -1
python3 - "$work/photo.png" <<'PY'
# A benign synthetic 1600x1000 picture (gradients and a checkerboard) as PNG.
import struct, sys, zlib
w, h = 1600, 1000
raw = b"".join(
    b"\0" + bytes(v for x in range(w) for v in ((x * 7 + y * 3) % 256, ((x // 40 + y // 40) % 2) * 200, 255 - x % 256))
    for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
PY
echo "== /v1/hash?match=true, a 1600x1000 PNG, $conns connections, ${secs}s"
BODY_FILE="$work/photo.png" CONTENT_TYPE=image/png TOKEN="$token" wrk -t2 -c"$conns" -d"${secs}s" \
  -s benches/api_match.lua "http://127.0.0.1:$port/v1/hash?match=true" | tail -1

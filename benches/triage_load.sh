#!/usr/bin/env bash
# The analyst triage pages under load (wrk on loopback, same machine): a review queue of
# COPIES x 13 near matches (12 when the README figure was measured; the demo's benign pictures
# scanned from COPIES folders, so every copy is its own upload), one signed-in analyst's
# session, then
#   GET /queue                         (reads up to 5,000 review reports, renders, audits)
#   GET /cases/ID                      (the case page: evidence, related matches, audit)
#   GET /cases/ID/media/preview.png    (decrypt evidence, decode, blur, PNG; audited read)
# and the cost of one login (argon2id). Every page view is fsynced to the audit log first.
# Usage: benches/triage_load.sh [COPIES] [SECONDS] [CONNECTIONS]   (default 150 10 4)
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-150}; secs=${2:-10}; conns=${3:-4}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -p hashline >&2
bin=$PWD/target/release/hashline
work=$(mktemp -d); trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" demo --dir "$work/demo" >/dev/null
for i in $(seq "$copies"); do mkdir -p "$work/uploads/$i" && cp "$work"/demo/media/* "$work/uploads/$i/"; done
cat > "$work/hashline.toml" <<TOML
store = "$work/demo/store"
data_dir = "$work/data"
[evidence]
key_file = "$work/demo/evidence.key"
[triage]
secure_cookies = false
TOML
export HASHLINE_CONFIG="$work/hashline.toml"
"$bin" scan "$work/uploads" --out "$work/scan.out" >/dev/null 2>&1 || true
printf 'a long benchmark passphrase\na long benchmark passphrase\n' | "$bin" users add bench --role analyst >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HASHLINE_LOG=warn "$bin" serve --listen "127.0.0.1:$port" &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
jar="$work/cookies"
csrf() { grep -m1 -o 'name="csrf" value="[0-9a-f]*"' <<<"$1" | grep -o '[0-9a-f]\{64\}'; }
token=$(csrf "$(curl -s -c "$jar" "$base/login")")
start=$(date +%s%N)
curl -s -b "$jar" -c "$jar" -o /dev/null -d "csrf=$token&name=bench&password=a+long+benchmark+passphrase" "$base/login"
echo "== one login (argon2id, 19 MiB, t=2): $(( ($(date +%s%N) - start) / 1000000 )) ms"
cookie="hl_session=$(awk '$6 == "hl_session" {print $7}' "$jar")"
queue=$(curl -s -b "$cookie" "$base/queue")
echo "== review queue: $(grep -m1 -o '[0-9]* cases' <<<"$queue")"
token=$(csrf "$queue")
case=$(curl -s -b "$cookie" -o /dev/null -w '%{redirect_url}' -d "csrf=$token&filters=" "$base/queue/next")
for path in /queue "${case#$base}" "${case#$base}/media/preview.png"; do
  echo "== GET $path, $conns connections, ${secs}s"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Cookie: $cookie" "$base$path" \
    | grep -E 'Requests/sec|^ +50%|^ +99%|Non-2xx' || true
done

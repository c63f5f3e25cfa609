#!/usr/bin/env bash
# Side-by-side: hashline against the reference Python path and other peers, on the same folder,
# single-threaded unless said otherwise, several runs, medians, ratios.
#
# Usage: benches/compare.sh [FOLDER] [RUNS]
#   FOLDER  images to hash (default: the benign Debian wallpaper corpus, installed on first use
#           by ../shared/corpus/install.sh into /tmp/hashline-corpus/all)
#   RUNS    runs per measurement (default 3)
# Needs: the peers' venv (../shared/tools/setup-peers.sh, or HASHLINE_PEERS_PY=python with
# pdqhash, Pillow, numpy, ImageHash installed), a release build of hashline.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
folder=${1:-/tmp/hashline-corpus/all}
runs=${2:-3}
shared="$root/../shared"
py=${HASHLINE_PEERS_PY:-/tmp/hashline-peers/bin/python}

if [ ! -d "$folder" ] && [ "$folder" = /tmp/hashline-corpus/all ]; then
  bash "$shared/corpus/install.sh" /tmp/hashline-corpus >&2
fi
if [ ! -x "$py" ]; then
  bash "$shared/tools/setup-peers.sh" /tmp/hashline-peers >&2
  py=/tmp/hashline-peers/bin/python
fi
cargo build --release --locked -p hashline >&2
bin="$root/target/release/hashline"
list=$(mktemp); trap 'rm -f "$list" "$list".*' EXIT
find -L "$folder" -type f | sort > "$list"
n=$(wc -l < "$list"); bytes=$(xargs -a "$list" -d '\n' cat | wc -c)
echo "corpus: $n files, $((bytes / 1000000)) MB in $folder; $runs runs each; $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

peer() { # mode -> median files/s
  for _ in $(seq "$runs"); do "$py" benches/peers.py "$1" - < "$list" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["files_per_s"])'; done | median
}
ours() { # args... -> median files/s
  for _ in $(seq "$runs"); do
    s=$(date +%s.%N); xargs -a "$list" -d '\n' "$bin" hash "$@" > "$list.out" || true; e=$(date +%s.%N)
    awk -v n="$n" -v s="$s" -v e="$e" 'BEGIN {print n / (e - s)}'
  done | median
}

declare -A r
r[pillow_decode]=$(peer pillow-decode)
r[pillow_pdqhash]=$(peer pillow-pdqhash)
r[pillow_draft_pdq]=$(peer pillow-draft-pdq)
r[imagehash_phash]=$(peer imagehash-phash)
r[exact_1]=$(ours --jobs 1 --mode exact); cp "$list.out" "$list.exact"
r[fast_1]=$(ours --jobs 1 --mode fast); cp "$list.out" "$list.fast"
r[exact_2]=$(ours --jobs 2 --mode exact)
r[fast_2]=$(ours --jobs 2 --mode fast)

# Exactness against the reference table (when the folder is the shared corpus), and fast-mode
# deviation from exact.
"$py" - "$list.exact" "$list.fast" "$shared/corpus/reference.tsv" "$folder" <<'PY' > "$list.acc"
import json, sys, os
exact = [json.loads(l) for l in open(sys.argv[1])]
fast = {j["path"]: j for j in map(json.loads, open(sys.argv[2]))}
ref = {}
if os.path.exists(sys.argv[3]):
    for line in list(open(sys.argv[3]))[1:]:
        f = line.rstrip("\n").split("\t"); ref[f[0]] = f
same = checked = 0; dists = []; agree = 0; both = 0
for e in exact:
    rel = os.path.relpath(e["path"], sys.argv[4])
    if rel in ref and e.get("pdq"):
        checked += 1; same += (e["pdq"] == ref[rel][8] and str(e["quality"]) == ref[rel][9])
    f = fast.get(e["path"])
    if e.get("pdq") and f and f.get("pdq"):
        d = bin(int(e["pdq"], 16) ^ int(f["pdq"], 16)).count("1"); dists.append(d); both += 1; agree += d <= 31
dists.sort()
med = dists[len(dists) // 2] if dists else 0
print(json.dumps({"reference_checked": checked, "reference_exact": same, "fast_median_bits": med,
                  "fast_max_bits": max(dists) if dists else 0, "fast_within_31": agree, "fast_compared": both}))
PY

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo
echo "| path (single-threaded unless noted) | images/s | vs Pillow decode alone | vs Pillow + pdqhash |"
echo "|---|---:|---:|---:|"
for k in pillow_decode pillow_pdqhash pillow_draft_pdq imagehash_phash exact_1 fast_1 exact_2 fast_2; do
  case $k in
    pillow_decode) name="Pillow decode alone (floor for exact)";;
    pillow_pdqhash) name="Pillow + pdqhash, full resolution (reference / HMA path)";;
    pillow_draft_pdq) name="Pillow reduced JPEG decode + pdqhash at <= 512 px";;
    imagehash_phash) name="Pillow + ImageHash pHash (64-bit)";;
    exact_1) name="**hashline exact** (decode + PDQ + MD5/SHA-1/SHA-256)";;
    fast_1) name="**hashline fast** (decode + PDQ + digests)";;
    exact_2) name="hashline exact, 2 threads";;
    fast_2) name="hashline fast, 2 threads";;
  esac
  printf '| %s | %.2f | %s× | %s× |\n' "$name" "${r[$k]}" "$(ratio "${r[$k]}" "${r[pillow_decode]}")" "$(ratio "${r[$k]}" "${r[pillow_pdqhash]}")"
done
echo
echo "exact: cost relative to Pillow decode alone = $(ratio "${r[pillow_decode]}" "${r[exact_1]}")× (target <= 1.25)"
echo "fast: $(ratio "${r[fast_1]}" "${r[pillow_decode]}")× Pillow decode-alone rate (target >= 2)"
echo "two threads vs one: exact $(ratio "${r[exact_2]}" "${r[exact_1]}")×, fast $(ratio "${r[fast_2]}" "${r[fast_1]}")× (target >= 1.8)"
echo "accuracy: $(cat "$list.acc")"

#!/usr/bin/env bash
# ingest_bench: `vigil ingest` of N generated ads into a fresh store (durable,
# every index) against same-run ceilings:
#   - raw RocksDB batched put of the same record bytes, and the store alone
#     (bench/store_bench: no scanning);
#   - `vigil scan` of the same file to /dev/null (scanning alone).
# Rule loading is timed once (`vigil scan` of an empty file) and reported
# apart; ingest's own rate excludes it. CPU seconds (user + sys, all
# threads, rule loading included) are printed too: on a shared machine they
# move less than wall time. Short by default: N=50000.
#
#   bench/ingest_bench.sh [BUILD_DIR] [N]
set -eu
B=${1:-build}/bin
N=${2:-50000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
export VIGIL_DEFAULT_PACK="$SRC/rules/packs/core"
T=$(mktemp -d /tmp/vigil-ingest-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

now() { date +%s.%N; }
cpu() { /usr/bin/time -f '%U %S' -o "$T/cpu" "$@"; }
cpu_of() { awk '{printf "%.2f", $1 + $2}' "$T/cpu"; }
"$B/gen_corpus" --count "$N" --seed 11 --out "$T/corpus.jsonl"
BYTES=$(stat -c %s "$T/corpus.jsonl")
echo "ingest_bench: $N ads, $((BYTES / N)) B/line, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

: > "$T/empty.jsonl"
t0=$(now); "$B/vigil" scan --no-progress "$T/empty.jsonl" > /dev/null; t1=$(now)
LOAD=$(echo "$t1 - $t0" | bc -l)

t0=$(now); cpu "$B/vigil" scan --no-progress "$T/corpus.jsonl" > /dev/null; t1=$(now)
SCAN=$(echo "$t1 - $t0 - $LOAD" | bc -l)
SCAN_CPU=$(cpu_of)

t0=$(now); cpu "$B/vigil" ingest --no-progress --data "$T/db" "$T/corpus.jsonl" 2> "$T/ingest.err"; t1=$(now)
INGEST_CPU=$(cpu_of)
INGEST_WALL=$(echo "$t1 - $t0" | bc -l)
INGEST_RATE=$(grep -o '([0-9]* ads/s)' "$T/ingest.err" | tr -dc 0-9)
cat "$T/ingest.err"

"$B/store_bench" --ads "$N" --dir "$T/sb" --queries 1 > "$T/store.txt" 2>&1
RAW=$(grep -m1 '^raw RocksDB *:' "$T/store.txt" | awk '{print $4}')
STORE=$(grep -m1 '^vigil store *:' "$T/store.txt" | awk '{print $4}')

printf 'rule loading (vigil scan of an empty file): %.2f s\n' "$LOAD"
printf 'vigil scan   : %8.0f ads/s  (scan only, rule loading excluded)\n' "$(echo "$N / $SCAN" | bc -l)"
printf 'vigil ingest : %8.0f ads/s  (own timer: pipeline start to last durable commit; %.2f s wall with rule loading)\n' \
  "$INGEST_RATE" "$INGEST_WALL"
printf 'store alone  : %8.0f ads/s  (store_bench, synthetic ads, PutScanned only)\n' "$STORE"
printf 'raw RocksDB  : %8.0f ads/s  (store_bench, same bytes per ad, batched synced puts, no indexes)\n' "$RAW"
printf 'CPU (user+sys, rule loading included): vigil scan %s s, vigil ingest %s s\n' "$SCAN_CPU" "$INGEST_CPU"
printf 'ratios: ingest/raw %.2f, ingest/store %.2f, ingest/scan %.2f\n' \
  "$(echo "$INGEST_RATE / $RAW" | bc -l)" "$(echo "$INGEST_RATE / $STORE" | bc -l)" \
  "$(echo "$INGEST_RATE / ($N / $SCAN)" | bc -l)"

#!/usr/bin/env bash
# rescan_bench: `vigil rescan` of a store of N generated ads against `vigil
# scan` of the same ads read from a file, in the same run (issue 7: rescan
# at 70% or more of scan). The store is built first with `vigil ingest`
# (not timed here) and compacted. Both commands load their pack once; that time is
# measured apart (scan of an empty file) and excluded from both rates.
# Rounds 1 and 2 alternate between a much changed pack (movement rules
# removed, threshold 0.6: ~30% of the ads' findings change) and the core
# pack; rounds 3 and 4 between the core pack and a small change (one
# rule's weight: ~2% change). Each round runs PAIRS (default 3) scan and
# rescan pairs and reports the median ratio. A dry run shows the cost of the writes. CPU
# seconds (user + sys, all threads) are printed too: on a shared machine
# they move less than wall time.
#
#   bench/rescan_bench.sh [BUILD_DIR] [N] [PAIRS]
set -eu
B=${1:-build}/bin
N=${2:-30000}
REPS=${3:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
export VIGIL_DEFAULT_PACK="$SRC/rules/packs/core"
T=$(mktemp -d /tmp/vigil-rescan-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
now() { date +%s.%N; }
cpu() { /usr/bin/time -f '%U %S' -o "$T/cpu" "$@"; }
cpu_of() { awk '{printf "%.2f", $1 + $2}' "$T/cpu"; }

"$B/gen_corpus" --count "$N" --seed 13 --out "$T/corpus.jsonl"
"$B/vigil" ingest --no-progress --data "$T/db" "$T/corpus.jsonl" 2> /dev/null
# An archive at rest: ingest leaves its data in uncompressed level-0 files,
# and the first writer to open the store would compress them while it
# works (bulk import's debt, not the rescan's).
"$B/vigil" store compact --data "$T/db" > /dev/null
cp -r "$SRC/rules/packs/core" "$T/pack2"
sed -i 's/^version: .*/version: 1.1.0/; s/^threshold: .*/threshold: 0.6/' "$T/pack2/pack.yaml"
rm "$T/pack2/movement.yaml"
cp -r "$SRC/rules/packs/core" "$T/pack3"
sed -i 's/^version: .*/version: 1.0.1/' "$T/pack3/pack.yaml"
python3 - "$T/pack3/foreign.yaml" <<'EOF'
import sys
p = sys.argv[1]; s = open(p).read()
i = s.index("  - id: foreign.latina"); j = s.index("    weight: 0.25", i)
open(p, "w").write(s[:j] + "    weight: 0.35" + s[j + len("    weight: 0.25"):])
EOF
echo "rescan_bench: $N ads, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

: > "$T/empty.jsonl"
t0=$(now); "$B/vigil" scan --no-progress "$T/empty.jsonl" > /dev/null; t1=$(now)
LOAD=$(echo "$t1 - $t0" | bc -l)
printf 'rule loading: %.2f s (excluded below)\n' "$LOAD"

rate_of() { grep -o '([0-9]* ads/s)' "$1" | tr -dc 0-9; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
range() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }
for round in 1 2 3 4; do
  case $round in
    1) PACK=$T/pack2 ;;
    3) PACK=$T/pack3 ;;
    *) PACK=$SRC/rules/packs/core ;;
  esac
  # REPS pairs, each a `vigil scan` then a rescan of a fresh copy of the
  # store as the round found it (the same work each time); the VM's speed
  # moves by tens of percent within seconds, so each ratio is taken within
  # its pair and the median pair is reported.
  rm -rf "$T/base" && cp -r "$T/db" "$T/base"
  RATIOS= DRYS= SCANS= RESCANS= SCAN_CPUS= RESCAN_CPUS=
  for rep in $(seq 1 "$REPS"); do
    t0=$(now); cpu "$B/vigil" scan --no-progress "$T/corpus.jsonl" > /dev/null; t1=$(now)
    SCAN=$(echo "$N / ($t1 - $t0 - $LOAD)" | bc -l)
    SCAN_CPUS="$SCAN_CPUS $(cpu_of)"
    "$B/vigil" rescan --no-progress --data "$T/base" --rules "$PACK" --dry-run > /dev/null 2> "$T/dry.err"
    DRY=$(rate_of "$T/dry.err")
    rm -rf "$T/db" && cp -r "$T/base" "$T/db"
    cpu "$B/vigil" rescan --no-progress --data "$T/db" --rules "$PACK" > "$T/rescan.out" 2> "$T/rescan.err"
    RESCAN=$(rate_of "$T/rescan.err")
    RESCAN_CPUS="$RESCAN_CPUS $(cpu_of)"
    SCANS="$SCANS $(printf '%.0f' "$SCAN")"
    RESCANS="$RESCANS $RESCAN"
    RATIOS="$RATIOS $(printf '%.2f' "$(echo "$RESCAN / $SCAN" | bc -l)")"
    DRYS="$DRYS $(printf '%.2f' "$(echo "$DRY / $SCAN" | bc -l)")"
  done
  WRITTEN=$(grep -o 'findings replaced [0-9]*' "$T/rescan.out" | tr -dc 0-9)
  printf 'round %s (%s, %s ads written): rescan / scan median %s (pairs:%s) | dry run / scan median %s (%s)\n' \
    "$round" "$(basename "$PACK")" "$WRITTEN" "$(echo "$RATIOS" | median)" "$RATIOS" "$(echo "$DRYS" | median)" \
    "$(echo "$DRYS" | range)"
  printf '         ads/s: vigil scan %s, rescan %s; CPU s (user+sys, rule loading included): scan %s, rescan %s\n' \
    "$(echo "$SCANS" | range)" "$(echo "$RESCANS" | range)" "$(echo "$SCAN_CPUS" | range)" "$(echo "$RESCAN_CPUS" | range)"
done

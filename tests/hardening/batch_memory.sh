#!/usr/bin/env bash
# Peak memory of a real vigild for one POST /v1/ads of N tiny ads (one
# pipeline batch), as recorded in docs/security.md ("memory per line of a
# batch"). Starts vigild with a one-rule pack and the default limits in a
# temporary folder, reads VmHWM from /proc/PID/status before and after.
#
# Usage: tests/hardening/batch_memory.sh BIN_DIR LINES...
#   e.g. tests/hardening/batch_memory.sh build/bin 25000 100000 200000
set -euo pipefail
BIN=$(cd "$1" && pwd)
shift

measure() {
  local n=$1 tmp pid port ing before after code
  tmp=$(mktemp -d /tmp/vigil_batch_memory.XXXXXX)
  mkdir -p "$tmp/pack"
  printf 'name: m\nversion: 0.1.0\ndescription: m\nthreshold: 0.5\ncategories:\n  - {id: youth, title: Youth, description: youth language}\n' >"$tmp/pack/pack.yaml"
  printf "rules:\n  - id: youth.fresh\n    title: Fresh\n    description: t\n    category: youth\n    weight: 0.6\n    evidence: supported\n    patterns: ['\\\\\\\\bfresh\\\\\\\\b']\n" >"$tmp/pack/rules.yaml"
  # max_body_lines raised past the default (10,000) so that the per-line
  # cost of one batch can still be measured.
  printf 'listen: 127.0.0.1:0\ndata: %s/data\nrules: %s/pack\nrules_cache: ""\nlog_level: warn\nmax_body_lines: %s\n' "$tmp" "$tmp" "$n" >"$tmp/vigild.yaml"
  ing=$("$BIN/vigil" tokens create --data "$tmp/data" --user crawler --role ingest | tail -n 1)
  "$BIN/vigild" --config "$tmp/vigild.yaml" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  for _ in $(seq 1 300); do grep -q listening "$tmp/out" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/^vigild listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/out")
  awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "{\"id\":\"m%d\",\"text\":\"sofa\"}\n", i }' >"$tmp/body"
  before=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  code=$(curl -s -o "$tmp/reply" -w '%{http_code}' -H "Authorization: Bearer $ing" --data-binary @"$tmp/body" \
    "http://127.0.0.1:$port/v1/ads")
  after=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  echo "lines=$n body_bytes=$(stat -c %s "$tmp/body") status=$code peak_growth_mb=$(((after - before) / 1024))" \
    "per_line_bytes=$(((after - before) * 1024 / n))"
  kill "$pid"
  wait "$pid" || true
  rm -rf "$tmp"
}

for n in "$@"; do measure "$n"; done

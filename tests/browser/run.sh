#!/usr/bin/env bash
# Browser tests of the review UI (tools/ui) against a real vigild.
#   tests/browser/run.sh [BUILD_DIR]      (default: build)
# Installs Debian's chromium and the pinned playwright-core when missing,
# makes a temp store with tokens, starts vigild on a free port, ingests a
# generated corpus plus tests/browser/fixtures.mjs (hostile and linked ads),
# runs ui.test.mjs with node's test runner, and stops vigild. Screenshots go
# to BUILD_DIR/screenshots.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
bin="$build/bin"

for tool in vigild vigil gen_corpus; do
  if [[ ! -x "$bin/$tool" ]]; then
    echo "browser tests: $bin/$tool is missing (build it first)" >&2
    exit 1
  fi
done

if [[ ! -x /usr/bin/chromium ]] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "browser tests: installing chromium/node/npm from Debian" >&2
  VIGIL_BOOTSTRAP_BROWSER=1 "$root/scripts/bootstrap"
fi
if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/vigil-ui-test.XXXXXX")"
data="$work/data"
mkdir -p "$data"
vigild_pid=""
cleanup() {
  if [[ -n "$vigild_pid" ]] && kill -0 "$vigild_pid" 2>/dev/null; then
    kill "$vigild_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$vigild_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$vigild_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

token() {  # user role -> token (last line of the command's output)
  "$bin/vigil" tokens create --data "$data" --user "$1" --role "$2" | tail -n 1 | tr -d '[:space:]'
}
tok_ingest="$(token feeder ingest)"
tok_ana="$(token ana investigator)"
tok_ben="$(token ben investigator)"
tok_admin="$(token root admin)"
# A copy of the core pack, so that a rescan can run with a later version of
# it (the ad views then cite the rescan that found the same findings).
cp -r "$root/rules/packs/core" "$work/pack"

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
base="http://127.0.0.1:$port"
"$bin/vigild" --listen "127.0.0.1:$port" --data "$data" --rules "$work/pack" --ui "$root/tools/ui" >"$work/vigild.log" 2>&1 &
vigild_pid=$!
for _ in $(seq 1200); do  # first start compiles the rule pack (can take a while)
  if curl -sf "$base/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$vigild_pid" 2>/dev/null; then
    echo "browser tests: vigild exited:" >&2; cat "$work/vigild.log" >&2; exit 1
  fi
  sleep 0.1
done
curl -sf "$base/healthz" >/dev/null || { echo "browser tests: vigild did not answer /healthz" >&2; cat "$work/vigild.log" >&2; exit 1; }

"$bin/gen_corpus" --count 300 --seed 5 >"$work/ads.ndjson"
node "$here/fixtures.mjs" >>"$work/ads.ndjson"
reply="$(curl -sf -H "Authorization: Bearer $tok_ingest" -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$work/ads.ndjson" "$base/v1/ads")" || {
  echo "browser tests: ingest failed" >&2; cat "$work/vigild.log" >&2; exit 1; }
echo "browser tests: ingested $reply"

# Rescan with the same rules under a later version: every ad's findings are
# found again, so each stays labelled with the first version.
sed -i 's/^version: .*/version: 9.9.9/' "$work/pack/pack.yaml"
rescan="$(curl -sf -X POST -H "Authorization: Bearer $tok_admin" "$base/v1/rescans")" || {
  echo "browser tests: rescan failed to start" >&2; cat "$work/vigild.log" >&2; exit 1; }
rescan_id="$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$rescan")"
for _ in $(seq 600); do
  state="$(curl -sf -H "Authorization: Bearer $tok_admin" "$base/v1/rescans/$rescan_id" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).state))')"
  [[ "$state" != running ]] && break
  sleep 0.1
done
[[ "$state" == done ]] || { echo "browser tests: rescan $rescan_id ended $state" >&2; exit 1; }

status=0
(cd "$here" && VIGIL_URL="$base" VIGIL_TOKEN_ANA="$tok_ana" VIGIL_TOKEN_BEN="$tok_ben" \
  VIGIL_TOKEN_INGEST="$tok_ingest" VIGIL_SCREENSHOTS="$build/screenshots" \
  node --test --test-concurrency=1 --test-reporter=spec text.test.mjs ui.test.mjs) || status=$?
if [[ $status -ne 0 ]]; then
  echo "browser tests: vigild log (tail):" >&2
  tail -n 40 "$work/vigild.log" >&2 || true
fi
echo "browser tests: screenshots in $build/screenshots"
exit $status

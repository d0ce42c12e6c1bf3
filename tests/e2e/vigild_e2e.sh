#!/usr/bin/env bash
# vigild end to end over loopback: starts the real daemon on a free port
# with a temporary data directory and a small rule pack, then exercises
# ingest, queries, review, rule reload (HTTP and SIGHUP), the TCP NDJSON
# port, static files, bad requests (each a clear 4xx that stores
# nothing), a slow client, and SIGTERM while posting followed by a restart
# in which every acknowledged ad is present.
#
# Usage: tests/e2e/vigild_e2e.sh BUILD_DIR
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
BIN="$BUILD/bin"
TMP=$(mktemp -d /tmp/vigild_e2e.XXXXXX)
DATA="$TMP/data"
PACK="$TMP/pack"
PID=""
FAILS=0

cleanup() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
  if [[ $FAILS -ne 0 ]]; then
    echo "--- vigild log ---"
    tail -n 40 "$TMP/vigild.log" || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

pass() { echo "ok   $1"; }
fail() {
  echo "FAIL $1"
  FAILS=$((FAILS + 1))
}
expect_eq() {  # name expected actual
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
expect_has() {  # name needle haystack
  if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: '$2' not in: ${3:0:300}"; fi
}

write_pack() {  # version [broken]
  mkdir -p "$PACK"
  cat >"$PACK/pack.yaml" <<EOF
name: e2e
version: $1
description: end-to-end tests
threshold: 0.5
categories:
  - {id: youth, title: Youth, description: youth language}
  - {id: trust_assurance, title: Trust, description: trust language}
EOF
  if [[ "${2:-}" == broken ]]; then
    printf 'rules:\n  - id: broken\n    patterns: ["(unclosed"]\n' >"$PACK/rules.yaml"
    return
  fi
  cat >"$PACK/rules.yaml" <<'EOF'
rules:
  - id: youth.fresh
    title: Fresh
    description: test rule
    category: youth
    weight: 0.6
    evidence: supported
    patterns: ['\bfresh\b']
  - id: trust.real_pics
    title: Real pics
    description: test rule
    category: trust_assurance
    weight: 0.2
    evidence: supported
    patterns: ['\breal pics\b']
EOF
}

mkdir -p "$TMP/ui"
echo '<!doctype html><title>vigil</title>' >"$TMP/ui/index.html"
echo 'secret' >"$TMP/outside.txt"
cat >"$TMP/vigild.yaml" <<EOF
listen: 127.0.0.1:0
ingest_listen: 127.0.0.1:0
data: $DATA
rules: $PACK
ui: $TMP/ui
rules_cache: ""
max_body_bytes: 1048576
queue_bytes: 8388608
max_line_bytes: 8192
header_timeout_seconds: 2
read_timeout_seconds: 3
log_level: info
EOF
write_pack 0.1.0

ADMIN=$("$BIN/vigil" tokens create --data "$DATA" --user root --role admin | tail -n 1)
INV=$("$BIN/vigil" tokens create --data "$DATA" --user ana --role investigator | tail -n 1)
ING=$("$BIN/vigil" tokens create --data "$DATA" --user crawler --role ingest | tail -n 1)
expect_has "tokens are printed on the last line" "vgl_" "$ADMIN"

start_vigild() {
  : >"$TMP/vigild.out"
  "$BIN/vigild" --config "$TMP/vigild.yaml" >"$TMP/vigild.out" 2>>"$TMP/vigild.log" &
  PID=$!
  for _ in $(seq 1 300); do
    if grep -q "ingest port" "$TMP/vigild.out" 2>/dev/null; then break; fi
    if ! kill -0 "$PID" 2>/dev/null; then
      fail "vigild exited at startup"
      exit 1
    fi
    sleep 0.1
  done
  PORT=$(sed -n 's/^vigild listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$TMP/vigild.out")
  IPORT=$(sed -n 's/^vigild ingest port on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMP/vigild.out")
  URL="http://127.0.0.1:$PORT"
  [[ -n "$PORT" && -n "$IPORT" ]] || { fail "vigild did not print its ports"; exit 1; }
}

# code METHOD PATH TOKEN [curl args...]: prints the status code; body in $TMP/body
code() {
  local method=$1 path=$2 token=$3
  shift 3
  local auth=()
  [[ -n "$token" ]] && auth=(-H "Authorization: Bearer $token")
  curl -s -o "$TMP/body" -w '%{http_code}' -X "$method" "${auth[@]}" "$@" "$URL$path"
}
body() { cat "$TMP/body"; }
ingested() { curl -s -H "Authorization: Bearer $ADMIN" "$URL/metrics" | sed -n 's/^vigil_documents_ingested_total //p'; }

start_vigild

# ---- health, headers, static files --------------------------------------
headers=$(curl -s -D - -o /dev/null "$URL/healthz")
expect_has "healthz without a token" "200" "$(head -n1 <<<"$headers")"
expect_has "CSP header" "Content-Security-Policy: default-src 'self'" "$headers"
expect_has "nosniff header" "X-Content-Type-Options: nosniff" "$headers"
expect_eq "UI index" 200 "$(code GET / "")"
expect_has "UI content type" "text/html" "$(curl -s -D - -o /dev/null "$URL/index.html")"
expect_eq "path traversal refused" 404 "$(code GET /../outside.txt "" --path-as-is)"
expect_eq "encoded traversal refused" 404 "$(code GET /%2e%2e/outside.txt "" --path-as-is)"

# ---- ingest, query, view, review -----------------------------------------
ADS=$'{"id":"e1","text":"so fresh, call 702-555-0147","city":"Reno","posted_at":"2026-11-03T10:00:00Z"}\n{"id":"e2","text":"real pics, call 702-555-0147","city":"Elko"}\n{"id":"e3","text":"sofa for sale"}\n'
expect_eq "post ads" 200 "$(code POST /v1/ads "$ING" --data-binary "$ADS")"
expect_has "ingest counts" '"accepted":3,"new":3' "$(body)"
expect_has "ingest flagged" '"flagged":1' "$(body)"
expect_has "ingest pack" '"pack":"e2e@0.1.0"' "$(body)"
expect_eq "post again" 200 "$(code POST /v1/ads "$ING" --data-binary "$ADS")"
expect_has "duplicates" '"duplicates":3' "$(body)"
expect_eq "leads" 200 "$(code GET '/v1/leads?limit=10' "$INV")"
expect_has "lead e1 listed" '"ad_id":"e1"' "$(body)"
expect_eq "ad view" 200 "$(code GET /v1/ads/e1 "$INV")"
expect_has "ad findings" '"rule":"youth.fresh"' "$(body)"
expect_eq "entity" 200 "$(code GET /v1/entities/phone/%2B17025550147 "$INV")"
expect_has "entity links two ads" '"ads":2' "$(body)"
expect_eq "review" 200 "$(code POST /v1/leads/e1/review "$INV" -d '{"status":"escalated","note":"e2e","expected_version":0}')"
expect_eq "stale review" 409 "$(code POST /v1/leads/e1/review "$ADMIN" -d '{"status":"dismissed","expected_version":0}')"
expect_eq "export" 200 "$(code GET '/v1/export?status=escalated&purpose=e2e' "$INV")"
expect_eq "audit" 200 "$(code GET '/v1/audit?user=ana' "$ADMIN")"
expect_has "audit has view, review, export" '"action":"export"' "$(body)"

# ---- bad requests: each a clear 4xx, nothing stored ----------------------
before=$(ingested)
expect_eq "no token" 401 "$(code GET /v1/leads "")"
expect_eq "wrong token" 401 "$(code GET /v1/leads "vgl_0123")"
expect_eq "wrong role (ingest reads)" 403 "$(code GET /v1/leads "$ING")"
expect_eq "wrong role (investigator ingests)" 403 "$(code POST /v1/ads "$INV" --data-binary "$ADS")"
expect_eq "wrong role (investigator reloads)" 403 "$(code POST /v1/rules/reload "$INV")"
expect_eq "malformed JSON" 400 "$(code POST /v1/ads "$ING" --data-binary $'{"id":"m1","text":\n')"
expect_has "malformed JSON line number" '"line":1' "$(body)"
expect_eq "invalid UTF-8" 400 "$(code POST /v1/ads "$ING" --data-binary $'{"id":"u1","text":"bad \xff"}\n')"
expect_has "invalid UTF-8 named" "UTF-8" "$(body)"
expect_eq "missing fields" 400 "$(code POST /v1/ads "$ING" --data-binary $'{"id":"f1"}\n{"text":"x"}\n')"
expect_has "missing text named" 'missing \"text\"' "$(body)"
head -c 2000000 /dev/zero | tr '\0' 'a' >"$TMP/big"
expect_eq "oversized body" 413 "$(code POST /v1/ads "$ING" --data-binary @"$TMP/big")"
{ printf '{"id":"l1","text":"ok"}\n{"id":"l2","text":"'; head -c 9000 /dev/zero | tr '\0' 'a'; printf '"}\n'; } >"$TMP/longline"
expect_eq "oversized line" 413 "$(code POST /v1/ads "$ING" --data-binary @"$TMP/longline")"
expect_eq "empty body" 400 "$(code POST /v1/ads "$ING" --data-binary '')"
expect_eq "review: malformed JSON" 400 "$(code POST /v1/leads/e1/review "$INV" -d '{"status":')"
expect_eq "review: invalid UTF-8" 400 "$(code POST /v1/leads/e1/review "$INV" --data-binary $'{"note":"\xc3\x28"}')"
expect_eq "review: unknown status" 400 "$(code POST /v1/leads/e1/review "$INV" -d '{"status":"closed"}')"
expect_eq "leads: bad parameter" 400 "$(code GET '/v1/leads?limit=9999' "$INV")"
expect_eq "unknown endpoint" 404 "$(code GET /v1/nothing "$ADMIN")"
expect_eq "oversized header" 431 "$(code GET /v1/me "$ADMIN" -H "X-Pad: $(head -c 20000 /dev/zero | tr '\0' 'p')")"
expect_eq "nothing stored by bad requests" "$before" "$(ingested)"
expect_eq "l1 of the refused body not stored" 404 "$(code GET /v1/ads/l1 "$INV")"

# ---- tokens honoured without a restart -----------------------------------
NEW=$("$BIN/vigil" tokens create --data "$DATA" --user bo --role investigator | tail -n 1)
expect_eq "new token works at once" 200 "$(code GET /v1/me "$NEW")"
"$BIN/vigil" tokens revoke --data "$DATA" bo >/dev/null
expect_eq "revoked token refused at once" 401 "$(code GET /v1/me "$NEW")"

# ---- rule reload: HTTP with a changed pack, SIGHUP with a broken one -------
write_pack 0.2.0
expect_eq "reload changed pack" 200 "$(code POST /v1/rules/reload "$ADMIN")"
expect_has "new pack live" '"pack":"e2e@0.2.0"' "$(body)"
expect_eq "post after reload" 200 "$(code POST /v1/ads "$ING" --data-binary $'{"id":"r1","text":"fresh"}\n')"
expect_has "findings record the new pack" '"pack":"e2e@0.2.0"' "$(body)"
write_pack 0.3.0 broken
expect_eq "broken pack refused" 422 "$(code POST /v1/rules/reload "$ADMIN")"
expect_has "diagnostics returned" '"diagnostics"' "$(body)"
kill -HUP "$PID"
sleep 0.5
expect_has "old pack kept after SIGHUP" '"pack":"e2e@0.2.0"' "$(curl -s "$URL/healthz")"
write_pack 0.2.0

# ---- TCP NDJSON port: one ack line per batch ------------------------------
exec 3<>"/dev/tcp/127.0.0.1/$IPORT"
printf 'AUTH %s\n{"id":"t9","text":"fresh"}\n' "$INV" >&3
ack=""
read -r -t 10 ack <&3 || true
expect_has "TCP port refuses a non-ingest token" '"status":403' "$ack"
exec 3>&-
exec 3<>"/dev/tcp/127.0.0.1/$IPORT"
printf '{"id":"t9","text":"fresh"}\n' >&3
ack=""
read -r -t 10 ack <&3 || true
expect_has "TCP port needs AUTH first" '"status":401' "$ack"
exec 3>&-
exec 3<>"/dev/tcp/127.0.0.1/$IPORT"
printf 'AUTH %s\n{"id":"t1","text":"fresh"}\n{"id":"t2"}\n{"id":"t3","text":"sofa"}\n' "$ING" >&3
ack=""
read -r -t 10 ack <&3 || true
expect_has "TCP ack" '"batch":1,"accepted":2' "$ack"
expect_has "TCP ack errors" '"line":2' "$ack"
exec 3>&-
expect_eq "TCP ad stored" 200 "$(code GET /v1/ads/t1 "$INV")"

# ---- a slow client is cut off by the header timeout ------------------------
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&4
if read -r -t 15 _ <&4; then fail "slow client got an answer"; else
  # read returns non-zero on EOF (closed) and on its own timeout (>128)
  rc=$?
  if [[ $rc -gt 128 ]]; then fail "slow client was not cut off"; else pass "slow client cut off"; fi
fi
exec 4>&-

# ---- SIGTERM while posting; after a restart every acknowledged ad is present
"$BIN/gen_corpus" --count 6000 --seed 7 | LC_ALL=C.UTF-8 grep -ax '.*' >"$TMP/corpus.jsonl"
mkdir -p "$TMP/chunks"
split -l 250 "$TMP/corpus.jsonl" "$TMP/chunks/c"
: >"$TMP/acked"
(
  for f in "$TMP"/chunks/c*; do
    out=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $ING" --data-binary @"$f" "$URL/v1/ads" || true)
    if [[ "$(tail -n1 <<<"$out")" == 200 && "$out" == *'"errors":[]'* ]]; then
      grep -o '"id":"[^"]*"' "$f" | sed 's/"id":"\(.*\)"/\1/' >>"$TMP/acked"
    fi
  done
) &
POSTER=$!
# Let some batches through, then stop the daemon mid-stream.
for _ in $(seq 1 100); do
  [[ $(wc -l <"$TMP/acked") -ge 1000 ]] && break
  sleep 0.05
done
kill -TERM "$PID"
status=0
wait "$PID" || status=$?
PID=""
expect_eq "SIGTERM exits 0" 0 "$status"
wait "$POSTER" || true
acked=$(wc -l <"$TMP/acked")
echo "     $acked ads acknowledged before SIGTERM"
start_vigild
missing=0
split -l 200 "$TMP/acked" "$TMP/acked."
for f in "$TMP"/acked.*; do
  ids=$(paste -sd, "$f")
  c=$(code GET "/v1/export?ids=$ids&purpose=e2e-check" "$INV")
  if [[ "$c" != 200 ]] || [[ $(wc -l <"$TMP/body") -ne $(wc -l <"$f") ]]; then missing=$((missing + 1)); fi
done
expect_eq "every acknowledged ad present after restart" 0 "$missing"
[[ $acked -gt 0 ]] && pass "some ads were acknowledged" || fail "no ad acknowledged before SIGTERM"
kill -TERM "$PID"
wait "$PID" || true
PID=""

# ---- vigil rescan reuses the entities vigild stored: the same extraction
# (vigil and vigild fingerprint it alike), so nothing is relabelled
"$BIN/vigil" rescan --no-progress --data "$DATA" --rules "$PACK" --report "$TMP/rescan.json" >/dev/null 2>"$TMP/rescan.err" ||
  fail "vigil rescan of vigild's store: $(tail -n 3 "$TMP/rescan.err")"
reuse=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["rescanned"] > 1000, r["relabelled"], r["written"])' \
  "$TMP/rescan.json" 2>&1 || true)
expect_eq "vigil rescan reuses vigild's stored entities (rescanned > 1000, relabelled, written)" "True 0 0" "$reuse"

if [[ $FAILS -ne 0 ]]; then
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "all vigild e2e checks passed"

#!/usr/bin/env bash
# End-to-end test of the store commands of the real `vigil` binary
# (tools/cmd_store.cc, tools/cmd_rescan.cc) on a temporary data directory:
# ingest (malformed lines reported with their numbers, nothing half-stored),
# leads list/show/review (conflict flow), entities show, export jsonl/csv,
# reads while another process holds the store and the message for writes,
# then rescans: dry run leaves the store unchanged, SIGKILL mid-rescan and
# resume equals an uninterrupted rescan, a checkpoint of another pack is
# refused, review states are kept, no lead is deleted; `vigil store check`
# on a sound store, while another process holds it, and on a damaged one.
#
#   store_cli_test.sh VIGIL GEN_CORPUS SOURCE_DIR STORE_DAMAGE
set -u
VIGIL=$1
GEN=$2
SRC=$3
DAMAGE=$4
T=$(mktemp -d /tmp/vigil-store-cli.XXXXXX)
HOLDER=
cleanup() {
  [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
export VIGIL_DEFAULT_PACK="$SRC/rules/packs/core"
FAILS=0
PASSES=0
check() {  # check NAME COMMAND...: passes when the command succeeds
  local name=$1
  shift
  if "$@"; then
    PASSES=$((PASSES + 1))
  else
    FAILS=$((FAILS + 1))
    echo "FAIL: $name" >&2
  fi
}
json_lines() { python3 -c 'import sys; print(sum(1 for l in sys.stdin if l.strip()))'; }

N=3000
D=$T/db
"$GEN" --count $N --seed 7 --out "$T/corpus.jsonl" || exit 2
# Two malformed records at lines 11 and 12 (after the first 10 ads).
{
  head -n 10 "$T/corpus.jsonl"
  echo '{"id": "broken-1", "text": '
  echo 'this is not json'
  tail -n +11 "$T/corpus.jsonl"
} > "$T/with_errors.jsonl"

# ---- ingest
"$VIGIL" ingest --data "$D" "$T/with_errors.jsonl" 2> "$T/ingest.err"
rc=$?
check "ingest exits 1 when lines fail" test $rc -eq 1
check "line 11 reported" grep -q "with_errors.jsonl:11:" "$T/ingest.err"
check "line 12 reported" grep -q "with_errors.jsonl:12:" "$T/ingest.err"
check "summary counts the ads" grep -q "$N ads .*$N new, 0 new versions, 0 duplicates.*2 lines failed" "$T/ingest.err"
"$VIGIL" leads list --data "$D" --limit 100000 --json > "$T/all.jsonl"
check "every good ad stored, no malformed one" test "$(json_lines < "$T/all.jsonl")" -eq $N
check "no broken record" bash -c "! grep -q broken-1 '$T/all.jsonl'"
"$VIGIL" ingest --data "$D" "$T/corpus.jsonl" 2> "$T/ingest2.err"
check "re-ingest exits 0" test $? -eq 0
# The writes are flushed before ingest exits, so the next open (read-only
# ones too) has no log to replay: every write-ahead log file is empty.
check "ingest leaves no write-ahead log to replay" bash -c "! find '$D' -name '*.log' -size +0 | grep -q ."
check "re-ingest: all duplicates" grep -q "$N duplicates" "$T/ingest2.err"
printf '{"id":"ad-x1","text":"new in town, call 702-555-0147"}\n' | "$VIGIL" ingest --data "$D" - 2> "$T/stdin.err"
check "ingest from stdin" grep -q "1 new" "$T/stdin.err"

# ---- leads list
"$VIGIL" leads list --data "$D" --category youth --min-score 0.5 --limit 50 --json > "$T/youth.jsonl"
check "list filters" python3 - "$T/youth.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert 0 < len(rows) <= 50, len(rows)
assert all("youth" in r["categories"] and r["score"] >= 0.5 for r in rows)
assert all(a["score"] >= b["score"] for a, b in zip(rows, rows[1:]))
EOF
"$VIGIL" leads list --data "$D" --limit 5 > "$T/list.txt"
check "text list has a header and 5 rows" test "$(wc -l < "$T/list.txt")" -eq 6
"$VIGIL" leads list --data "$D" --since 2000-01-01 --by-time --limit 3 --json > "$T/since.jsonl"
check "since/by-time" test "$(json_lines < "$T/since.jsonl")" -eq 3
"$VIGIL" leads list --data "$D" --status bogus > /dev/null 2> "$T/bad.err"
check "bad status exits 2" test $? -eq 2
check "bad status says what to use" grep -q "use new, in_review" "$T/bad.err"
"$VIGIL" leads list --data "$T/nothing" > /dev/null 2> "$T/none.err"
check "missing store is reported" grep -q "there is no store at" "$T/none.err"

# ---- leads show
ID=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/youth.jsonl")
"$VIGIL" leads show --data "$D" "$ID" > "$T/show.txt"
check "show exits 0" test $? -eq 0
check "show marks hits" grep -q '\[\[youth\.' "$T/show.txt"
check "show lists hits with weight and evidence" grep -Eq "youth\..*weight 0\.[0-9]+, (supported|contested|lore)" "$T/show.txt"
check "show lists content hash" grep -q "content hash: [0-9a-f]\{64\}" "$T/show.txt"
"$VIGIL" leads show --data "$D" no-such-ad > /dev/null 2>&1
check "show of a missing ad exits 1" test $? -eq 1

# ---- leads review (conflict-free flow, then a stale version)
"$VIGIL" leads review --data "$D" "$ID" --status in_review --expected-version 0 --user alice > "$T/r1.txt"
check "review v1" grep -q "in_review (review version 1, by alice)" "$T/r1.txt"
"$VIGIL" leads review --data "$D" "$ID" --status escalated --note "case 17" --expected-version 1 --user alice > /dev/null
check "review v2" test $? -eq 0
"$VIGIL" leads review --data "$D" "$ID" --status dismissed --expected-version 1 --user bob 2> "$T/conflict.err"
check "stale review is a conflict (exit 1)" test $? -eq 1
check "conflict message" grep -q "reviewed since" "$T/conflict.err"
"$VIGIL" leads review --data "$D" "$ID" --status dismissed > /dev/null 2>&1
check "review needs --user" test $? -eq 2
"$VIGIL" leads show --data "$D" "$ID" > "$T/show2.txt"
check "history shows the note" grep -q "alice: in_review -> escalated: case 17" "$T/show2.txt"

# ---- entities show
PHONE=$(grep -m1 -o '^  phone   +[0-9]*' "$T/show.txt" | awk '{print $2}')
check "the shown ad has a phone" test -n "$PHONE"
"$VIGIL" entities show --data "$D" phone "$PHONE" > "$T/entity.txt"
check "entities show exits 0" test $? -eq 0
check "entity lists ads and timeline" grep -q "timeline" "$T/entity.txt"
check "entity timeline names the ad" grep -q "$ID" "$T/entity.txt"
"$VIGIL" entities show --data "$D" phone 702-555-0147 > "$T/entity2.txt"
check "phone typed by a person is canonicalised" grep -q "+17025550147" "$T/entity2.txt"

# ---- export
"$VIGIL" export --data "$D" --status escalated --format jsonl --user alice --purpose "case 17" -o "$T/x.jsonl" 2> "$T/x.err"
check "export jsonl exits 0" test $? -eq 0
check "export jsonl has the escalated ad with provenance" python3 - "$T/x.jsonl" "$ID" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1, len(rows)
text = json.dumps(rows[0])
for needle in (sys.argv[2], "content_hash", "core@", "url"):
    assert needle in text, needle
EOF
"$VIGIL" export --data "$D" --entity "phone:$PHONE" --format csv --user alice > "$T/x.csv" 2>/dev/null
check "export csv exits 0" test $? -eq 0
check "csv header" grep -q "^ad_id,version,url,source,city,posted_at,fetched_at,ingested_at,content_hash,pack_version" "$T/x.csv"
check "csv rows carry the ad" grep -q "^$ID," "$T/x.csv"
"$VIGIL" export --data "$D" --status escalated --format jsonl > /dev/null 2>&1
check "export needs --user" test $? -eq 2

# ---- store check
"$VIGIL" store check --data "$D" > "$T/check.txt" 2>&1
check "store check exits 0 on a sound store" test $? -eq 0
check "store check says consistent" grep -q "^consistent" "$T/check.txt"
check "store check counts the ads" grep -q "ads $((N + 1)) " "$T/check.txt"
"$VIGIL" store check --data "$D" --json > "$T/check.json"
check "store check --json" python3 - "$T/check.json" $((N + 1)) <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] is True and j["problem_count"] == 0 and j["problems"] == [], j
assert j["ads"] == int(sys.argv[2]) and j["leads"] == j["ads"] and j["lead_index_entries"] > j["ads"], j
assert j["reviews"] >= 1 and j["audit_events"] >= 1, j
EOF
cp -r "$D" "$T/damaged"
"$DAMAGE" "$T/damaged" "$ID"
check "damage helper ran" test $? -eq 0
"$VIGIL" store check --data "$T/damaged" > "$T/damaged.txt" 2>&1
check "store check exits 1 on a damaged store" test $? -eq 1
check "store check names the damaged ad" grep -qF "ads/\"$ID\": no findings" "$T/damaged.txt"
"$VIGIL" store check --data "$T/damaged" --json > "$T/damaged.json"
check "store check --json on a damaged store" python3 - "$T/damaged.json" "$ID" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] is False and j["problem_count"] >= 1, j
assert any(sys.argv[2] in p and "no findings" in p for p in j["problems"]), j["problems"]
EOF
"$VIGIL" store check --data "$T/no-store" 2> "$T/check_none.err"
check "store check of a missing store exits 2" test $? -eq 2
check "store check of a missing store says so" grep -q "there is no store at" "$T/check_none.err"

# ---- another process holds the store: reads work, writes say how
mkfifo "$T/fifo"
"$VIGIL" ingest --data "$D" --no-progress "$T/fifo" 2> "$T/holder.err" &
HOLDER=$!
exec 3<> "$T/fifo"
held=0
for _ in $(seq 1 600); do  # until the holder has the store's LOCK open
  if ls -l /proc/$HOLDER/fd 2>/dev/null | grep -q "$D/LOCK"; then held=1; break; fi
  sleep 0.1
done
check "the holder takes the store" test $held -eq 1
"$VIGIL" leads review --data "$D" probe-absent --status new --user t 2> "$T/busy.err"
check "write while held exits 2" test $? -eq 2
check "write gives the clear message" grep -q "the store at $D is held by a running vigild; use its API (POST /v1/leads/probe-absent/review) or stop it" "$T/busy.err"
"$VIGIL" leads list --data "$D" --limit 100000 --json > "$T/while_held.jsonl" 2> "$T/read.err"
check "read while held works" test "$(json_lines < "$T/while_held.jsonl")" -eq $((N + 1))
check "no raw lock error" bash -c "! grep -qi 'lock' '$T/read.err' '$T/busy.err'"
"$VIGIL" store check --data "$D" > "$T/check_held.txt" 2>&1
check "store check while held works" grep -q "^consistent" "$T/check_held.txt"
"$VIGIL" ingest --data "$D" "$T/corpus.jsonl" 2> "$T/busy2.err"
check "second ingest exits 2" test $? -eq 2
check "second ingest says how" grep -q "use its API (POST /v1/ads)" "$T/busy2.err"
"$VIGIL" store compact --data "$D" > /dev/null 2> "$T/busy3.err"
check "store compact while held exits 2" test $? -eq 2
check "store compact while held says to stop vigild" \
  grep -q "the store at $D is held by a running vigild; stop it first$" "$T/busy3.err"
printf '{"id":"ad-x2","text":"fresh"}\n' >&3
exec 3>&-
wait $HOLDER
check "holder ingest finishes" test $? -eq 0
HOLDER=

# ---- rescans
PACK2=$T/pack2
cp -r "$SRC/rules/packs/core" "$PACK2"
sed -i 's/^version: .*/version: 1.1.0/; s/^threshold: .*/threshold: 0.6/' "$PACK2/pack.yaml"
rm "$PACK2/movement.yaml"

snapshot() {  # the store's content as the CLI shows it
  "$VIGIL" leads list --data "$1" --limit 100000 --json | sort
  for id in ad-0000001 ad-0000002 ad-0000500 "$ID"; do
    "$VIGIL" leads show --data "$1" --color never "$id" | grep -v "ingested at" |
      sed 's/ in the rescan finished [0-9TZ:-]*)/)/'
  done
  "$VIGIL" entities show --data "$1" phone "$PHONE"
}
snapshot "$D" > "$T/before.snap"
"$VIGIL" rescan --data "$D" --rules "$PACK2" --dry-run --report "$T/dry.json" > "$T/dry.txt" 2>&1
check "dry run exits 0" test $? -eq 0
snapshot "$D" > "$T/after_dry.snap"
check "dry run leaves the store unchanged" cmp -s "$T/before.snap" "$T/after_dry.snap"
check "dry run report is JSON with rules and categories" python3 - "$T/dry.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["dry_run"] and r["complete"] and r["rescanned"] > 3000
assert r["categories"]["movement"]["hits_after"] == 0 and r["categories"]["movement"]["hits_before"] > 0
assert r["no_longer_flagged"] > 0 and r["no_longer_flagged_examples"]
EOF

cp -r "$D" "$T/a"
cp -r "$D" "$T/b"
"$VIGIL" rescan --data "$T/a" --rules "$PACK2" --report "$T/a.json" > /dev/null 2>&1
check "uninterrupted rescan exits 0" test $? -eq 0
check "rescan leaves no write-ahead log to replay" bash -c "! find '$T/a' -name '*.log' -size +0 | grep -q ."

# SIGKILL once a few batches are committed.
"$VIGIL" rescan --data "$T/b" --rules "$PACK2" --batch 16 --threads 2 --json > "$T/b.progress" 2>/dev/null &
R=$!
killed=0
for _ in $(seq 1 2000); do
  n=$(grep -c '"event":"progress"' "$T/b.progress" 2>/dev/null)
  if [ "${n:-0}" -ge 1 ]; then kill -9 $R 2>/dev/null && killed=1; break; fi
  sleep 0.005
done
wait $R 2>/dev/null
check "rescan killed mid-way" test $killed -eq 1
check "killed before the end" bash -c "! grep -q '\"event\":\"done\"' '$T/b.progress'"
"$VIGIL" rescan --data "$T/b" --rules "$SRC/rules/packs/core" > /dev/null 2> "$T/other_pack.err"
check "checkpoint of another pack is refused" test $? -eq 2
check "refusal names the pack and the way out" grep -q "unfinished rescan with pack core@1.1.0.*--restart" "$T/other_pack.err"
"$VIGIL" rescan --data "$T/b" --rules "$PACK2" --json --report "$T/b.json" > "$T/b2.progress" 2>/dev/null
check "resume exits 0" test $? -eq 0
check "resume reports resumed" python3 - "$T/b.json" "$T/a.json" <<'EOF'
import json, sys
b, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert b["resumed"] and b["complete"]
for k in ("examined", "rescanned", "changed", "written", "flagged_before", "flagged_after", "newly_flagged",
          "no_longer_flagged", "rules", "categories"):
    assert b[k] == a[k], (k, b[k], a[k])
EOF
snapshot "$T/a" > "$T/a.snap"
snapshot "$T/b" > "$T/b.snap"
check "killed and resumed equals uninterrupted" cmp -s "$T/a.snap" "$T/b.snap"
check "rescan changed the store" bash -c "! cmp -s '$T/before.snap' '$T/a.snap'"
"$VIGIL" leads list --data "$T/a" --limit 100000 --json > "$T/a_all.jsonl"
# Findings the new pack reproduces but for its label are left as they were
# (labelled with the pack that produced them); the others are replaced.
check "no lead deleted, replaced ones under the new pack" python3 - "$T/a_all.jsonl" $((N + 2)) "$T/a.json" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
report = json.load(open(sys.argv[3]))
assert len(rows) == int(sys.argv[2]), len(rows)
labels = [r["pack_version"] for r in rows]
assert set(labels) == {"core@1.0.0", "core@1.1.0"}, set(labels)
assert labels.count("core@1.1.0") == report["written"] > 0, (labels.count("core@1.1.0"), report["written"])
assert report["written"] >= report["changed"] > 0
assert any(not r["flagged"] and r["base_score"] >= 0.5 for r in rows)  # fell below the new threshold, still listed
EOF
KEPT=$(python3 -c 'import json, sys
print(next(r["id"] for r in map(json.loads, open(sys.argv[1])) if r["pack_version"] == "core@1.0.0"))' "$T/a_all.jsonl")
"$VIGIL" leads show --data "$T/a" --color never "$KEPT" > "$T/kept.txt"
check "an ad left as it was says the new pack found the same" \
  grep -q "pack:         core@1.0.0 (core@1.1.0 found the same in the rescan finished 20" "$T/kept.txt"
REWRITTEN=$(python3 -c 'import json, sys
print(next(r["id"] for r in map(json.loads, open(sys.argv[1])) if r["pack_version"] == "core@1.1.0"))' "$T/a_all.jsonl")
"$VIGIL" export --data "$T/a" --ad "$KEPT" --ad "$REWRITTEN" --format jsonl --user alice -o "$T/cite.jsonl" 2> /dev/null
check "export cites the rescan for the ad it left as it was, not for the rewritten one" \
  python3 - "$T/cite.jsonl" "$KEPT" "$REWRITTEN" <<'EOF'
import json, sys
rows = {r["ad_id"]: r for r in map(json.loads, open(sys.argv[1]))}
kept, rewritten = rows[sys.argv[2]], rows[sys.argv[3]]
assert kept["pack_version"] == "core@1.0.0" and kept["unchanged_by"]["pack"] == "core@1.1.0", kept.get("unchanged_by")
assert kept["unchanged_by"]["finished_at"].startswith("20"), kept["unchanged_by"]
assert rewritten["pack_version"] == "core@1.1.0" and "unchanged_by" not in rewritten
EOF
"$VIGIL" export --data "$T/a" --ad "$KEPT" --ad "$REWRITTEN" --format csv --user alice -o "$T/cite.csv" 2> /dev/null
check "export csv: unchanged_by columns at the end, filled for the ad left as it was" \
  python3 - "$T/cite.csv" "$KEPT" "$REWRITTEN" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
header = rows[0]
assert header[-3:] == ["export_audit_seq", "unchanged_by_pack", "unchanged_by_finished_at"], header[-3:]
assert all(len(r) == len(header) for r in rows), [len(r) for r in rows]
kept = [r for r in rows[1:] if r[0] == sys.argv[2]]
rewritten = [r for r in rows[1:] if r[0] == sys.argv[3]]
assert kept and all(r[-2] == "core@1.1.0" and r[-1].startswith("20") for r in kept), kept
assert rewritten and all(r[-2] == "" and r[-1] == "" for r in rewritten), rewritten
EOF
"$VIGIL" rescan --data "$T/a" --rules "$PACK2" --report "$T/a_again.json" > /dev/null 2>&1
check "a second rescan with the same pack finds the store current" python3 - "$T/a_again.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["complete"] and not r["resumed"] and r["rescanned"] > 3000
assert r["changed"] == 0 and r["written"] == 0 and r["newly_flagged"] == 0 and r["no_longer_flagged"] == 0, r
EOF
"$VIGIL" leads show --data "$T/a" "$ID" > "$T/a_show.txt"
check "review state kept" grep -q "review:       escalated (version 2)" "$T/a_show.txt"
check "review history kept" grep -q "alice: in_review -> escalated: case 17" "$T/a_show.txt"
"$VIGIL" rescan --data "$T/a" --rules "$PACK2" --category no-such-category > "$T/sel.txt" 2>&1
check "selection by category" grep -q "rescanned 0," "$T/sel.txt"

# The report's tables against a reference computed apart: `vigil scan` of
# the same ads with the old and the new pack, counted per rule and
# category (hits, ads with a hit, flagged ads with a hit).
R=$T/ref
"$VIGIL" ingest --no-progress --data "$R" "$T/corpus.jsonl" 2> /dev/null
"$VIGIL" scan --no-progress "$T/corpus.jsonl" > "$T/ref_before.jsonl" 2> /dev/null
"$VIGIL" scan --no-progress --rules "$PACK2" "$T/corpus.jsonl" > "$T/ref_after.jsonl" 2> /dev/null
"$VIGIL" rescan --data "$R" --rules "$PACK2" --dry-run --report "$T/ref_dry.json" > /dev/null 2>&1
"$VIGIL" rescan --data "$R" --rules "$PACK2" --batch 100 --report "$T/ref_wet.json" > /dev/null 2>&1
# Again with the same pack: every ad's findings are as stored (summed per
# batch instead of merged per ad), and the tables must say so.
"$VIGIL" rescan --data "$R" --rules "$PACK2" --dry-run --batch 7 --report "$T/ref_same.json" > /dev/null 2>&1
check "rescan reports match vigil scan with both packs" python3 - "$T/ref_before.jsonl" "$T/ref_after.jsonl" \
  "$T/ref_dry.json" "$T/ref_wet.json" $N "$T/ref_same.json" <<'EOF'
import json, sys
from collections import Counter
def load(path):
    return {r["id"]: r for r in map(json.loads, open(path))}
before, after = load(sys.argv[1]), load(sys.argv[2])
assert len(before) == len(after) == int(sys.argv[5])
def table(results, key):
    hits, ads, flagged = Counter(), Counter(), Counter()
    for r in results.values():
        names = Counter(h[key] for h in r["hits"])
        for name, n in names.items():
            hits[name] += n
            ads[name] += 1
            flagged[name] += r["flagged"]
    return hits, ads, flagged
for path, before in ((sys.argv[3], before), (sys.argv[4], before), (sys.argv[6], after)):
    rep = json.load(open(path))
    assert rep["complete"] and rep["rescanned"] == len(before), (path, rep["rescanned"])
    if before is after:  # the second rescan: the labels as the first left them
        written = json.load(open(sys.argv[4]))["written"]
        packs = {"core@1.0.0": len(before) - written, "core@1.1.0": written}
    else:
        packs = {"core@1.0.0": len(before)}
    assert rep["packs_before"] == packs, (path, rep["packs_before"], packs)
    for key, section in (("rule", "rules"), ("category", "categories")):
        hb, ab, fb = table(before, key)
        ha, aa, fa = table(after, key)
        names = set(hb) | set(ha)
        assert set(rep[section]) == names, (path, section, set(rep[section]) ^ names)
        for name in names:
            d = rep[section][name]
            got = (d["hits_before"], d["hits_after"], d["ads_before"], d["ads_after"], d["flagged_before"], d["flagged_after"])
            want = (hb[name], ha[name], ab[name], aa[name], fb[name], fa[name])
            assert got == want, (path, section, name, got, want)
    assert rep["flagged_before"] == sum(r["flagged"] for r in before.values())
    assert rep["flagged_after"] == sum(r["flagged"] for r in after.values())
    newly = sum(after[i]["flagged"] and not before[i]["flagged"] for i in before)
    gone = sum(before[i]["flagged"] and not after[i]["flagged"] for i in before)
    assert (rep["newly_flagged"], rep["no_longer_flagged"]) == (newly, gone), (rep["newly_flagged"], newly)
    changed = sum(before[i]["score"] != after[i]["score"] or before[i]["flagged"] != after[i]["flagged"] or
                  [(h["rule"], h["start"], h["end"]) for h in before[i]["hits"]] !=
                  [(h["rule"], h["start"], h["end"]) for h in after[i]["hits"]] for i in before)
    assert rep["changed"] == changed, (path, rep["changed"], changed)
    if before is after:
        assert rep["written"] == 0 and not any(d["gained_examples"] or d["lost_examples"]
                                               for d in rep["rules"].values()), path
EOF

# ---- store compact
"$VIGIL" leads list --data "$R" --limit 100000 --json > "$T/ref_leads.jsonl"
"$VIGIL" store compact --data "$R" --json > "$T/compact1.json" 2>&1
check "store compact exits 0" test $? -eq 0
check "store compact shrinks a freshly written store" python3 - "$T/compact1.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert 0 < j["bytes_after"] < j["bytes_before"], j
EOF
"$VIGIL" store compact --data "$R" > "$T/compact.txt" 2>&1
check "store compact reports the table files" \
  grep -Eq "^store .* compacted in [0-9.]+ s: table files [0-9.]+ MB -> [0-9.]+ MB$" "$T/compact.txt"
"$VIGIL" store compact --data "$R" --json > "$T/compact.json"
check "store compact --json: nothing left to do the second time" python3 - "$T/compact.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["bytes_before"] == j["bytes_after"] > 0, j
EOF
"$VIGIL" leads list --data "$R" --limit 100000 --json > "$T/ref_leads_compacted.jsonl"
check "compaction leaves the leads as they were" cmp -s "$T/ref_leads.jsonl" "$T/ref_leads_compacted.jsonl"
"$VIGIL" store check --data "$R" > "$T/compact_check.txt" 2>&1
check "compacted store is consistent" grep -q "^consistent" "$T/compact_check.txt"
"$VIGIL" store compact --data "$T/no-store" > /dev/null 2> "$T/compact_missing.err"
check "store compact of a missing store exits 2" test $? -eq 2
check "store compact says there is no store" grep -q "there is no store at $T/no-store" "$T/compact_missing.err"

echo "store_cli_test: $PASSES passed, $FAILS failed"
[ $FAILS -eq 0 ]

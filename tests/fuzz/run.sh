#!/usr/bin/env bash
# Runs libFuzzer targets for a bounded time each, on a temporary copy of
# their seed corpus (tests/fuzz/corpus/<target>), so runs never write into
# the repository. A crash, leak, timeout or broken invariant fails the run;
# the reproducer is kept in BUILD/fuzz-artifacts/<target>/.
#
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
set -euo pipefail

BUILD=$(cd "$1" && pwd)
SECONDS_EACH=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/vigil_fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Per-target input size (bytes) and per-input timeout (seconds).
max_len() {
  case "$1" in
    fuzz_rule_pack) echo 8192 ;;
    fuzz_document_parser) echo 65536 ;;
    fuzz_normalize) echo 16384 ;;
    fuzz_phone_extractor) echo 4096 ;;
    fuzz_api_service) echo 16384 ;;
    fuzz_http_server) echo 16384 ;;
    *) echo 4096 ;;
  esac
}
per_input_timeout() {
  case "$1" in
    fuzz_rule_pack) echo 60 ;;  # a Hyperscan compile of a nasty pattern
    fuzz_http_server) echo 60 ;;  # it waits up to 20 s for the server itself
    *) echo 10 ;;
  esac
}
# Extra libFuzzer flags. fuzz_http_server: no per-input leak check (the
# server frees a session's memory after the input returns, so every input
# would look leaky and trigger a full LSan pass); leaks are still checked
# once at exit.
extra_flags() {
  case "$1" in
    fuzz_http_server) echo -detect_leaks=0 ;;
    *) ;;
  esac
}

failed=()
for target in "$@"; do
  corpus="$WORK/$target"
  artifacts="$BUILD/fuzz-artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  if [[ -d "$HERE/corpus/$target" ]]; then cp -r "$HERE/corpus/$target/." "$corpus/"; fi
  seeds=$(find "$corpus" -type f | wc -l)
  echo "fuzz: $target for ${SECONDS_EACH}s, $seeds seeds, max_len $(max_len "$target")"
  set +e
  # The outer timeout: libFuzzer's own out-of-memory handler walks the whole
  # heap for its memory profile and has been seen to spin for many minutes;
  # a run that overstays fails with its reason instead of hanging CI.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    timeout --kill-after=10 "$((2 * SECONDS_EACH + 300))" \
    "$BUILD/bin/$target" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$target")" \
    -timeout="$(per_input_timeout "$target")" -rss_limit_mb=2560 -print_final_stats=1 $(extra_flags "$target") \
    -artifact_prefix="$artifacts/" "$corpus" >"$WORK/$target.log" 2>&1
  rc=$?
  set -e
  stats=$(grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$WORK/$target.log" | tr '\n' ' ' || true)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$WORK/$target.log" | tail -n 1 || true)
  if [[ $rc -ne 0 ]]; then
    # The log's tail, then the lines that say what went wrong, last, so that
    # a CI view showing only the end of the output still shows the reason.
    tail -n 40 "$WORK/$target.log"
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
      echo "fuzz: $target overstayed its time and was killed (exit $rc); the input it was running is not saved"
    fi
    echo "fuzz: $target FAILED (exit $rc); reproducer in $artifacts"
    grep -E -A3 'ERROR|invariant broken|SUMMARY|==[0-9]+==' "$WORK/$target.log" | head -n 20 || true
    failed+=("$target")
  else
    echo "fuzz: $target ok: $cov $stats corpus $(find "$corpus" -type f | wc -l) files"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: failed: ${failed[*]}"
  exit 1
fi

#!/usr/bin/env bash
# A short run of every fuzz target from its committed seed corpus (docs/fuzzing.md).
#
#   fuzz/ci.sh [SECONDS]      # default 60 per target; KEYGATE_FUZZ_SECONDS works as well
#
# Builds with the stable toolchain and no sanitizer (`-s none`), which cargo-fuzz supports
# without nightly: keygate-core forbids unsafe code and cargo-fuzz would not instrument aws-lc's
# C anyway, so AddressSanitizer would buy little here and cost a nightly toolchain and half the
# speed. Any crash, panic (a failed property), timeout or out-of-memory fails the script; the
# input that did it is left in fuzz/artifacts/<target>/ and printed in base64.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-${KEYGATE_FUZZ_SECONDS:-60}}
targets=(public_key signed_request decrypt_fields splice request_target)

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz

start=$(date +%s)
cargo fuzz build -s none
echo "fuzz build: $(($(date +%s) - start)) s"

for target in "${targets[@]}"; do
  # New inputs go to a scratch directory, so the committed seeds stay as they are.
  scratch=$(mktemp -d)
  log=$(mktemp)
  mkdir -p "artifacts/$target"
  echo "==> fuzzing $target for ${seconds} s"
  if cargo fuzz run -s none "$target" "$scratch" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log"
  else
    # Everything but the progress lines: the panic message, the stack, the input.
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" | tail -n 200
    for crash in "artifacts/$target"/*; do
      [ -f "$crash" ] && echo "crashing input $crash (base64): $(base64 -w0 "$crash")"
    done
    rm -rf "$scratch" "$log"
    echo "fuzz target $target failed" >&2
    exit 1
  fi
  rm -rf "$scratch" "$log"
done
echo "fuzzing: $(($(date +%s) - start)) s in all"

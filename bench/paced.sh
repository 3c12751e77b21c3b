#!/usr/bin/env bash
# bench/paced.sh [RUNS]: the latency of the signed card read at half of peak load (issue 14's
# "p99 < 2 ms at half of peak load on the SQLite path"; BENCHMARKS.md, "p99 at half load").
# Each run: `keygate serve --demo` on a fresh SQLite file pinned to CPU 0, wrk pinned to CPU 1,
# the same pre-signed RS256 requests as ../shared/bench/side-by-side.sh (its gen-signed.py and
# venv). First the peak, as side-by-side measures it (32 connections, as fast as answered);
# then bench/paced.lua sends at FRACTION (0.5) of that peak, Poisson arrivals, and reports
# p50/p90/p99/p99.9. Prints one line per run:
#   PACED peak_rps=.. target_rps=.. rps=.. p50=..ms p90=..ms p99=..ms p999=..ms non2xx=..
# Env: KEYGATE_BIN (default target/release/keygate), FRACTION (0.5), CONNS (32),
#      PEAK_DURATION (8s), DURATION (20s), KEYGATE_BENCH_CACHE (as side-by-side.sh).
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared/bench
runs=${1:-1} fraction=${FRACTION:-0.5} conns=${CONNS:-32}
peak_duration=${PEAK_DURATION:-8s} duration=${DURATION:-20s}
cache=${KEYGATE_BENCH_CACHE:-$HOME/.cache/keygate-bench}
py=$cache/venv/bin/python
kg=$(realpath "${KEYGATE_BIN:-$root/target/release/keygate}")
port=18081 base=http://127.0.0.1:18081
[ -x "$py" ] || { python3 -m venv "$cache/venv" && "$cache/venv/bin/pip" install -q pyjwt cryptography jwcrypto; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }

secs() { echo "${1%s}"; }
for r in $(seq "$runs"); do
  work=$(mktemp -d /tmp/paced.XXXXXX)
  openssl genrsa -out "$work/priv.pem" 2048 2>/dev/null
  openssl rsa -in "$work/priv.pem" -pubout -out "$work/pub.pem" 2>/dev/null
  (cd "$work" && RUST_LOG=warn exec taskset -c 0 "$kg" serve --demo --listen 127.0.0.1:$port \
      --database-url "sqlite://$work/kg.db" >"$work/server.out" 2>"$work/server.err") &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 150); do curl -sf -o /dev/null "$base/healthz" && break; sleep 0.1; done
  api_key=$(awk '/api_key:/ {print $2}' "$work/server.out")
  password=$(awk '/password:/ {print $2}' "$work/server.out")
  token=$(curl -sf "$base/auth/login" -H 'content-type: application/json' \
    -d "{\"api_client\":{\"api_key\":\"$api_key\",\"password\":\"$password\"}}" | jq -r .data.access_token)
  kid=$(curl -sf "$base/clients/api_key/public_key" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d "$(jq -Rs '{public_key: .}' "$work/pub.pem")" | jq -r .data.key.id)
  gen=("$py" "$shared/gen-signed.py" --key "$work/priv.pem" --kid="$kid" --token="$token" --path /demo/cards/42)
  # Enough for the peak run at up to 15,000 req/s, and for the paced run at half of that.
  "${gen[@]}" -n $((15000 * $(secs "$peak_duration"))) -o "$work/peak.sigs" >&2
  "${gen[@]}" -n $((8000 * $(secs "$duration"))) -o "$work/paced.sigs" >&2
  WRK_CONNS=$conns "$shared/load.sh" "$base/demo/cards/42" "$work/peak.sigs" "$peak_duration" >"$work/peak.txt"
  peak=$(awk '/^RESULT/ { sub("rps=", "", $2); print $2 }' "$work/peak.txt")
  target=$(awk -v p="$peak" -v f="$fraction" 'BEGIN { printf "%.0f", p * f }')
  echo "== run $r/$runs: peak $peak req/s, pacing at $target req/s ($fraction)" >&2
  sleep 1
  taskset -c 1 wrk -t1 -c"$conns" -d"$duration" --latency -s "$root/bench/paced.lua" \
    "$base/demo/cards/42" -- "$work/paced.sigs" "$token" "$target" "$conns" >"$work/paced.txt"
  kill $pid; wait $pid 2>/dev/null || true
  trap - EXIT
  awk -v peak="$peak" -v target="$target" '
    /Requests\/sec:/ { rps = $2 }
    /^paced p50:/ { p50 = $3 } /^paced p90:/ { p90 = $3 } /^paced p99:/ { p99 = $3 } /^paced p99.9:/ { p999 = $3 }
    /^non2xx:/ { bad = $2 } /^exhausted:/ { ex = $2 }
    END { printf "PACED peak_rps=%s target_rps=%s rps=%s p50=%sms p90=%sms p99=%sms p999=%sms non2xx=%s exhausted=%s\n",
                 peak, target, rps, p50, p90, p99, p999, bad, ex }' "$work/paced.txt"
  rm -rf "$work"
done

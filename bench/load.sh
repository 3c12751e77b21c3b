#!/usr/bin/env bash
# Load test of the gateway hot path (see BENCHMARKS.md, "Gateway").
#   cargo build --release -p keygate && cargo build --release -p keygate-client --example presign
#   bench/load.sh [DURATION_S] [CONNECTIONS] [COUNT]
# Starts `keygate serve --demo` pinned to CPU 0 (fresh SQLite database in a temp dir), sets up
# the demo client with a new key, pre-signs COUNT requests with unique jtis, replays them with
# wrk pinned to CPU 1, and reports requests/s, latency, CPU per request and (with perf) the share
# of keygate's CPU time spent in aws-lc's RSA/bignum code.
set -euo pipefail
DURATION=${1:-15}
CONNS=${2:-16}
COUNT=${3:-150000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
KG=${KEYGATE_BIN:-$TARGET/keygate}   # KEYGATE_BIN: another build, for before/after runs
PRESIGN=$TARGET/examples/presign
WORK=$(mktemp -d)
PORT=${PORT:-18443}
URL=http://127.0.0.1:$PORT
cd "$WORK"

RUST_LOG=warn taskset -c 0 "$KG" serve --demo --listen 127.0.0.1:$PORT --database-url "${DATABASE_URL:-sqlite://load.db}" > serve.out 2> serve.err &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "$URL/healthz" > /dev/null && break; sleep 0.2; done
API_KEY=$(awk '/api_key:/ {print $2}' serve.out)
PASSWORD=$(awk '/password:/ {print $2}' serve.out)
export KEYGATE_URL=$URL KEYGATE_STATE=$WORK/session.json
"$KG" client keygen --out keys > /dev/null
"$KG" client login --api-key "$API_KEY" --password "$PASSWORD" > /dev/null
"$KG" client upload-key keys/public.pem > /dev/null
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' session.json)
KID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key_id"])' session.json)
"$KG" client call GET /demo/cards/42 --key keys/private.pem > /dev/null   # warm the caches

echo "pre-signing $COUNT requests..."
"$PRESIGN" keys/private.pem "$TOKEN" "$KID" GET /demo/cards/42 "$COUNT" sigs.txt

cpu_ticks() { awk '{print $14, $15}' /proc/$SERVER/stat; }
TICK=$(getconf CLK_TCK)
BEFORE=$(cpu_ticks)
PERF=""
if command -v perf > /dev/null; then
  perf record ${PERF_ARGS:--F 499 --call-graph dwarf,8192} -p $SERVER -o perf.data -- sleep "$DURATION" > /dev/null 2>&1 &
  PERF=$!
fi
WRK_THREADS=1 taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$ROOT/bench/presigned.lua" "$URL" -- sigs.txt "$TOKEN" /demo/cards/42 | tee wrk.out
AFTER=$(cpu_ticks)
[ -n "$PERF" ] && wait $PERF || true
REQUESTS=$(awk '/requests in/ {print $1}' wrk.out)
python3 - $BEFORE $AFTER "$TICK" "$REQUESTS" <<'PY'
import sys
u0, s0, u1, s1, tick, requests = (int(x) for x in sys.argv[1:])
user, system = (u1 - u0) / tick, (s1 - s0) / tick
cpu = user + system
print(f"keygate CPU: {cpu:.2f} s ({user:.2f} user + {system:.2f} system) for {requests} requests"
      f" = {cpu / requests * 1e6:.1f} us CPU per request ({user / requests * 1e6:.1f} us user)")
PY
if [ -n "$PERF" ]; then
  perf report -i perf.data --no-children --sort dso,symbol --stdio 2> /dev/null > perf.txt || true
  perf report -i perf.data --children --sort symbol --stdio -g none 2> /dev/null > perf-children.txt || true
  python3 - perf-children.txt <<'PY'
import re, sys
# Inclusive time of the aws-lc-rs RSA entry points the hot path calls: OAEP encryption (the JWE
# key wrap) and signature verification (PKCS#1 v1.5 / PSS), each with everything below it
# (padding, MGF1 hashing, bignum arithmetic).
entry = {"oaep encrypt": "OaepPublicEncryptingKey::encrypt", "verify": "parsed_verify_sig"}
found = {}
kernel = 0.0
for line in open(sys.argv[1]):
    m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    children, self_, kind, sym = float(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
    if kind == "k":
        kernel += self_
    for name, pattern in entry.items():
        if pattern in sym and name not in found:
            found[name] = children
if found:
    rsa = sum(found.values())
    parts = ", ".join(f"{k} {v:.1f}%" for k, v in found.items())
    print(f"perf (call graph): RSA operations = {rsa:.1f}% of keygate's CPU time ({parts});"
          f" kernel {kernel:.1f}%; RSA share of user-space time = {rsa / (100 - kernel) * 100:.1f}%")
PY
  python3 - perf.txt <<'PY'
import re, sys
rsa = total = 0.0
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[\.\]\s+(\S+)", line)
    if not m:
        continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
    total += pct
    rows.append((pct, sym))
    # aws-lc's RSA and bignum code (Montgomery multiplication, modular exponentiation, RSA
    # padding checks): the RSA operations themselves.
    if re.search(r"(?i)(bn_|rsa|mont|mul_add|sqr_add|mulx|_mul4x|_sqr8x|gather5|scatter5|bn_mod)", sym):
        rsa += pct
print(f"perf (flat): {rsa:.1f}% of keygate's CPU samples in aws-lc RSA/bignum functions ({total:.1f}% of samples in user space)")
print("top symbols:")
for pct, sym in sorted(rows, reverse=True)[:25]:
    print(f"  {pct:5.2f}%  {sym}")
PY
fi
grep -E "signatures used|non-200" wrk.out || true
echo "work dir: $WORK"

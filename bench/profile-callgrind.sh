#!/usr/bin/env bash
# profile-callgrind.sh BIN OUTDIR [N]: callgrind profile of N signed demo card reads on SQLite,
# counted after 20 warm-up calls (counters zeroed), on one keep-alive connection. Needs valgrind,
# jq, curl, openssl and the bench venv of ../shared/bench/side-by-side.sh. Compare two builds with
# `callgrind_annotate OUTDIR/cg.out.1` (BENCHMARKS.md, stop 17).
set -euo pipefail
bin=$(realpath "$1") out=$(realpath -m "$2") n=${3:-400}
here=$(cd "$(dirname "$0")/../../shared/bench" && pwd)   # ../shared beside the repository
py=$HOME/.cache/keygate-bench/venv/bin/python
[ -x "$py" ] || { python3 -m venv ~/.cache/keygate-bench/venv && ~/.cache/keygate-bench/venv/bin/pip install -q pyjwt cryptography jwcrypto; }
rm -rf "$out"; mkdir -p "$out"; cd "$out"
port=${PORT:-18181} base=http://127.0.0.1:$port
openssl genrsa -out priv.pem 2048 2>/dev/null; openssl rsa -in priv.pem -pubout -out pub.pem 2>/dev/null
RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file=$out/cg.out "$bin" serve --demo --listen 127.0.0.1:$port --database-url sqlite://$out/kg.db >server.out 2>server.err &
pid=$!
for _ in $(seq 600); do [ "$(curl -s -o /dev/null -w '%{http_code}' $base/healthz)" != 000 ] && break; sleep 0.2; done
api_key=$(awk '/api_key:/ {print $2}' server.out); password=$(awk '/password:/ {print $2}' server.out)
token=$(curl -sf "$base/auth/login" -H 'content-type: application/json' -d "{\"api_client\":{\"api_key\":\"$api_key\",\"password\":\"$password\"}}" | jq -r .data.access_token)
kid=$(curl -sf "$base/clients/api_key/public_key" -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$(jq -Rs '{public_key: .}' pub.pem)" | jq -r .data.key.id)
"$py" $here/gen-signed.py --key priv.pem --kid="$kid" --token="$token" --path /demo/cards/42 -n $((n+20)) -o sigs >/dev/null
# warm-up 20 calls, then zero, then n calls on one keep-alive connection
"$py" - "$port" sigs "$token" 20 0 <<'PY'
import sys, http.client
port, f, token, n, skip = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sigs = open(f).read().split()
c = http.client.HTTPConnection("127.0.0.1", int(port))
for s in sigs[skip:skip+n]:
    c.request("GET", "/demo/cards/42", headers={"authorization": "Bearer " + token, "x-request-signature": s})
    r = c.getresponse(); r.read(); assert r.status == 200, r.status
PY
callgrind_control -z $pid >/dev/null
"$py" - "$port" sigs "$token" $n 20 <<'PY'
import sys, http.client
port, f, token, n, skip = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sigs = open(f).read().split()
c = http.client.HTTPConnection("127.0.0.1", int(port))
for s in sigs[skip:skip+n]:
    c.request("GET", "/demo/cards/42", headers={"authorization": "Bearer " + token, "x-request-signature": s})
    r = c.getresponse(); r.read(); assert r.status == 200, r.status
PY
callgrind_control -d $pid >/dev/null
kill $pid; wait $pid 2>/dev/null || true
ls $out

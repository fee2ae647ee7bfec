#!/usr/bin/env bash
# Throughput of 1, 2 or 3 nodes on one PostgreSQL database (not part of CI):
# starts NODES release servers on a fresh schema of $MILLRACE_PG_URL (or of a
# throw-away cluster it starts), then drives every node at once with wrk,
# CONNS connections in all, split evenly: instance starts for DURATION
# seconds, then completions of the tasks those starts made. Prints the
# successful (2xx) requests per second of each phase, summed over nodes.
#   tests/load/cluster.sh NODES [DURATION_S] [CONNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
NODES=${1:?usage: tests/load/cluster.sh NODES [DURATION_S] [CONNS]}
DURATION=${2:-10}
CONNS=${3:-16}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --quiet
BIN=$PWD/target/release/millrace
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${OWN_PG:-}" ]; then scripts/postgres-scratch.sh stop "$MILLRACE_PG_DIR"; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
if [ -z "${MILLRACE_PG_URL:-}" ]; then
  eval "$(scripts/postgres-scratch.sh start 55499)"
  OWN_PG=1
fi
SCHEMA=load_$(date +%s%N)
psql -q "$MILLRACE_PG_URL" -c "CREATE SCHEMA $SCHEMA"
DB="$MILLRACE_PG_URL?options=-c%20search_path%3D$SCHEMA"
for i in $(seq 0 $((NODES - 1))); do
  MILLRACE_ADMIN_PASSWORD=load-admin-password "$BIN" serve --database "$DB" --bind 127.0.0.1:$((18700 + i)) \
    --node-id "node-$i" --processes tests/fixtures/http >"$TMP/node-$i.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((18700 + i))/health" >/dev/null && break; sleep 0.1; done
done
BASE=http://127.0.0.1:18700
curl -sf -c "$TMP/jar" -H 'content-type: application/json' -d '{"username":"admin","password":"load-admin-password"}' "$BASE/api/login" >"$TMP/login.json"
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrfToken"])' "$TMP/login.json")
curl -sf -b "$TMP/jar" -H "x-csrf-token: $CSRF" -H 'content-type: application/json' \
  -d '{"name":"loader","password":"loader-password-1","role":"system","groups":["billing-specialists"]}' "$BASE/api/users" >/dev/null
TOKEN=$("$BIN" token create --user loader --database "$DB")
export TOKEN THREADS=1
PER=$((CONNS / NODES))

rate() { # sums 2xx requests per second over the wrk reports given
  python3 - "$DURATION" "$@" <<'PY'
import re, sys
duration, total = float(sys.argv[1]), 0.0
for f in sys.argv[2:]:
    t = open(f).read()
    n = int(re.search(r"(\d+) requests in", t).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    total += (n - (int(bad.group(1)) if bad else 0)) / duration
print(f"{total:.0f}")
PY
}

for i in $(seq 0 $((NODES - 1))); do
  wrk -t1 -c"$PER" -d"${DURATION}s" --latency -s tests/load/start.lua "http://127.0.0.1:$((18700 + i))" >"$TMP/start-$i.txt" &
done
while pgrep -x wrk >/dev/null; do sleep 0.2; done
echo "nodes=$NODES starts_per_s=$(rate "$TMP"/start-*.txt) p99_ms=$(grep -h ' 99%' "$TMP"/start-*.txt | awk '{print $2}' | tr '\n' ' ')"

python3 - "$BASE" "$TOKEN" >"$TMP/ids.txt" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
offset = 0
while True:
    req = urllib.request.Request(f"{base}/api/tasks?limit=500&offset={offset}", headers={"Authorization": f"Bearer {token}"})
    page = json.load(urllib.request.urlopen(req))
    if not page: break
    for t in page: print(t["id"])
    offset += len(page)
PY
split -n "r/$NODES" -d "$TMP/ids.txt" "$TMP/ids-"
for i in $(seq 0 $((NODES - 1))); do
  IDS=$TMP/ids-0$i wrk -t1 -c"$PER" -d"${DURATION}s" --latency -s tests/load/complete.lua "http://127.0.0.1:$((18700 + i))" >"$TMP/complete-$i.txt" &
done
while pgrep -x wrk >/dev/null; do sleep 0.2; done
echo "nodes=$NODES completions_per_s=$(rate "$TMP"/complete-*.txt) open_tasks_before=$(wc -l <"$TMP/ids.txt") p99_ms=$(grep -h ' 99%' "$TMP"/complete-*.txt | awk '{print $2}' | tr '\n' ' ')"

#!/usr/bin/env bash
# Other requests' latency while a script runs at its limit (not part of CI):
# a release server on a temporary SQLite database; wrk starts the `approval`
# process for DURATION seconds twice, first alone, then while another client
# keeps starting a process whose script task runs until the 100 ms wall-clock
# limit stops it (each run becomes an incident). Scripts run inside the
# write transaction, so the second run shows what one script at its limit
# costs everyone else. Prints wrk's latency reports.
#   tests/load/script-limit.sh [DURATION_S] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNS=${2:-16}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --quiet
BIN=$PWD/target/release/millrace
TMP=$(mktemp -d)
PORT=18556
mkdir "$TMP/processes"
cp tests/fixtures/http/approval.bpmn "$TMP/processes/"
cat >"$TMP/processes/runaway.bpmn" <<'BPMN'
<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
  <process id="runaway" isExecutable="true">
    <startEvent id="s"/>
    <scriptTask id="busy" scriptFormat="rhai"><script>let s = ""; loop { s = "x"; s.pad(100000, 'x'); }</script></scriptTask>
    <endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="busy"/>
    <sequenceFlow id="f2" sourceRef="busy" targetRef="e"/>
  </process>
</definitions>
BPMN
MILLRACE_ADMIN_PASSWORD=load-admin-password "$BIN" serve --database "$TMP/load.db" --bind 127.0.0.1:$PORT \
  --processes "$TMP/processes" >"$TMP/server.log" 2>&1 &
SERVER=$!
BUSY=
trap 'kill $SERVER $BUSY 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
BASE=http://127.0.0.1:$PORT
curl -sf -c "$TMP/jar" -H 'content-type: application/json' -d '{"username":"admin","password":"load-admin-password"}' "$BASE/api/login" >"$TMP/login.json"
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrfToken"])' "$TMP/login.json")
curl -sf -b "$TMP/jar" -H "x-csrf-token: $CSRF" -H 'content-type: application/json' \
  -d '{"name":"loader","password":"loader-password-1","role":"system","groups":["billing-specialists"]}' "$BASE/api/users"
TOKEN=$("$BIN" token create --user loader --database "$TMP/load.db")
export TOKEN THREADS=2

echo "== starts alone: $CONNS connections, ${DURATION}s"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s tests/load/start.lua "$BASE"

(
  n=0
  while true; do
    curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
      -d '{}' "$BASE/api/process-definitions/runaway/start"
    n=$((n + 1)); echo $n >"$TMP/busy.count"
  done
) &
BUSY=$!
sleep 1
echo "== starts while another client keeps a script at its limit: $CONNS connections, ${DURATION}s"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s tests/load/start.lua "$BASE"
kill $BUSY; wait $BUSY 2>/dev/null || true
BUSY=
echo "   scripts stopped at their limit meanwhile: $(cat "$TMP/busy.count")"
curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/api/incidents" | python3 -c 'import json,sys; i=json.load(sys.stdin); print("   incidents:", len(i), "first:", i[0]["message"] if i else None)'

#!/usr/bin/env bash
# The inbox at scale (issue 10's figures in docs/PERFORMANCE.md; a benchmark,
# not part of CI). A release server on a temporary SQLite database holding N
# open tasks (default 1,000,000), each in its own instance with an account
# number and one of 1,000 customer names in the variable index; one task in
# ten is offered to billing-specialists, the reader's group. Measured:
# - the server, with wrk (2 threads, 4 connections): the first page
#   unfiltered, filtered by account number (one match) and by customer name
#   (1,000 matches, all in the reader's group), and by process (every task);
# - end to end, from Debian's Chromium (tests/browser/inbox-bench.mjs): from
#   navigating to the filtered inbox page until its rows show.
#   [MILLRACE_BIN=…] tests/load/inbox-filter.sh [N] [DURATION_S]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
DURATION=${2:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
# MILLRACE_BIN: a release binary built already (the build is long on 2 cores).
[ -n "${MILLRACE_BIN:-}" ] || cargo build --release --quiet --bin millrace
BIN=${MILLRACE_BIN:-$PWD/target/release/millrace}
TMP=$(mktemp -d)
PORT=18556
BASE=http://127.0.0.1:$PORT
export MILLRACE_ADMIN_PASSWORD=load-admin-password
serve() {
  "$BIN" serve --database "$TMP/load.db" --bind 127.0.0.1:$PORT --processes tests/fixtures/http >>"$TMP/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.2; done
}
serve
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
curl -sf -c "$TMP/jar" -H 'content-type: application/json' -d "{\"username\":\"admin\",\"password\":\"$MILLRACE_ADMIN_PASSWORD\"}" "$BASE/api/login" >"$TMP/login.json"
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrfToken"])' "$TMP/login.json")
curl -sf -b "$TMP/jar" -H "x-csrf-token: $CSRF" -H 'content-type: application/json' \
  -d '{"name":"clerk","password":"clerk-password-123","role":"staff","groups":["billing-specialists"]}' "$BASE/api/users"
kill $SERVER; wait $SERVER 2>/dev/null || true

echo "== $N open tasks, each in its own instance with accountNumber and customerName indexed"
python3 - "$TMP/load.db" "$N" <<'PY'
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
t0 = time.time()
c.execute("""WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM k WHERE i < ?)
             INSERT INTO tasks (id, instance_id, local_id, key, node_id, name, priority, created_at)
             SELECT 'bulk:' || i || ':1', 'bulk:' || i, 1, 'approval', 'Task_Review', 'Review request', 50,
                    strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds') FROM k""", (n,))
# The columns the inbox shows of each request; the body is not read by it.
c.execute("""INSERT INTO instances (id, key, version, business_key, state, has_incident, started_at, rev, body, status, request_id)
             SELECT instance_id, 'approval', 1, NULL, 'active', 0, created_at, 1, '{}', 'Awaiting review',
                    printf('REQ-B-%07d', substr(instance_id, 6)) FROM tasks WHERE id LIKE 'bulk:%'""")
c.execute("""INSERT INTO task_candidates (task_id, kind, name, priority, created_at)
             SELECT id, 'group', CASE WHEN substr(instance_id, 6) % 10 = 0 THEN 'billing-specialists' ELSE 'installers' END,
                    priority, created_at FROM tasks WHERE id LIKE 'bulk:%'""")
c.execute("""INSERT INTO instance_variables (instance_id, name, value)
             SELECT instance_id, 'accountNumber', printf('ACC-B-%07d', substr(instance_id, 6)) FROM tasks WHERE id LIKE 'bulk:%'""")
c.execute("""INSERT INTO instance_variables (instance_id, name, value)
             SELECT instance_id, 'customerName', 'Customer ' || (substr(instance_id, 6) % 1000) FROM tasks WHERE id LIKE 'bulk:%'""")
c.commit()
c.execute("ANALYZE")
c.commit()
print("  tasks:", c.execute("SELECT COUNT(*) FROM tasks").fetchone()[0],
      " variable rows:", c.execute("SELECT COUNT(*) FROM instance_variables").fetchone()[0],
      f" ({time.time() - t0:.0f} s to load)")
PY
serve
export TOKEN=$("$BIN" token create --user clerk --database "$TMP/load.db")
for path in "/api/tasks?limit=50" \
            "/api/tasks?limit=50&variableName=accountNumber&variableValue=ACC-B-0000420" \
            "/api/tasks?limit=50&variableName=customerName&variableValue=Customer%20420" \
            "/api/tasks?limit=50&processKey=approval"; do
  echo "== GET $path, 4 connections, ${DURATION}s"
  INBOX_PATH=$path wrk -t2 -c4 -d"${DURATION}s" --latency -s tests/load/get.lua "$BASE" | grep -E "Latency|50%|75%|90%|99%|Requests/sec|Non-2xx"
done
echo "== end to end in Chromium"
(cd tests/browser && MILLRACE_URL=$BASE node inbox-bench.mjs)

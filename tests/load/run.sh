#!/usr/bin/env bash
# HTTP load benchmark on loopback (not part of CI): starts a release server on
# a temporary database, then measures instance starts, task completions and
# the inbox query with wrk (Debian's package). Prints wrk's reports.
#   tests/load/run.sh [DURATION_S] [CONNECTIONS] [INBOX_TASKS]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNS=${2:-16}
INBOX_TASKS=${3:-1000000}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --quiet
BIN=$PWD/target/release/millrace
TMP=$(mktemp -d)
PORT=18555
MILLRACE_ADMIN_PASSWORD=load-admin-password "$BIN" serve --database "$TMP/load.db" --bind 127.0.0.1:$PORT \
  --processes tests/fixtures/http >"$TMP/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
BASE=http://127.0.0.1:$PORT
curl -sf -c "$TMP/jar" -H 'content-type: application/json' -d '{"username":"admin","password":"load-admin-password"}' "$BASE/api/login" >"$TMP/login.json"
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrfToken"])' "$TMP/login.json")
curl -sf -b "$TMP/jar" -H "x-csrf-token: $CSRF" -H 'content-type: application/json' \
  -d '{"name":"loader","password":"loader-password-1","role":"system","groups":["billing-specialists"]}' "$BASE/api/users"
TOKEN=$("$BIN" token create --user loader --database "$TMP/load.db")
export TOKEN THREADS=2

echo "== starts: POST /api/process-definitions/approval/start, $CONNS connections, ${DURATION}s"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s tests/load/start.lua "$BASE" | tee "$TMP/start.txt"

echo "== collecting open task ids"
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
export IDS=$TMP/ids.txt
echo "   $(wc -l <"$IDS") open tasks"

echo "== completions: POST /api/tasks/{id}/complete (form-validated), $CONNS connections, ${DURATION}s"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s tests/load/complete.lua "$BASE" | tee "$TMP/complete.txt"

echo "== inbox with $INBOX_TASKS open tasks for the user's group"
kill $SERVER; wait $SERVER 2>/dev/null || true
python3 - "$TMP/load.db" "$INBOX_TASKS" <<'PY'
import sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
have = c.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
c.execute("""WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM k WHERE i < ?)
             INSERT INTO tasks (id, instance_id, local_id, key, node_id, name, priority, created_at)
             SELECT 'bulk:' || i, 'bulk', i, 'approval', 'Task_Review', 'Review request', 50,
                    printf('2026-01-01T00:00:%02d.%06dZ', i % 60, i % 1000000) FROM k""", (n - have,))
c.execute("""INSERT INTO task_candidates (task_id, kind, name)
             SELECT id, 'group', CASE WHEN local_id % 10 = 0 THEN 'billing-specialists' ELSE 'installers' END
             FROM tasks WHERE id LIKE 'bulk:%'""")
c.commit()
print("  tasks:", c.execute("SELECT COUNT(*) FROM tasks").fetchone()[0])
PY
MILLRACE_ADMIN_PASSWORD=load-admin-password "$BIN" serve --database "$TMP/load.db" --bind 127.0.0.1:$PORT \
  --processes tests/fixtures/http >>"$TMP/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
wrk -t2 -c4 -d"${DURATION}s" --latency -s tests/load/inbox.lua "$BASE" | tee "$TMP/inbox.txt"

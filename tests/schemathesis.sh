#!/usr/bin/env bash
# Property-based API test: schemathesis (PyPI) generates requests from
# /api/openapi.json against a real server on loopback and checks that no
# response is a 5xx and every response matches the document. On the SQLite
# file it makes, or on the database SCHEMATHESIS_DATABASE names.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import schemathesis" 2>/dev/null || python3 -m pip install --quiet 'schemathesis>=4.32,<5'
BIN=${MILLRACE_BIN:-$PWD/target/debug/millrace}
TMP=$(mktemp -d)
PORT=${SCHEMATHESIS_PORT:-18601}
DB=${SCHEMATHESIS_DATABASE:-$TMP/st.db}
MILLRACE_ADMIN_PASSWORD=schemathesis-admin "$BIN" serve --database "$DB" --bind 127.0.0.1:$PORT \
  --processes tests/fixtures/http >"$TMP/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "schemathesis.sh: the server did not start:" >&2; cat "$TMP/server.log" >&2; exit 1; }
TOKEN=$("$BIN" token create --user admin --database "$DB")
cd "$TMP"
python3 -m schemathesis.cli run "http://127.0.0.1:$PORT/api/openapi.json" \
  -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples 30 --seed 1

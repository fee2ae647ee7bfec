#!/usr/bin/env bash
# The browser tests: Debian's Chromium (installed when missing) driven by
# playwright-core (npm, exact version in package-lock.json) against a real
# `millrace serve` on a fresh SQLite database. Screenshots of each step are
# left in tests/browser/artifacts/.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
export DEBIAN_FRONTEND=noninteractive
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error
BIN=${MILLRACE_BIN:-$ROOT/target/debug/millrace}
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MILLRACE_ADMIN_PASSWORD=browser-admin-password
# The server works on copies of the processes and scripts folders: a test that
# saves a recorded scenario writes into them, never into the checkout.
cp -r "$ROOT/processes" "$ROOT/scripts" "$TMP/"
export BROWSER_PROCESSES_DIR=$TMP/processes
(cd "$ROOT" && exec "$BIN" serve --database "$TMP/browser.db" --bind 127.0.0.1:$PORT \
  --processes "$TMP/processes" --scripts "$TMP/scripts") >"$TMP/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "tests/browser/run.sh: the server did not start:" >&2; cat "$TMP/server.log" >&2; exit 1; }
rm -rf artifacts && mkdir -p artifacts
export MILLRACE_URL=http://127.0.0.1:$PORT
status=0
node --test --test-concurrency=1 ./*.test.mjs || status=$?
cp "$TMP/server.log" artifacts/server.log
if [ "$status" -ne 0 ]; then
  # What the server warned of is often why: shown here, as CI keeps only this output.
  echo "tests/browser/run.sh: the server's warnings and errors (all in artifacts/server.log):" >&2
  sed 's/\x1b\[[0-9;]*m//g' "$TMP/server.log" | grep -E ' (WARN|ERROR) ' | tail -40 >&2 || true
fi
exit $status

#!/usr/bin/env bash
# The designer's speed (docs/PERFORMANCE.md): a release `millrace serve` on a
# fresh SQLite database, measured from Debian's Chromium by bench.mjs.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error
(cd "$ROOT" && cargo build --release --locked --bin millrace)
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MILLRACE_ADMIN_PASSWORD=bench-admin-password
(cd "$ROOT" && exec target/release/millrace serve --database "$TMP/bench.db" --bind 127.0.0.1:$PORT) >"$TMP/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
MILLRACE_URL=http://127.0.0.1:$PORT node bench.mjs

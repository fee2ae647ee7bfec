#!/usr/bin/env bash
# Installs what the tests need and runs every test of Millrace:
# unit, property, snapshot, conformance and CLI tests (cargo), then every
# scenario test (millrace test). Works on a fresh machine with the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# The conformance and benchmark files live beside the checkout, in ../shared.
if [ ! -d ../shared/conformance ]; then
  echo "tests/run.sh: ../shared/conformance is missing (the shared material must sit beside the checkout)" >&2
  exit 2
fi

# The mail test talks to a real SMTP server: aiosmtpd, from PyPI.
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet 'aiosmtpd>=1.4,<2'
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
# The document tests read the PDFs' text with pdftotext: poppler-utils.
command -v pdftotext >/dev/null || { apt-get update -qq && apt-get install -y -qq poppler-utils; }
# The fault tests signal nodes with kill(1) (SIGSTOP, SIGCONT, SIGKILL): procps.
type -P kill >/dev/null || { apt-get update -qq && apt-get install -y -qq procps; }

# The web app's browser side is compiled to wasm by designer/build.rs.
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# The committed JavaScript bundles are what designer/js/package-lock.json makes.
command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
./designer/js/check.sh

cargo build --locked --all-targets

# ---- Pass 1: SQLite -------------------------------------------------------
cargo test --locked --workspace --all-targets
# The API against its own OpenAPI document (schemathesis, from PyPI).
./tests/schemathesis.sh
# Scenario tests: the BPMN behaviour catalogue and the shipped processes.
./target/debug/millrace test tests/scenarios processes
# The web app in a real browser (Debian's Chromium, playwright-core).
./tests/browser/run.sh

# ---- Pass 2: PostgreSQL ---------------------------------------------------
# A throw-away cluster (Debian's postgresql, installed when missing), on a
# free loopback port, removed on exit.
PG_PORT=${MILLRACE_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
# Assigned first, so a failed start stops this script here (eval of a failed
# command substitution would not).
PG_ENV=$(scripts/postgres-scratch.sh start "$PG_PORT")
eval "$PG_ENV"
trap 'scripts/postgres-scratch.sh stop "$MILLRACE_PG_DIR"' EXIT
export MILLRACE_TEST_POSTGRES=$MILLRACE_PG_URL
# The same store, crash, HTTP and mail tests (each in a fresh schema).
cargo test --locked -p millrace-store -p millrace --tests
SCHEMATHESIS_DATABASE=$MILLRACE_PG_URL ./tests/schemathesis.sh
./target/debug/millrace test --postgres "$MILLRACE_PG_URL" tests/scenarios processes
# Three nodes on one database under load: SIGKILL, SIGSTOP past the lease,
# the database restarted, duplicate deliveries.
cargo test --locked --test cluster -- --ignored --test-threads 1

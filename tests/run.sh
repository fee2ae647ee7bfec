#!/usr/bin/env bash
# Installs what the tests need and runs every test of Millrace:
# unit, property, snapshot, conformance and CLI tests (cargo), then every
# scenario test (millrace test). Works on a fresh machine with the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

# The conformance and benchmark files live beside the checkout, in ../shared.
if [ ! -d ../shared/conformance ]; then
  echo "tests/run.sh: ../shared/conformance is missing (the shared material must sit beside the checkout)" >&2
  exit 2
fi

# The mail test talks to a real SMTP server: aiosmtpd, from PyPI.
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet aiosmtpd
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }

cargo build --locked --all-targets
cargo test --locked --workspace --all-targets
# The API against its own OpenAPI document (schemathesis, from PyPI).
./tests/schemathesis.sh
# Scenario tests: the BPMN behaviour catalogue and the shipped processes.
./target/debug/millrace test tests/scenarios processes

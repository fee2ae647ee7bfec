#!/usr/bin/env bash
# Rebuilds the committed bundles from package-lock.json and fails when they
# differ from what is committed (CI runs this).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
node build.mjs
cd ..
if ! git diff --quiet -- assets || [ -n "$(git ls-files --others --exclude-standard -- assets)" ]; then
  echo "designer/js/check.sh: designer/assets differs from what build.mjs makes; run it and commit the result:" >&2
  git status --short -- assets >&2
  exit 1
fi
echo "designer/assets matches designer/js/package-lock.json"

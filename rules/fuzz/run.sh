#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one after the
# other, one process at a time, and prints what each found.
#
#   rules/fuzz/run.sh [SECONDS] [TARGET...]        (default: 60 s, all targets)
#
# Environment:
#   FUZZ_SANITIZER   address (default) or none: none runs about twice as fast;
#                    the engine has no unsafe code, so ASan mostly adds its
#                    allocation checks (huge or leaked allocations).
#   FUZZ_TIMEOUT     seconds one input may take before it counts as a hang (10)
#   FUZZ_RSS_MB      memory limit of the fuzzing process in MiB (2048); one
#                    allocation over it counts as an out-of-memory finding
#   PALISADE_CRS_DIR CRS folder for the seeds and the transaction target
#                    (default ../shared/crs/v4.28.0 from the repository root)
#   CARGO_TARGET_DIR where the instrumented builds go (default fuzz/target)
#
# cargo-fuzz needs nightly-only rustc flags; on the stable toolchain they are
# unlocked with RUSTC_BOOTSTRAP=1 (see README.md). Findings are written to
# artifacts/<target>/, logs to logs/<target>.log; the run goes on past a
# finding, so the counts cover the whole time ("executions" adds up
# libFuzzer's stat::number_of_executed_units over its starts).
set -euo pipefail

secs=${1:-60}
if [[ $# -gt 0 ]]; then shift; fi
all=(seclang_load body_urlencoded body_json body_xml body_multipart transformations transaction)
if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all[@]}"); fi

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
sanitizer=${FUZZ_SANITIZER:-address}
timeout=${FUZZ_TIMEOUT:-10}
rss=${FUZZ_RSS_MB:-2048}
export RUSTC_BOOTSTRAP=1

command -v cargo-fuzz >/dev/null || {
    echo "run.sh: cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
}

target_args=()
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then target_args=(--target-dir "$CARGO_TARGET_DIR"); fi

# Seeds come from the CRS files at run time (they are never committed).
need_seeds=0
for t in "${targets[@]}"; do [[ -d "$fuzz_dir/corpus/$t" ]] || need_seeds=1; done
if [[ $need_seeds = 1 ]]; then
    cargo run --quiet --release --manifest-path "$fuzz_dir/Cargo.toml" --bin make-seeds
fi

mkdir -p "$fuzz_dir/logs"
summary=()
cd "$fuzz_dir/.."    # cargo fuzz looks for ./fuzz
for t in "${targets[@]}"; do
    case $t in
        seclang_load) dict=seclang.dict ;;
        *) dict=http.dict ;;
    esac
    mkdir -p "$fuzz_dir/artifacts/$t"
    cargo fuzz build "${target_args[@]}" -s "$sanitizer" "$t"
    corpora=("$fuzz_dir/corpus/$t")
    if [[ -d "$fuzz_dir/regressions/$t" ]]; then corpora+=("$fuzz_dir/regressions/$t"); fi
    log="$fuzz_dir/logs/$t.log"
    : >"$log"
    echo "== $t: $secs s" >&2
    # libFuzzer stops at a finding; it is started again (on the grown corpus)
    # until the time is used up, so one finding does not end the run. (Fork
    # mode would do the same, but its first jobs last a second or two each,
    # and the transaction target spends several seconds loading CRS per job.)
    runs=0 crashes=0 timeouts=0 ooms=0 starts=0 cov=
    deadline=$(( $(date +%s) + secs ))
    while left=$(( deadline - $(date +%s) )); (( left > 0 )); do
        before=$(ls "$fuzz_dir/artifacts/$t" | sort)
        starts=$((starts + 1))
        one="$fuzz_dir/logs/$t.$starts.log"
        cargo fuzz run "${target_args[@]}" -s "$sanitizer" "$t" "${corpora[@]}" -- \
            -max_total_time="$left" -timeout="$timeout" -rss_limit_mb="$rss" -print_final_stats=1 \
            -dict="$fuzz_dir/dict/$dict" -artifact_prefix="$fuzz_dir/artifacts/$t/" >"$one" 2>&1 || true
        cat "$one" >>"$log"
        n=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$one" | tail -n 1)
        runs=$((runs + ${n:-0}))
        c=$(sed -nE 's/.* cov: ([0-9]+) .*/\1/p' "$one" | tail -n 1)
        cov=${c:-$cov}
        after=$(ls "$fuzz_dir/artifacts/$t" | sort)
        new=$(comm -13 <(echo "$before") <(echo "$after"))
        for f in $new; do
            case $f in
                crash-*) crashes=$((crashes + 1)) ;;
                timeout-*) timeouts=$((timeouts + 1)) ;;
                oom-*) ooms=$((ooms + 1)) ;;
            esac
        done
        rm -f "$one"
        # Stop rather than spin when libFuzzer ends early without a finding
        # (a build or start-up problem).
        if [[ -z $new ]] && (( deadline - $(date +%s) > 5 )); then
            echo "run.sh: $t: libFuzzer stopped early without a finding (see $log)" >&2
            break
        fi
    done
    summary+=("$(printf '%-16s %12s  %6s  %7s  %8s  %4s  %s' "$t" "$runs" "${cov:-?}" "$crashes" "$timeouts" "$ooms" "$starts")")
done

echo
echo "target             executions     cov  crashes  timeouts  ooms  starts"
printf '%s\n' "${summary[@]}"

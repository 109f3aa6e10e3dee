#!/usr/bin/env bash
# CI performance gate (issue 4, part 5). Runs the bench's short profile with
# nginx as the same-run reference and fails on a breach of the checked-in
# budget, .ci/perf-budget.json. Only same-run ratios of Ringway to nginx are
# gated (throughput, CPU per request, added p50 at 1000 QPS), plus Ringway's
# error rate and SSE event relay; absolute times never are. See
# bench/README.md, "The CI gate".
#
# Heap allocations per request are gated separately, by tests/alloc_count.rs
# (ALLOC_BUDGET_PER_REQUEST, run by `cargo test`); perf-budget.json repeats
# that number as documentation and this script checks the two agree.
#
# Environment: PERF_GATE_JSON (where the results go) [target/perf-gate.json].
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
have nginx || missing+=(nginx)
# perf is preferred for syscall counts; strace is the fallback the bench uses
# when perf's tracepoints are unusable.
have strace || missing+=(strace)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "perf-gate: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "perf-gate: ${missing[*]} missing and not installable here (needs root and apt-get)"
    fi
fi
if ! have nginx; then
    echo "perf-gate: nginx is required: the gate compares Ringway with nginx from the same run"
    echo "perf-gate: install it with: apt-get install -y nginx"
    # CI must gate; a developer without root gets the rest of the checks.
    if [ "${CI:-}" = true ]; then
        echo "perf-gate: FAILED"
        exit 1
    fi
    echo "perf-gate: SKIPPED (not CI)"
    exit 0
fi

budget=.ci/perf-budget.json
json_alloc=$(sed -n 's/.*"alloc_per_request_max": *\([0-9.]*\).*/\1/p' "$budget")
test_alloc=$(sed -n 's/.*ALLOC_BUDGET_PER_REQUEST: f64 = \([0-9.]*\);.*/\1/p' tests/alloc_count.rs)
if [ -z "$test_alloc" ] || [ "$json_alloc" != "$test_alloc" ]; then
    echo "perf-gate: FAILED: $budget says alloc_per_request_max=${json_alloc:-?} but" \
        "tests/alloc_count.rs says ALLOC_BUDGET_PER_REQUEST=${test_alloc:-?}; keep them equal"
    exit 1
fi
echo "perf-gate: heap allocations per request <= $test_alloc: gated by tests/alloc_count.rs (cargo test)"

cargo build --release --workspace
out=${PERF_GATE_JSON:-target/perf-gate.json}
target/release/ringway-bench --profile short --reference nginx --gate "$budget" --json "$out"

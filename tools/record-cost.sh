#!/bin/sh
# Instructions per record of the record writer: callgrind counts only what
# runs inside mt_record_to_json (inclusive: escaping, numbers, the pool
# allocation) while build/mt-record-bench writes RECORDS typical records.
# Deterministic, so it compares writers where wall-clock figures on a shared
# machine cannot.
#
#   tools/record-cost.sh [BENCH [RECORDS]]
set -eu
bench=${1:-build/mt-record-bench}
n=${2:-20000}
out=$(mktemp "${TMPDIR:-/tmp}/mt-record-cost.XXXXXX")
trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" \
    --collect-atstart=no --toggle-collect=mt_record_to_json \
    "$bench" "$n" >/dev/null 2>&1
total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p; s/^summary: *\([0-9]*\).*/\1/p' \
        "$out" | head -n 1)
[ -n "$total" ] || { echo "record-cost: no callgrind totals" >&2; exit 1; }
echo "record writer: $((total / n)) instructions per record" \
     "(callgrind, mt_record_to_json, $n typical records)"

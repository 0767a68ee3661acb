#!/bin/sh
# memtrack-report's speed on plain input (make report-bench; make bench
# runs it last): a generated log of REPORT_BENCH_RECORDS records (default
# 5,000,000, about 5.8 GB; build/mt-report-gen writes them with the
# module's own record writer: three servers, app and httpd processes,
# probes, a leak) in $TMPDIR (default /tmp), read from the page cache,
# REPORT_BENCH_RUNS times (default 3; the tool is single-threaded: one
# core); each run's records per second (wall clock, reading and analysis)
# and per second of CPU time (user + system: what a busy shared machine
# does not distort), its peak memory, then the medians beside the target
# (REPORT_BENCH_TARGET, default 300,000 records per second). The log is
# removed at the end.
#
# The runs are pinned to one core (REPORT_BENCH_CORE, default 0, the core
# tools/bench.pl gives the servers) by taskset, as t/lib/MTBench.pm pins:
# left to the scheduler, a single-threaded reader migrates between cores
# and its cache with it whenever another process wakes. BENCH_PIN=0 turns
# it off; a machine of one core or without taskset is not pinned.
set -eu
n=${REPORT_BENCH_RECORDS:-5000000}
runs=${REPORT_BENCH_RUNS:-3}
tool=${REPORT_BENCH_TOOL:-build/memtrack-report}
target=${REPORT_BENCH_TARGET:-300000}
core=${REPORT_BENCH_CORE:-0}
dir=${TMPDIR:-/tmp}
pin=""
if [ "${BENCH_PIN:-1}" != 0 ] && [ "$(grep -c '^processor' /proc/cpuinfo)" -ge 2 ] \
   && command -v taskset >/dev/null; then
    pin="taskset -c $core"
fi
log=$(mktemp "$dir/mt-report-bench-XXXXXX")
trap 'rm -f "$log"' EXIT INT TERM
echo "report-bench: writing $n records to $log"
build/mt-report-gen "$n" 3 > "$log"
bytes=$(stat -c %s "$log")
echo "report-bench: $bytes bytes ($((bytes / n)) per record); reading it once into the page cache"
cat "$log" > /dev/null
if [ -n "$pin" ]; then echo "report-bench: each run pinned to core $core ($pin)"
else echo "report-bench: not pinned (BENCH_PIN=0, one core or no taskset)"; fi
rates="" cpus=""
i=1
while [ "$i" -le "$runs" ]; do
    line=$($pin "$tool" --stats --json "$log" 2>&1 >/dev/null | grep 'stats:')
    echo "report-bench: run $i: ${line#*stats: }"
    rate=$(echo "$line" | sed -n 's/.*: \([0-9]*\) records per second.*/\1/p')
    cpu=$(echo "$line" | sed -n 's/.*CPU \([0-9.]*\) s user, \([0-9.]*\) s system.*/\1 \2/p' \
          | awk -v n="$n" '{printf "%.0f", n / ($1 + $2)}')
    rates="$rates $rate"
    cpus="$cpus $cpu"
    i=$((i + 1))
done
median() { echo "$@" | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate=$(median $rates)
verdict=$([ "$rate" -ge "$target" ] && echo "meets" || echo "BELOW")
echo "report-bench: median $rate records per second (wall clock; target $target: $verdict), $(median $cpus) per CPU second (one core, plain input, $n records)"

#!/bin/sh
# memtrack-report's speed on plain input (make report-bench; make bench
# runs it last): a generated log of REPORT_BENCH_RECORDS records (default
# 5,000,000, about 5.8 GB; build/mt-report-gen writes them with the
# module's own record writer: three servers, app and httpd processes,
# probes, a leak) in $TMPDIR (default /tmp), read from the page cache,
# the tool pinned to one CPU, REPORT_BENCH_RUNS times (default 3); each
# run's records per second (wall clock, reading and analysis), CPU time and
# peak memory, then the median. The log is removed at the end.
set -eu
n=${REPORT_BENCH_RECORDS:-5000000}
runs=${REPORT_BENCH_RUNS:-3}
tool=${REPORT_BENCH_TOOL:-build/memtrack-report}
dir=${TMPDIR:-/tmp}
log=$(mktemp "$dir/mt-report-bench-XXXXXX")
trap 'rm -f "$log"' EXIT INT TERM
echo "report-bench: writing $n records to $log"
build/mt-report-gen "$n" 3 > "$log"
bytes=$(stat -c %s "$log")
echo "report-bench: $bytes bytes ($((bytes / n)) per record); reading it once into the page cache"
cat "$log" > /dev/null
pin=""
command -v taskset >/dev/null 2>&1 && pin="taskset -c 0"
rates=""
i=1
while [ "$i" -le "$runs" ]; do
    line=$($pin "$tool" --stats --json "$log" 2>&1 >/dev/null | grep 'stats:')
    echo "report-bench: run $i: ${line#*stats: }"
    rate=$(echo "$line" | sed -n 's/.*: \([0-9]*\) records per second.*/\1/p')
    rates="$rates $rate"
    i=$((i + 1))
done
median=$(echo $rates | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "report-bench: median $median records per second (one core, plain input, $n records)"

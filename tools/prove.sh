#!/bin/bash
# prove, with the diagnostics of every failed test file repeated at the end.
#
# prove passes a test's diagnostics (its stderr) through as they come, so
# on a long run the lines that say *why* a test failed scroll far above the
# summary, and a CI log that keeps only its tail loses them. This runs
# prove as usual, keeps a copy of each test file's stderr, and when prove
# fails prints the stderr of each failed file again after the summary.
#
#   tools/prove.sh [prove args...] t/*.t
#
# With MT_PROVE_SUMMARY=FILE the short list of failed assertions is also
# appended to FILE (tools/test-suite.sh prints it once more at the very end).
set -u
if [ "${1:-}" = --one ]; then          # run by prove for one test file
    perl "$2" 2> >(tee "$MT_PROVE_DIAG/$(basename "$2").err" >&2)
    status=$?
    wait
    exit $status
fi

MT_PROVE_DIAG=$(mktemp -d "${TMPDIR:-/tmp}/mt-prove.XXXXXX")
export MT_PROVE_DIAG
trap 'rm -rf "$MT_PROVE_DIAG"' EXIT
log=$MT_PROVE_DIAG/prove.log

"${PROVE:-prove}" --exec "bash $0 --one" "$@" | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] && exit 0

failed=$(sed -n 's/^\(t\/[^ ]*\.t\) *(Wstat.*/\1/p' "$log")
for t in $failed; do
    echo
    echo "=== $t: what it printed on stderr (repeated from above) ==="
    tail -n 80 "$MT_PROVE_DIAG/$(basename "$t").err" 2>/dev/null
done
# Last, and short, because a CI log may keep only its last twenty lines:
# each failed assertion with its got/expected, innermost subtest first.
{
echo
echo "=== failed assertions${MT_PASS_NAME:+ ($MT_PASS_NAME)} ==="
for t in $failed; do
    T=$t perl -ne '
        if (/^\s*#\s+Failed test (.*)/) { print "$ENV{T}: $1\n"; $want = 3; $printed = 1; next }
        next if /^\s*#\s+at /;
        if ($want && /^\s*#\s+(\S.*)/ && !/Looks like/) {
            print "    ", substr($1, 0, 160), "\n";
            $want--;
            next;
        }
        $want = 0;
        # a test that died has no "Failed test": the first and the last
        # line of what it said that is not a diagnostic comment
        if (/^\S/ && !/^#/) { $first //= $_; $last = $_ }
        END { if (!$printed && defined $first) {
                  print "$ENV{T}: died\n";
                  print "    ", substr($_, 0, 160) =~ s/\n?\z/\n/r
                      for $first, $last ne $first ? $last : () } }
    ' "$MT_PROVE_DIAG/$(basename "$t").err" 2>/dev/null | head -n 16
done
} | tee -a "${MT_PROVE_SUMMARY:-/dev/null}"
exit "$status"

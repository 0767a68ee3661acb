#!/bin/bash
# The integration suite, twice: the module as built, then under
# AddressSanitizer. Both passes run even when the first fails, so one CI run
# tells about both; the failed assertions of both are repeated at the very
# end, in at most 18 lines (a CI log may keep only its tail).
#
#   tools/test-suite.sh t/*.t
set -u
cd "$(dirname "$0")/.."
sums=$(mktemp -d "${TMPDIR:-/tmp}/mt-summary.XXXXXX")
trap 'rm -rf "$sums"' EXIT

# The test servers' files are outside the checkout (t/lib/MTTmp.pm)
echo "test servers' directories: $(perl -It/lib -MMTTmp -e 'print MTTmp::base()')" \
     "(a failed test keeps its own there and names it; MT_KEEP_TMP=1 keeps all)"
declare -A status
for pass in plain ASan; do
    asan=
    [ "$pass" = ASan ] && asan=1
    status[$pass]=0
    MT_ASAN=$asan MT_PASS_NAME=$pass MT_PROVE_SUMMARY="$sums/$pass" \
        bash tools/prove.sh "$@" || status[$pass]=$?
done

failed=()
for pass in plain ASan; do
    [ "${status[$pass]}" -ne 0 ] && failed+=("$pass")
done
[ ${#failed[@]} -eq 0 ] && exit 0

echo
echo "=== test suite failed: plain pass exit ${status[plain]}, ASan pass exit ${status[ASan]} ==="
for pass in "${failed[@]}"; do
    echo "--- $pass:"
    grep -v '^=== \|^$' "$sums/$pass" 2>/dev/null | head -n $((16 / ${#failed[@]} - 1))
done
exit 1

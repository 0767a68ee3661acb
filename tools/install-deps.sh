#!/bin/sh
# Installs the Debian packages mod_memtrack needs to build, test and demo,
# when they are missing. Everything comes from Debian; nothing is downloaded
# from anywhere else.
#
#   sh tools/install-deps.sh                      install what is missing
#   sh tools/install-deps.sh --missing-build CC APXS
#       print the Debian packages the build lacks (nothing when none);
#       the Makefile's one-line message when plain `make` cannot build
set -e

if [ "${1:-}" = --missing-build ]; then
    cc=${2:-cc} apxs=${3:-apxs} out=""
    command -v "$cc" >/dev/null 2>&1 || out="$out gcc"
    command -v "$apxs" >/dev/null 2>&1 || out="$out apache2-dev"
    command -v apr-1-config >/dev/null 2>&1 || out="$out libapr1-dev"
    command -v apu-1-config >/dev/null 2>&1 || out="$out libaprutil1-dev"
    if command -v pkg-config >/dev/null 2>&1; then
        pkg-config --exists json-c || out="$out libjson-c-dev"
        pkg-config --exists hiredis || out="$out libhiredis-dev"
        pkg-config --exists zlib || out="$out zlib1g-dev"
    else
        out="$out pkg-config"
        for p in libjson-c-dev libhiredis-dev zlib1g-dev; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
                || out="$out $p"
        done
    fi
    echo $out
    exit 0
fi

PKGS="gcc make pkg-config apache2 apache2-dev apache2-utils libapr1-dev
libaprutil1-dev libjson-c-dev libhiredis-dev zlib1g-dev libapache2-mod-passenger
ruby ruby-rack ruby-rails ruby-sqlite3 ruby-redis redis-server wrk jq curl cppcheck clang-tidy perl
prometheus chromium fonts-dejavu-core gzip valgrind linux-perf"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# env: sudo resets the environment, and apt-get must not ask questions
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# --no-install-recommends: the "rails" meta package and recommends pull in a
# JavaScript tool chain the tests do not need.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
# Debian starts services on install; the tests run their own on loopback.
for svc in apache2 redis-server prometheus; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
        $SUDO systemctl stop "$svc" || true
    fi
done

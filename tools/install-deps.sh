#!/bin/sh
# Installs the Debian packages mod_memtrack needs to build, test and demo,
# when they are missing. Everything comes from Debian; nothing is downloaded
# from anywhere else.
set -e

PKGS="gcc make pkg-config apache2 apache2-dev apache2-utils libapr1-dev
libaprutil1-dev libjson-c-dev libhiredis-dev libapache2-mod-passenger
ruby ruby-rack ruby-rails ruby-sqlite3 ruby-redis redis-server wrk jq curl cppcheck clang-tidy perl
prometheus chromium fonts-dejavu-core"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# --no-install-recommends: the "rails" meta package and recommends pull in a
# JavaScript tool chain the tests do not need.
$SUDO apt-get install -y -q --no-install-recommends $missing
# Debian starts services on install; the tests run their own on loopback.
for svc in apache2 redis-server prometheus; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
        $SUDO systemctl stop "$svc" || true
    fi
done

#!/bin/bash
# make fresh-check: README's two commands on a bare Debian 12, as a new user
# runs them. For each of FRESH_AS (root, and a user made by adduser with
# sudo) a freshly bootstrapped root file system (debootstrap --variant=minbase
# bookworm, the mirror taken from this machine's apt sources), with:
#   - a policy-rc.d that forbids package scripts to start services,
#   - /proc, /sys, /dev (with /dev/pts, and a tmpfs on /dev/shm) mounted,
#     and unmounted again however the check ends,
#   - only what README says a bare machine needs: git and make (and sudo
#     for the user),
#   - the checkout's HEAD (or FRESH_REV) cloned with git in the home (/root
#     for root: mode 0700 on Debian, as every home adduser makes),
# it runs plain `make` (must fail in one line naming what to install), then
# `make demo`, then `make test`, in the clone, and fails when either
# fails or when the demo does not end with its line that every answer was
# as expected; then `make deps all` once more, which must install and build
# nothing. Prints how long each step took. Needs root and a network path
# to the Debian mirror; takes minutes (make test: much longer).
#
#   sudo make fresh-check
#   FRESH_STEPS=demo      only `make demo` (default: "demo test")
#   FRESH_AS=root         only root (default: "root user")
#   FRESH_REV=89ad4d4     check that commit instead of HEAD
#   FRESH_DIR=/work/fresh-root   where the root file systems and logs go
#                         (default /var/tmp/mod_memtrack-fresh); a root file
#                         system is removed after a passing check and kept
#                         (unmounted) after a failing one
#   FRESH_MIRROR=URL      the Debian mirror (default: from /etc/apt)
set -uo pipefail

STEPS=${FRESH_STEPS:-demo test}
AS=${FRESH_AS:-root user}
WORK=${FRESH_DIR:-/var/tmp/mod_memtrack-fresh}
REPO=$(cd "$(dirname "$0")/.." && pwd)
SUITE=bookworm
USERNAME=mtuser
ENV_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ROOTFS=""          # the root file system being checked (for the cleanup)
SUMMARY=()         # one line per step: what, seconds, result

say() { printf 'fresh-check: %s\n' "$*"; }
die() { say "$*" >&2; exit 1; }

# The Debian mirror of this machine's apt sources (deb822 or one-line).
mirror() {
    [ -n "${FRESH_MIRROR:-}" ] && { echo "$FRESH_MIRROR"; return; }
    local m
    m=$(awk -v s="$SUITE" '
        /^$/ { if (deb && suite && uri) { print uri; exit } deb = suite = uri = "" }
        /^Types:/ && / deb( |$)/ { deb = 1 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) suite = 1 }
        /^URIs:/ { uri = $2 }
        END { if (deb && suite && uri) print uri }
    ' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
    [ -z "$m" ] && m=$(sed -n "s/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\)[[:space:]]\+$SUITE[[:space:]].*/\2/p" \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
    [ -n "$m" ] || return 1
    echo "$m"
}

mounted_under() { awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts; }

# Processes whose root is the root file system (left by a failed step):
# stopped by their pids.
stop_inside() {
    local r=$1 p pids=""
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$r" ] && pids="$pids ${p#/proc/}"
    done
    [ -z "$pids" ] && return 0
    say "stopping processes left inside $r:$pids"
    kill -TERM $pids 2>/dev/null; sleep 3; kill -KILL $pids 2>/dev/null; sleep 1
}

umount_all() {
    local r=$1 m
    [ -n "$r" ] && [ -d "$r" ] || return 0
    stop_inside "$r"
    # innermost first
    for m in $(mounted_under "$r" | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" || say "cannot unmount $m"
    done
    [ -z "$(mounted_under "$r")" ] || { say "still mounted under $r:" $(mounted_under "$r"); return 1; }
}

# Remove a root file system, never while anything is mounted in it.
remove_rootfs() {
    local r=$1
    [ -e "$r" ] || return 0
    umount_all "$r" || die "not removing $r: something is still mounted there"
    rm -rf --one-file-system "$r"
}

cleanup() {
    local rc=$?
    if [ -n "$ROOTFS" ]; then
        umount_all "$ROOTFS" || rc=1
        ROOTFS=""
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# step NAME COMMAND...: runs it, its output to the terminal and to a log,
# and records how long it took. Returns its exit status.
step() {
    local name=$1; shift
    local log="$WORK/$CASE.$(echo "$name" | tr -c 'A-Za-z0-9\n' '-').log" t0 rc
    say "[$CASE] $name ..."
    t0=$(date +%s)
    "$@" < /dev/null 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    local secs=$(( $(date +%s) - t0 ))
    SUMMARY+=("$(printf '%-5s %-40s %6d s  %s' "$CASE" "$name" "$secs" \
        "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
    say "[$CASE] $name: exit $rc, $secs s (log: $log)"
    return $rc
}

# verdict NAME STATUS: a check of a step's output, in the summary.
verdict() {
    SUMMARY+=("$(printf '%-5s %-40s %8s  %s' "$CASE" "  $1" '' \
        "$([ "$2" -eq 0 ] && echo ok || echo FAILED)")")
    return "$2"
}

# A command inside the root file system, as root with a login's plain
# environment (nothing of ours leaks in).
in_root() {
    chroot "$ROOTFS" /usr/bin/env -i HOME=/root USER=root LOGNAME=root \
        SHELL=/bin/bash PATH="$ENV_PATH" LANG=C.UTF-8 TERM=dumb \
        DEBIAN_FRONTEND=noninteractive /bin/bash -c "$1"
}

# The same as the user (a login shell of theirs: runuser -l).
in_user() {
    chroot "$ROOTFS" /usr/bin/env -i PATH="$ENV_PATH" LANG=C.UTF-8 TERM=dumb \
        /usr/sbin/runuser -l "$USERNAME" -c "$1"
}

as_case() { if [ "$CASE" = root ]; then in_root "$1"; else in_user "$1"; fi; }

prepare_rootfs() {
    local r=$1
    # Package scripts must not start services on this machine.
    printf '#!/bin/sh\n# written by tools/fresh-check.sh\nexit 101\n' > "$r/usr/sbin/policy-rc.d"
    chmod 755 "$r/usr/sbin/policy-rc.d"
    # The machine's own Debian sources (debootstrap wrote only the main
    # suite), so the packages are those a Debian 12 here would get.
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        cp /etc/apt/sources.list.d/debian.sources "$r/etc/apt/sources.list.d/"
        rm -f "$r/etc/apt/sources.list"
    elif [ -f /etc/apt/sources.list ]; then
        cp /etc/apt/sources.list "$r/etc/apt/sources.list"
    fi
    cp /etc/resolv.conf "$r/etc/resolv.conf"
    # The root file system shares this machine's processes, so its /proc/1
    # is this machine's pid 1. Passenger's watchdog reads /proc/1/environ
    # to tell whether it runs in a container, unless /.dockerenv exists,
    # and aborts when it cannot read it (as here, in a container whose
    # pid 1 even root may not read). On a real Debian machine root can read
    # its own init's environ; here, the machine's own marker is copied in.
    if ! head -c 1 /proc/1/environ >/dev/null 2>&1 && [ -e /.dockerenv ]; then
        say "this machine's pid 1 is unreadable (/proc/1/environ) and it has /.dockerenv: copied into the root file system"
        touch "$r/.dockerenv"
    fi
    mount -t proc proc "$r/proc" && mount -t sysfs sysfs "$r/sys" \
        && mount --bind /dev "$r/dev" && mount --bind /dev/pts "$r/dev/pts" \
        && mount -t tmpfs -o mode=1777 shm "$r/dev/shm"
}

bare_packages() {
    if [ "$CASE" = root ]; then echo "git make"; else echo "git make sudo"; fi
}

# The user case: a user as Debian 12's adduser makes them, allowed sudo.
make_user() {
    in_root "apt-get install -y -q --no-install-recommends adduser >/dev/null \
        && adduser --disabled-password --gecos '' $USERNAME >/dev/null \
        && echo '$USERNAME ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/$USERNAME \
        && chmod 440 /etc/sudoers.d/$USERNAME && ls -ld /home/$USERNAME"
}

# The demo passed: exit 0 and its last line says every answer was checked.
demo_ok() {
    tail -n 3 "$WORK/$CASE.make-demo.log" | grep -q '^demo: all [0-9]* answers and records were as expected$'
}

# What one case runs in its root file system $1, home $2; 0 when all passed.
case_steps() {
    local r=$1 home=$2 rev=${FRESH_REV:-} s bare failed=0
    step "debootstrap --variant=minbase $SUITE" \
        debootstrap --variant=minbase "$SUITE" "$r" "$MIRROR" || return 1
    prepare_rootfs "$r" || { say "mounting in $r failed"; return 1; }
    step "apt-get install $(bare_packages)" in_root "apt-get update -q \
        && apt-get install -y -q --no-install-recommends $(bare_packages)" || return 1
    if [ "$CASE" = user ]; then step "adduser $USERNAME (sudo)" make_user || return 1; fi
    cp "$WORK/mod_memtrack.bundle" "$r/tmp/" && chmod 644 "$r/tmp/mod_memtrack.bundle"
    step "git clone into $home" as_case "cd ~ && git -c advice.detachedHead=false clone -q \
        /tmp/mod_memtrack.bundle mod_memtrack ${rev:+&& git -C mod_memtrack -c advice.detachedHead=false checkout -q $rev} \
        && git -C mod_memtrack log --oneline -1 && ls -ld ~ ~/mod_memtrack" || return 1
    # The case this check is for: a home the servers' users cannot enter.
    [ "$(in_root "stat -c %a $home")" = 700 ]
    verdict "the home $home is mode 0700" $? || {
        say "[$CASE] $home is not mode 0700: the check would not be the one README promises"
        return 1
    }
    # Plain `make` only builds: on the bare machine it stops at once, with
    # one line that names what to install (a failure here is counted, and
    # the check goes on).
    bare="$WORK/$CASE.make--bare--must-fail-in-one-line-.log"
    step "make (bare: must fail in one line)" as_case "cd ~/mod_memtrack && ! make" || failed=1
    [ "$(wc -l < "$bare")" -eq 1 ] && grep -q 'missing .*apache2-dev.*make deps' "$bare"
    verdict "one line naming apache2-dev, make deps" $? || {
        say "[$CASE] plain make did not fail with one line naming apache2-dev and make deps"
        failed=1
    }
    for s in $STEPS; do
        step "make $s" as_case "cd ~/mod_memtrack && make $s" || return 1
        [ "$s" = demo ] || continue
        demo_ok
        verdict "every answer as expected" $? || {
            say "[$CASE] the demo did not end with its line that every answer was as expected"
            return 1
        }
    done
    # A second run installs and builds nothing: what `make demo` and
    # `make test` do before their own work.
    step "make deps all (again)" as_case "cd ~/mod_memtrack && make deps all" || return 1
    ! grep -qv "^make: Nothing to be done for 'all'.\$" "$WORK/$CASE.make-deps-all--again-.log"
    verdict "nothing installed or built" $? || {
        say "[$CASE] the second run did more than nothing (above)"
        failed=1
    }
    return $failed
}

check_case() {
    CASE=$1
    local r="$WORK/$CASE-root" home=/root ok
    [ "$CASE" = user ] && home=/home/$USERNAME
    remove_rootfs "$r"
    ROOTFS=$r
    case_steps "$r" "$home"
    ok=$?
    umount_all "$r" || ok=1
    ROOTFS=""
    if [ $ok -eq 0 ]; then rm -rf --one-file-system "$r"; else say "[$CASE] kept $r for a look"; fi
    return $ok
}

main() {
    [ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mount, chroot): sudo make fresh-check"
    if ! command -v debootstrap >/dev/null 2>&1; then
        say "installing debootstrap (Debian's)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap \
            || die "cannot install debootstrap"
    fi
    MIRROR=$(mirror) || die "no $SUITE mirror in /etc/apt; set FRESH_MIRROR"
    mkdir -p "$WORK" && WORK=$(realpath "$WORK") || die "cannot make $WORK"
    rm -f "$WORK/mod_memtrack.bundle"
    git -C "$REPO" bundle create -q "$WORK/mod_memtrack.bundle" HEAD --all \
        || die "git bundle of $REPO failed"
    say "checking $(git -C "$REPO" log --oneline -1 "${FRESH_REV:-HEAD}") of $REPO" \
        "(committed state only), mirror $MIRROR, as: $AS, steps: $STEPS"
    local c failed=0
    for c in $AS; do
        case $c in root|user) ;; *) die "FRESH_AS: root and/or user, not '$c'" ;; esac
        check_case "$c" || failed=1
    done
    echo
    say "summary (rev $(git -C "$REPO" rev-parse --short "${FRESH_REV:-HEAD}")):"
    printf '  %s\n' "${SUMMARY[@]}"
    if [ $failed -eq 0 ]; then say "PASSED"; else say "FAILED"; fi
    return $failed
}

main "$@"

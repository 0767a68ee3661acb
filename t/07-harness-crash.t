#!/usr/bin/perl
# The harness starts httpd once more only for mod_passenger's own start-up
# crash (MTTest::start), and only on evidence: the parent killed by SIGSEGV
# or SIGBUS before it answered, mod_passenger loaded, and the kernel's fault
# line since the start (or, under ASan, the faulting frame) naming
# mod_passenger.so. Anything else, or a second crash, fails the test that
# started it.
#
# The decision is checked on canned kernel lines and ASan frames; then a
# wrapper script stands in for the crash in a real start: it kills itself
# with SIGSEGV the first time (or every time) instead of exec'ing httpd,
# from a shell without LD_PRELOAD (the same pid) so that under MT_ASAN it
# is the kernel's signal and not ASan's report of one. A kill leaves no
# kernel line, so the starts that should be retried are given one
# ($MTTest::KERNEL_LINES); the ASan pass also has ASan catch a SEGV
# outside mod_passenger.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTPassenger;
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use Test::More;

# ---- the decision ----
my $PX = 'in mod_passenger.so[b3eab,7fc18be20000+9f000]';
my $MX = 'in mod_memtrack.so[1a2b,7fc18be20000+9f000]';
my @cases = (
    [1, { signal => 11, kernel => "[37181.011100] apache2[6748]: segfault at 68 ip 00007fc18beb9eab sp 00007fc18bdabd60 error 6 $PX", passenger => 1 },
     'SIGSEGV, the kernel names mod_passenger.so: retried'],
    [1, { signal => 11, kernel => "[ 12.5] traps: apache2[7001] general protection fault ip:7f00 sp:7f00 error:0 $PX", passenger => 1 },
     'a general protection fault in mod_passenger.so (a thread id): retried'],
    [1, { signal => 7, kernel => "[1.0] apache2[9]: segfault at 0 ip 0 sp 0 error 4 $PX", passenger => 1 },
     'SIGBUS with the same evidence: retried'],
    [0, { signal => 11, kernel => "[37181.011100] apache2[6748]: segfault at 68 ip 0 sp 0 error 6 $MX", passenger => 1 },
     'a fault the kernel puts in mod_memtrack.so: fails'],
    [0, { signal => 11, kernel => undef, passenger => 1 },
     'no kernel line (dmesg unreadable, rate-limited, a kill): fails'],
    [0, { signal => 6, kernel => "[1.0] apache2[9]: segfault at 0 ip 0 sp 0 error 4 $PX", passenger => 1 },
     'SIGABRT (never a kernel line of its own): fails'],
    [0, { signal => 11, kernel => "[1.0] apache2[9]: segfault at 0 ip 0 sp 0 error 4 $PX", passenger => 0 },
     'mod_passenger not loaded: fails'],
    [1, { signal => 0, frame => '#0 0x7fd7f1a5a267  (/usr/lib/apache2/modules/mod_passenger.so+0xb3eab)', passenger => 1 },
     "ASan's frame #0 in mod_passenger.so: retried"],
    [0, { signal => 0, frame => '#0 0x7fd7f1a5a267 in mt_state_note /work/main/src/mt_state.c:615 (/tmp/x/mod_memtrack.so+0x1a2b)', passenger => 1 },
     "ASan's frame #0 in mod_memtrack.so: fails"],
);
for my $c (@cases) {
    is(MTTest::_passenger_crash(%{ $c->[1] }), $c->[0], $c->[2]);
}
{
    local $MTTest::KERNEL_LINES = sub { [
        "[  100.000000] apache2[5]: segfault at 0 ip 0 sp 0 error 4 $PX",
        "[  200.500000] systemd[1]: something else",
        "[  201.000000] apache2[77]: segfault at 68 ip 0 sp 0 error 6 $MX",
    ] };
    my ($l) = MTTest::_crash_line(150);
    like($l, qr/\[77\].*mod_memtrack/, 'the fault lines since the start only, the last one');
    my (undef, $why) = MTTest::_crash_line(300);
    is($why, 'the kernel logged no fault', 'none since the start: said so');
    local $MTTest::KERNEL_LINES = sub { undef };
    (undef, $why) = MTTest::_crash_line(0);
    is($why, 'dmesg not readable', 'dmesg not readable: said so');
}

# ---- real starts ----
my $tmp = tempdir(CLEANUP => 1);
# $1: the marker file; crashes unless it exists ("once": creates it first)
my $crash = <<'EOS';
m=$1; shift
if [ ! -e "$m" ]; then
    [ "$MT_CRASH" = once ] && : > "$m"
    [ -n "$MT_CRASH_ASAN" ] && kill -SEGV $$
    exec env -u LD_PRELOAD sh -c 'kill -SEGV $$'
fi
exec "$@"
EOS
sub wrap { my ($name) = @_; return ['sh', '-c', $crash, 'sh', "$tmp/$name"] }

# A Passenger server started through the wrapper (marker file $name): the
# harness, or undef and $@.
sub passenger_start {
    my ($name) = @_;
    return eval { MTPassenger->start(app => 'rack', procs => 1, wrap => wrap($name)) };
}

# the kernel's line a real mod_passenger crash leaves, stamped now
my $evidence = sub {
    my ($up) = MTTest::_slurp('/proc/uptime') =~ /^([\d.]+)/;
    return ["[$up] apache2[1]: segfault at 68 ip 0 sp 0 error 6 $PX"];
};

{
    local $ENV{MT_CRASH} = 'once';
    local $MTTest::KERNEL_LINES = $evidence;
    my $h = eval { MTTest->start(wrap => wrap('plain')) };
    like($@, qr/httpd died by signal 11 at start/,
         'without Passenger a crash at start fails, not started again');
    ok(!$h, 'and no server is returned');
}

SKIP: {
    skip MTPassenger::why_not(), 5 if MTPassenger::why_not();
    {
        local $ENV{MT_CRASH} = 'once';
        my $h = passenger_start('noevidence');
        like($@, qr/httpd died by signal 11 at start/,
             'with Passenger but no kernel line naming it: fails at once');
        ok(!$h, 'and no server is returned');
    }
    {
        local $ENV{MT_CRASH} = 'once';
        local $MTTest::KERNEL_LINES = $evidence;
        my $h = passenger_start('once');
        ok($h && $h->get('/static.txt')->{status} == 200,
           'with Passenger and the kernel naming it, one crash at start: '
           . 'started once more, and it serves') or diag($@);
        MTPassenger::stop($h) if $h;
    }
    {
        local $ENV{MT_CRASH} = 'always';
        local $MTTest::KERNEL_LINES = $evidence;
        my $h = passenger_start('always');
        like($@, qr/httpd died by signal 11 at start/,
             'a second crash fails the test');
        ok(!$h, 'and no server is returned');
    }
}

SKIP: {
    skip 'the ASan pass only (MT_ASAN)', 1 unless $ENV{MT_ASAN};
    skip MTPassenger::why_not(), 1 if MTPassenger::why_not();
    local $ENV{MT_CRASH} = 'once';
    local $ENV{MT_CRASH_ASAN} = 1;
    my $h = passenger_start('asan');
    like($@, qr/httpd exited \(1\) at start.*AddressSanitizer: SEGV/s,
         'a SEGV that ASan puts outside mod_passenger fails at once');
    MTPassenger::stop($h) if $h;
}

# the servers this test crashed on purpose are of no interest once it passed
remove_tree(@MTTest::CRASHED) if Test::More->builder->is_passing;
done_testing();

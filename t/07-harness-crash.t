#!/usr/bin/perl
# The harness starts httpd once more only for mod_passenger's own start-up
# crash (MTTest::start): the parent killed by a fatal signal before it
# answered, with mod_passenger loaded. Anything else, or a second crash,
# still fails the test that started it.
#
# A wrapper script stands in for the crash: it kills itself with SIGSEGV
# the first time (or every time) instead of exec'ing httpd. The kill runs
# in a shell without LD_PRELOAD (the same pid), so that under MT_ASAN it is
# the kernel's signal and not ASan's report of one; the ASan pass also has
# ASan catch a SEGV outside mod_passenger, which must fail at once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTPassenger;
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use Test::More;

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

{
    local $ENV{MT_CRASH} = 'once';
    my $h = eval { MTTest->start(wrap => wrap('plain')) };
    like($@, qr/httpd died by signal 11 at start/,
         'without Passenger a crash at start fails, not started again');
    ok(!$h, 'and no server is returned');
}

SKIP: {
    skip MTPassenger::why_not(), 3 if MTPassenger::why_not();
    {
        local $ENV{MT_CRASH} = 'once';
        my $h = eval { MTPassenger->start(app => 'rack', procs => 1,
                                          wrap => wrap('once')) };
        ok($h && $h->get('/static.txt')->{status} == 200,
           'with Passenger, one crash at start: started once more, and it serves')
            or diag($@);
        MTPassenger::stop($h) if $h;
    }
    {
        local $ENV{MT_CRASH} = 'always';
        my $h = eval { MTPassenger->start(app => 'rack', procs => 1,
                                          wrap => wrap('always')) };
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
    my $h = eval { MTPassenger->start(app => 'rack', procs => 1,
                                      wrap => wrap('asan')) };
    like($@, qr/httpd exited \(1\) at start.*AddressSanitizer: SEGV/s,
         'a SEGV that ASan puts outside mod_passenger fails at once');
    MTPassenger::stop($h) if $h;
}

# the servers this test crashed on purpose are of no interest once it passed
remove_tree(@MTTest::CRASHED) if Test::More->builder->is_passing;
done_testing();

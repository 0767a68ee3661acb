#!/usr/bin/perl
# The module's own memory stays flat on the backend path too: one httpd
# child (event MPM) in front of a Passenger pool of two processes running
# the companion, with the log and the Redis sink both on. The child's RSS
# after 20,000 more requests stays within 1 MiB of its RSS after the first
# 1,000 (52 bytes a request; see t/19-flat-memory.t for why that bound).
# This path exercises what t/19 does not: X-MemTrack parsing, the verified
# pid cache with its kept-open descriptors, the shared per-process state,
# and the Redis writer's queue and batches.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTPassenger;
use MTRedis;
use Test::More;

plan skip_all => 'RSS flatness is meaningless under ASan (quarantine)'
    if $ENV{MT_ASAN};
my $why = MTPassenger::why_not();
plan skip_all => $why if $why;

my $MiB    = 1024 * 1024;
my $WARMUP = 1000;
my $RUN    = 20_000;

my $rd = MTRedis->start;
my $h = MTPassenger->start(
    app => 'rack', procs => 2,
    mpm_conf => "StartServers 1\nServerLimit 1\nThreadsPerChild 8\n"
              . "MaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 8\n"
              . "MaxConnectionsPerChild 0\n",
    conf => "MemTrackThreshold 100M\nMemTrackRedis " . $rd->url . "\n");
my @apps = MTPassenger::warm($h, procs => 2);
is(scalar @apps, 2, "two app processes: @apps");
my @kids = $h->child_pids;
is(scalar @kids, 1, 'one httpd child') or BAIL_OUT('need a single child');
my $child = $kids[0];

# Warm-up at the child's full thread count: a worker thread first used in
# the measured run would bring its stack and malloc arena into the figure.
my ($rc, $out) = $h->ab(n => $WARMUP, c => 8, path => '/hello', timeout => 120);
is($rc, 0, 'warm-up') or diag($out);
sleep 1;
my $rss1 = MTTest::rss_bytes($child);
($rc, $out) = $h->ab(n => $RUN, c => 4, path => '/hello', timeout => 600);
is($rc, 0, 'long run') or diag($out);
like($out, qr/Complete requests:\s+$RUN\b/, "$RUN requests");
like($out, qr/Failed requests:\s+0\b/, 'none failed');
sleep 1;
my $rss2 = MTTest::rss_bytes($child);
is_deeply([$h->child_pids], [$child], 'still the same single child');

my @recs = $h->wait_records($WARMUP + $RUN + 2, 30);
my @backend = grep { ($_->{target} // '') eq 'backend' && ($_->{attribution} // '') eq 'header' } @recs;
cmp_ok(scalar @backend, '>=', $WARMUP + $RUN, 'every /hello attributed to its app process');
my $keys = $rd->cmd('DBSIZE');
cmp_ok($keys, '>=', $WARMUP + $RUN, "Redis holds the records ($keys keys)");

my $growth = $rss2 - $rss1;
note(sprintf 'httpd child RSS %.2f MiB after %d, %.2f MiB after %d more: %+d bytes (%.1f bytes/request)',
     $rss1 / $MiB, $WARMUP, $rss2 / $MiB, $RUN, $growth, $growth / $RUN);
cmp_ok($growth, '<', $MiB, 'child RSS flat within 1 MiB over 20,000 backend requests');

MTPassenger::stop($h);
$rd->stop;
done_testing();

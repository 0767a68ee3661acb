#!/usr/bin/perl
# An unreachable Redis (a closed loopback port) never slows requests: the
# same load against the same server with and without the sink, compared.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;
use IO::Socket::INET;

# A port nobody listens on.
my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                              LocalPort => 0, Proto => 'tcp') or die $!;
my $closed = $s->sockport;
close $s;

sub mean_ms {
    my ($h) = @_;
    $h->get('/static.txt') for 1 .. 20;    # warm up
    my ($rc, $out) = $h->ab(n => 2000, c => 10, path => '/static.txt');
    my ($failed) = $out =~ /Failed requests:\s+(\d+)/;
    my ($mean) = $out =~ /Time per request:\s+([\d.]+) \[ms\] \(mean\)/;
    my ($p99) = $out =~ /^\s+99%\s+(\d+)/m;
    return ($failed // -1, $mean // 1e9, $p99 // 1e9, $out);
}

for my $mpm (qw(event prefork)) {
    my $base = MTTest->start(mpm => $mpm, name => "43-base-$mpm");
    my ($bf, $bmean, $bp99) = mean_ms($base);
    $base->stop;

    my $h = MTTest->start(mpm => $mpm, conf => join("\n",
        "MemTrackRedis redis://127.0.0.1:$closed",
        "MemTrackRedisQueue 100"));
    my ($f, $mean, $p99, $out) = mean_ms($h);
    is($f, 0, "$mpm: no failed requests with Redis unreachable")
        or diag($out);
    # Not a speed target (make bench measures cost): a request that waited
    # on Redis at all would wait for its connect timeout and backoff, tens
    # of milliseconds and more, so the bounds are wide enough for a noisy
    # 2-core machine and still catch that.
    ok($mean < $bmean * 3 + 5, sprintf("$mpm: mean %.2f ms vs %.2f ms "
       . "without Redis (p99 %d vs %d ms)", $mean, $bmean, $p99, $bp99));
    ok($p99 <= $bp99 * 3 + 50, "$mpm: p99 not held hostage");
    my $log = $h->error_log;
    like($log, qr/memtrack: redis redis:\/\/127\.0\.0\.1:$closed\/0: cannot connect/,
         "$mpm: the connect failure is logged");
    like($log, qr/memtrack: redis \S+: dropped \d+ records/,
         "$mpm: drops are reported");
    my $complaints = () = $log =~ /cannot connect/g;
    my $kids = () = $h->child_pids;
    ok($complaints <= 2 * ($kids + 2), "$mpm: connect failures are not "
       . "logged per attempt ($complaints lines)");
    $h->stop;
    is($h->sanitizer_log, '', "$mpm: no sanitizer reports");
}

done_testing();

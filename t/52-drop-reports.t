#!/usr/bin/perl
# Every dropped record is told in the error log (issue 9, item 4): the
# numbers of the lines "dropped N records since the last report" add up to
# the records that never arrived, whether the drops end because the sink
# writes again, because the report timer's interval passed, or because the
# child exits. Before, only the first drop of a minute was told, so 18,720
# drops read as "dropped 1 records".
#
# A piped logger stopped with SIGSTOP fills its pipe (1 MiB) and the rest
# of a burst is dropped; a Redis sink aimed at a closed port with a small
# queue drops what does not fit and, at exit, what is still queued.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep);

sub reported {
    my ($h, $sink) = @_;
    my ($sum, $log) = (0, $h->error_log);
    $sum += $1 while $log =~ /memtrack: \Q$sink\E: dropped (\d+) records since the last report/g;
    return $sum;
}

sub lines { my ($h) = @_; return scalar(() = $h->raw_lines) }

sub burst {
    my ($h, $n, $tag) = @_;
    my ($rc, $out) = $h->ab(n => $n, c => 8, path => "/static.txt?$tag");
    is($rc, 0, "$n requests ($tag) served") or diag($out);
}

for my $mpm (qw(event prefork)) {
    subtest "$mpm: a stopped piped logger; reported when writing again, and at exit" => sub {
        my $h = MTTest->start(mpm => $mpm, log => 'pipe');
        ok(MTTest::wait_for(sub { $h->logger_pid }, 10), 'logger started');
        my $sink = "MemTrackLog |$^X " . $h->dir . '/logger.pl ' . $h->dir;
        kill 'STOP', $h->logger_pid;
        burst($h, 2000, 'stopped');
        kill 'CONT', $h->logger_pid;
        # writing again: every drop so far is told now, not in a minute
        my $sent = 2000;
        $h->records;                 # the logger has caught up
        for my $i (1 .. 20) {
            $h->get("/static.txt?again=$i");
            $sent++;
        }
        MTTest::wait_for(sub { lines($h) + reported($h, $sink) >= $sent }, 10);
        my $got = lines($h);
        my $told = reported($h, $sink);
        cmp_ok($told, '>', 0, "records were dropped ($told)");
        is($got + $told, $sent, "received $got + told dropped $told = sent $sent, "
           . 'before any child exits');
        like($h->error_log, qr/\Q$sink\E: dropped \d+ records since the last report .*; writing again/,
             'the report says the sink writes again');

        # drops, then the child exits before it writes again
        kill 'STOP', $h->logger_pid;
        burst($h, 2000, 'exit');
        $sent += 2000;
        # Each child's writer thread writes a record up to 50 ms after its
        # request (mod_memtrack_log.c): let the last ones meet the stopped
        # logger too, or they are a sink writing again.
        sleep 1;
        kill 'CONT', $h->logger_pid;
        $h->records;       # drained (what a stopping httpd does to its
                           # piped logger is t/54's business)
        $h->stop;
        $got = lines($h);
        $told = reported($h, $sink);
        is($got + $told, $sent, "after stop: received $got + told $told = sent $sent");
        like($h->error_log, qr/\Q$sink\E: dropped \d+ records since the last report .*; child exiting/,
             'the rest is told at child exit');
        is($h->sanitizer_log, '', 'no sanitizer reports');
    };
}

subtest 'the report timer tells drops that nothing else would' => sub {
    my $h = MTTest->start(mpm => 'event', log => 'pipe',
                          conf => "MemTrackDropReportInterval 6\n");
    ok(MTTest::wait_for(sub { $h->logger_pid }, 10), 'logger started');
    my $sink = "MemTrackLog |$^X " . $h->dir . '/logger.pl ' . $h->dir;
    my ($sent, $pending) = (0, 0);
    for my $round (1 .. 3) {
        kill 'STOP', $h->logger_pid;
        burst($h, 2000, "timer$round");
        $sent += 2000;
        kill 'CONT', $h->logger_pid;
        $h->records;                 # the logger has written what it had
        # No request from here on and no child exit: drops not told yet
        # can only be told by the timer.
        $pending = $sent - lines($h) - reported($h, $sink);
        last if $pending > 0;
    }
    cmp_ok($pending, '>', 0, "$pending drops not told when the burst ended");
    ok(MTTest::wait_for(sub { lines($h) + reported($h, $sink) == $sent }, 15),
       'the timer told them: received + told = sent');
    $h->stop;
};

subtest 'Redis: what the queue refuses and what is left at exit' => sub {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0);
    my $closed = $s->sockport;
    close $s;
    my $h = MTTest->start(mpm => 'event', log => 'none', conf => join("\n",
        "MemTrackRedis redis://127.0.0.1:$closed/0", 'MemTrackRedisQueue 100', ''));
    burst($h, 500, 'redis');
    $h->stop;
    my $told = reported($h, "redis redis://127.0.0.1:$closed/0");
    is($told, 500, 'all 500 records told as dropped (none could be written)');
};

done_testing();

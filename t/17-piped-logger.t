#!/usr/bin/perl
# The piped logger is reliable: killing it (SIGKILL, by its pid) during a
# steady load loses at most the records it had read but not yet written,
# httpd starts a new one (new pid), and records keep arriving.
#
# Load is paced at about 50 requests a second so that the pipe buffer (1 MiB,
# about 800 records) holds everything written while httpd notices the death
# and the module restarts the logger (src/mod_memtrack_pipe.c; the MPM
# reaps dead children about once a second). The
# logger writes every read() at once, so what it can lose when killed is one
# read: the records that were in the pipe at that moment, a few at this pace.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;
use Time::HiRes qw(sleep);
use MTClock qw(time);

my $TOTAL   = 300;
my $KILL_AT = 100;
my $IN_FLIGHT = 5;   # records one read() can hold at this pace, generously

sub wait_for { return MTTest::wait_for(@_) }

for my $mpm (qw(event prefork)) {
    my $h = MTTest->start(mpm => $mpm, log => 'pipe');
    ok(wait_for(sub { $h->logger_pid }, 10), "$mpm: piped logger started");
    my $old = $h->logger_pid;
    ok($old && kill(0, $old), "$mpm: logger $old alive");

    my $ok = 0;
    for my $i (1 .. $TOTAL) {
        if ($i == $KILL_AT) {
            ok(kill('KILL', $old), "$mpm: killed logger $old at request $i");
        }
        $ok++ if $h->get("/static.txt?seq=$i")->{status} == 200;
        sleep 0.02;
    }
    is($ok, $TOTAL, "$mpm: every request served while the logger was down");

    ok(wait_for(sub { my $p = $h->logger_pid; $p && $p != $old && kill 0, $p }, 10),
       "$mpm: httpd started a new logger") or diag($h->error_log);
    my $new = $h->logger_pid;
    isnt($new, $old, "$mpm: new logger pid $new");

    for my $i (1 .. 50) {
        $h->get("/static.txt?after=$i");
    }
    my $want_after = sub { grep { $_ && $_->{url} =~ /\?after=\d+$/ } $h->records };
    ok(wait_for(sub { $want_after->() == 50 }, 15),
       "$mpm: all 50 records after the restart arrived")
        or diag(scalar($want_after->()) . " of 50");

    my @lines = $h->raw_lines;
    my @recs = map { MTTest::decode_line($_) } @lines;
    is(scalar(grep { !$_ } @recs), 0, "$mpm: every line valid JSON (no torn lines)");
    my %seq = map { $_->{url} =~ /\?seq=(\d+)$/ ? ($1 => 1) : () } grep { $_ } @recs;
    my @missing = grep { !$seq{$_} } 1 .. $TOTAL;
    cmp_ok(scalar @missing, '<=', $IN_FLIGHT,
           "$mpm: lost at most the records in flight (lost " . scalar(@missing) . ')')
        or diag("missing: @missing\n" . $h->error_log);
    ok(!grep({ $_ < $KILL_AT - $IN_FLIGHT || $_ > $KILL_AT + 60 } @missing),
       "$mpm: losses only around the kill");
    my %dup;
    is(scalar(grep { $_ && $dup{ $_->{request_id} }++ } @recs), 0,
       "$mpm: no record written twice");
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");
}

done_testing();

#!/usr/bin/perl
# The Redis sink, both MPMs: every tracked request gets memtrack:req:<id>
# holding exactly its log line with the configured TTL, and one
# memtrack:stream entry; both sinks on at once; graceful restarts leave no
# stale connections (so no leaked writer threads) behind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTRedis;
use Test::More;
use Time::HiRes qw(sleep);
use MTClock qw(time);

# Redis clients that are not us (CLIENT LIST lines without our own name).
sub httpd_clients {
    my ($rd) = @_;
    my $list = $rd->cmd('CLIENT', 'LIST');
    return grep { !/cmd=client/ } split /\n/, $list;
}

sub wait_for { return MTTest::wait_for(@_) }

for my $mpm (qw(event prefork)) {
    my $rd = MTRedis->start;
    my $h = MTTest->start(mpm => $mpm, conf => join("\n",
        "MemTrackRedis " . $rd->url,
        "MemTrackRedisTTL 300",
        "MemTrackRedisStreamMaxLen 5000"));
    my $n = 30;
    for my $i (1 .. $n) {
        my $res = $h->get($i % 3 ? "/static.txt?i=$i" : "/missing-$i");
        die "request failed: $res->{status}" if $res->{status} >= 500;
    }
    $h->wait_records($n, 10);
    my @lines = $h->raw_lines;
    is(scalar @lines, $n, "$mpm: $n lines in the log sink");
    ok(wait_for(sub { $rd->cmd('XLEN', 'memtrack:stream') >= $n }, 10),
       "$mpm: $n stream entries");

    my ($same, $ttl_ok, @bad) = (0, 0);
    for my $line (@lines) {
        my $rec = MTTest::decode_line($line) or next;
        my $id = $rec->{request_id};
        my $v = $rd->cmd('GET', "memtrack:req:$id");
        (my $want = $line) =~ s/\n\z//;
        if (defined $v && $v eq $want) { $same++ } else { push @bad, $id }
        my $ttl = $rd->cmd('TTL', "memtrack:req:$id");
        $ttl_ok++ if $ttl > 290 && $ttl <= 300;
    }
    is($same, $n, "$mpm: GET memtrack:req:<id> equals the log line")
        or diag("differ: @bad[0 .. ($#bad > 4 ? 4 : $#bad)]");
    is($ttl_ok, $n, "$mpm: every key expires in 290-300 s");

    my $entries = $rd->cmd('XRANGE', 'memtrack:stream', '-', '+');
    my %in_stream = map { $_->[1][1] => 1 }
                    grep { $_->[1][0] eq 'record' } @$entries;
    my $found = grep { my $l = $_; $l =~ s/\n\z//; $in_stream{$l} } @lines;
    is($found, $n, "$mpm: every line is a stream entry's 'record' field");
    is(scalar(keys %in_stream), scalar(@$entries),
       "$mpm: entries have just the record field");
    is(scalar($rd->keys_like('*')), $n + 1,
       "$mpm: no keys but memtrack:req:<id> and the stream");

    # Graceful restarts: old children exit and their connections close; the
    # new children connect. Stale clients would mean leaked writers.
    for my $round (1 .. 2) {
        $h->graceful;
        sleep 1.5;
        $h->get("/static.txt?after-graceful=$round") for 1 .. 4;
    }
    ok(wait_for(sub { $rd->cmd('XLEN', 'memtrack:stream') >= $n + 8 }, 10),
       "$mpm: records keep coming after graceful restarts");
    my $kids = () = $h->child_pids;
    ok(wait_for(sub { httpd_clients($rd) <= $kids }, 10),
       "$mpm: no more Redis connections than children after 2 gracefuls")
        or diag(scalar(httpd_clients($rd)) . " clients, $kids children:\n"
                . join("\n", httpd_clients($rd)));
    unlike($h->error_log, qr/memtrack: redis.*(cannot|lost|refused)/,
           "$mpm: no Redis trouble logged");
    $h->stop;
    is($h->sanitizer_log, '', "$mpm: no sanitizer reports");
    is(scalar(httpd_clients($rd)), 0, "$mpm: httpd stopped, no connections");
}

done_testing();

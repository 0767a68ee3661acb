#!/usr/bin/perl
# 2,000 requests at concurrency 50 through the piped logger give exactly
# 2,000 valid, non-interleaved lines, one per request. The URL is padded so
# that each line is about 1.7 KB (PIPE_BUF is 4 KB), so a record written in more
# than one write() would visibly interleave with others.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;

my $N   = 2000;
my $PAD = 'p' x 1000;

for my $case (['event', 'pipe'], ['prefork', 'pipe'], ['event', 'file']) {
    my ($mpm, $log) = @$case;
    my $h = MTTest->start(mpm => $mpm, log => $log);
    my ($rc, $out) = $h->ab(n => $N, c => 50, path => "/static.txt?pad=$PAD",
                            timeout => 120);
    is($rc, 0, "$mpm/$log: ab ran") or diag($out);
    like($out, qr/Complete requests:\s+$N\b/, "$mpm/$log: $N requests completed");
    like($out, qr/Failed requests:\s+0\b/, "$mpm/$log: none failed");

    my @recs  = $h->wait_records($N, 20);
    my @lines = $h->raw_lines;
    is(scalar @lines, $N, "$mpm/$log: exactly $N lines")
        or diag(scalar(@lines) . " lines; error log:\n" . $h->error_log);
    my $raw = do {
        open my $fh, '<', $h->dir . '/records.jsonl' or die $!;
        local $/; <$fh>;
    };
    is(length($raw), length(join '', @lines), "$mpm/$log: no partial last line");
    my ($bad, $long, $probs, %ids, %pids) = (0, 0, 0);
    for my $i (0 .. $#lines) {
        my $r = $recs[$i];
        if (!$r) { $bad++; diag("invalid line $i: " . substr($lines[$i], 0, 200)) if $bad < 4; next }
        $long++ if length($lines[$i]) > 4096;
        $probs++ if MTTest::record_problems($r, $lines[$i]);
        $ids{ $r->{request_id} }++;
        $pids{ $r->{pid} }++;
        $bad++ unless $r->{url} eq "/static.txt?pad=$PAD";
    }
    is($bad, 0, "$mpm/$log: every line is one whole record of our URL");
    is($long, 0, "$mpm/$log: no line over 4096 bytes");
    is($probs, 0, "$mpm/$log: every record valid");
    is(scalar keys %ids, $N, "$mpm/$log: $N distinct request ids");
    note("$mpm/$log: records per child: "
         . join(' ', map { "$_=$pids{$_}" } sort keys %pids));
    unlike($h->error_log, qr/memtrack: .*dropped/, "$mpm/$log: nothing dropped");
    $h->stop;
    is($h->sanitizer_log, "", "$mpm/$log: no sanitizer report");
}

done_testing();

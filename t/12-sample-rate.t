#!/usr/bin/perl
# MemTrackSampleRate N records 1 request in N: rate 4 over 400 requests gives
# about 100 records, rate 1 gives all of them. Both rates in one server, the
# rate 4 in a <Location>, so the per-directory merge is tested too.
#
# Range: whether the module samples by counter (per child: exactly 100 give or
# take one per child) or at random (binomial, mean 100, sd 8.7), 100 +- 35 is
# more than 4 sd: a correct module fails it about once in 30,000 runs, while a
# module ignoring the rate gives 400 and one inverting it gives 1600 or 0.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;
use File::Path qw(make_path);

for my $mpm (qw(event prefork)) {
    my $h = MTTest->start(mpm => $mpm, conf => <<'EOC');
MemTrackSampleRate 1
<Location /sampled>
  MemTrackSampleRate 4
</Location>
EOC
    make_path($h->dir . '/htdocs/sampled');
    chmod 0755, $h->dir . '/htdocs/sampled';
    open my $fh, '>', $h->dir . '/htdocs/sampled/x.txt' or die $!;
    print {$fh} "x\n";
    close $fh;
    chmod 0644, $h->dir . '/htdocs/sampled/x.txt';

    my ($rc, $out) = $h->ab(n => 400, c => 4, path => '/sampled/x.txt');
    is($rc, 0, "$mpm: ab rate-4 run") or diag($out);
    like($out, qr/Complete requests:\s+400/, "$mpm: 400 requests done");
    ($rc, $out) = $h->ab(n => 200, c => 4, path => '/static.txt?rate=1');
    is($rc, 0, "$mpm: ab rate-1 run") or diag($out);

    my @recs = $h->wait_records(250, 15);
    is(scalar(grep { !$_ } @recs), 0, "$mpm: every line valid JSON");
    my $sampled = grep { $_ && $_->{url} eq '/sampled/x.txt' } @recs;
    my $all     = grep { $_ && $_->{url} eq '/static.txt?rate=1' } @recs;
    ok($sampled >= 65 && $sampled <= 135,
       "$mpm: rate 4 over 400 requests: $sampled records (want 65..135)");
    is($all, 200, "$mpm: rate 1 records every request");
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");
}

# Rate set at server level applies to every location.
{
    my $h = MTTest->start(conf => "MemTrackSampleRate 10\n");
    my ($rc, $out) = $h->ab(n => 300, c => 3, path => '/static.txt');
    is($rc, 0, 'server-level rate 10: ab run') or diag($out);
    sleep 1;
    my @recs = $h->records;
    ok(@recs >= 10 && @recs <= 55,
       'server-level rate 10 over 300 requests: ' . scalar(@recs)
       . ' records (want 10..55)');
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");
}

done_testing();

#!/usr/bin/perl
# MemTrackThreshold: the test-only grow handler makes the child grow by N MiB;
# with a threshold below N the record says threshold_exceeded true with
# memory_growth close to N MiB and one warning naming the request id goes to
# the error log; a small request stays false and logs nothing. A <Location>
# can raise the threshold.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;

plan skip_all => 'build/mod_mt_grow.so not built (make)'
    unless -f MTTest::grow_module_path();

my $MiB = 1024 * 1024;
my $N   = 32;

for my $mpm (qw(event prefork)) {
    my $h = MTTest->start(mpm => $mpm, conf => <<'EOC');
MemTrackThreshold 8M
<Location /grow-high>
  SetHandler memtrack-test-grow
  MemTrackThreshold 64M
</Location>
EOC
    my $res = $h->get("/grow?mb=$N");
    is($res->{status}, 200, "$mpm: grow $N MiB");
    my ($child) = $res->{content} =~ /pid=(\d+)/;
    # The record is written after the response has gone: under event, a
    # next request served by another thread of the same child meanwhile
    # would add its own growth to this one (seen: a /grow-high half done,
    # +7 MiB). Wait for the record first.
    $h->wait_records(1, 10);
    $h->get('/static.txt?small=1');
    $h->get('/grow?mb=0');
    $h->get("/grow-high?mb=$N");

    my @recs = $h->wait_records(4, 10);
    my %by = map { ($_->{url} => $_) } grep { $_ } @recs;
    my $big = $by{"/grow?mb=$N"};
    ok($big, "$mpm: record for the growing request") or diag(join '', $h->raw_lines);
    SKIP: {
        skip 'no record', 8 unless $big;
        ok(!MTTest::record_problems($big), "$mpm: valid record");
        is($big->{pid}, $child, "$mpm: pid is the child that grew");
        ok(JSON::PP::is_bool($big->{threshold_exceeded})
           && $big->{threshold_exceeded}, "$mpm: threshold_exceeded true");
        my $g = $big->{memory_growth} // 0;
        # ASan adds shadow and allocator pages to the real growth
        my $slack = $ENV{MT_ASAN} ? 10 : 4;
        ok($g >= ($N - 1) * $MiB && $g <= ($N + $slack) * $MiB,
           sprintf "$mpm: growth %.2f MiB close to %d MiB", $g / $MiB, $N);
        is($big->{threshold}, 8 * $MiB, "$mpm: threshold field in bytes")
            if exists $big->{threshold};

        my @warn = grep { /memtrack: threshold exceeded: request_id=\Q$big->{request_id}\E\b/ }
                   split /\n/, $h->error_log;
        is(scalar @warn, 1, "$mpm: exactly one warning naming the request id")
            or diag($h->error_log);
        my $w = $warn[0] // '';
        like($w, qr/\[\S*:warn\]/, "$mpm: at level warn");
        like($w, qr/method=GET url=\/grow\?mb=$N growth=$g threshold=@{[8 * $MiB]} pid=$child/,
             "$mpm: warning names method, url, growth, threshold and pid");
    }
    for my $u ('/static.txt?small=1', '/grow?mb=0') {
        my $r = $by{$u};
        ok($r && JSON::PP::is_bool($r->{threshold_exceeded})
           && !$r->{threshold_exceeded}, "$mpm: $u not exceeded");
        unlike($h->error_log, qr/request_id=\Q$r->{request_id}\E\b/,
               "$mpm: no warning for $u") if $r;
    }
    my $high = $by{"/grow-high?mb=$N"};
    ok($high, "$mpm: record under <Location /grow-high>");
    if ($high) {
        ok($high->{memory_growth} >= ($N - 1) * $MiB, "$mpm: it grew too");
        ok(!$high->{threshold_exceeded},
           "$mpm: 64M threshold of the <Location> not exceeded by $N MiB");
        is($high->{threshold}, 64 * $MiB, "$mpm: location threshold in record")
            if exists $high->{threshold};
    }
    my $nwarn = () = $h->error_log =~ /memtrack: threshold exceeded:/g;
    is($nwarn, 1, "$mpm: one threshold warning in all");
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");
}

# Sizes: plain bytes and K/G suffixes mean what they say.
{
    my $h = MTTest->start(conf => "MemTrackThreshold 4194304\n"
                               . "<Location /k>\n  SetHandler memtrack-test-grow\n"
                               . "  MemTrackThreshold 2048K\n</Location>\n"
                               . "<Location /g>\n  SetHandler memtrack-test-grow\n"
                               . "  MemTrackThreshold 1G\n</Location>\n");
    $h->get('/grow?mb=8');
    $h->get('/k?mb=4');
    $h->get('/g?mb=8');
    my %by = map { ($_->{url} => $_) } grep { $_ } $h->wait_records(3, 10);
    ok($by{'/grow?mb=8'} && $by{'/grow?mb=8'}{threshold_exceeded},
       '4194304 bytes: 8 MiB exceeds');
    ok($by{'/k?mb=4'} && $by{'/k?mb=4'}{threshold_exceeded},
       '2048K: 4 MiB exceeds');
    ok($by{'/g?mb=8'} && !$by{'/g?mb=8'}{threshold_exceeded},
       '1G: 8 MiB does not');
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");
}

done_testing();

#!/usr/bin/perl
# Internal redirects give exactly one record, and the "before" sample is the
# one taken for the first request (r->prev chain), not a new one.
#
# How "first sample kept" is told apart: /grow?mb=24&status=404 grows the
# child by 24 MiB and then answers 404; "ErrorDocument 404 /err.html" makes
# httpd redirect internally to /err.html, whose post_read_request runs AFTER
# the growth. A module that kept the first sample reports growth >= ~24 MiB;
# one that re-sampled at the redirect reports about 0.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;

my $MiB = 1024 * 1024;

for my $mpm (qw(event prefork)) {
    my $h = MTTest->start(mpm => $mpm, conf => <<'EOC');
ErrorDocument 404 /err.html
<Location /redir-grow>
  SetHandler memtrack-test-grow
  ErrorDocument 410 /grow?mb=0
</Location>
EOC

    # 1. ErrorDocument redirect after growth.
    my $res = $h->get('/grow?mb=24&status=404');
    is($res->{status}, 404, "$mpm: grow then 404");
    like($res->{content}, qr/custom error page/, "$mpm: ErrorDocument served");

    # 2. Plain 404 with ErrorDocument (redirect, no growth).
    $res = $h->get('/nothing-here.txt');
    is($res->{status}, 404, "$mpm: missing file 404");

    # 3. DirectoryIndex (mod_dir sub-request + fast redirect).
    $res = $h->get('/');
    is($res->{status}, 200, "$mpm: / served by DirectoryIndex");

    # 4. A redirect chain whose target is another handler.
    $res = $h->get('/redir-grow?mb=0&status=410');
    is($res->{status}, 410, "$mpm: 410 then ErrorDocument /grow");

    my @recs = $h->wait_records(4, 10);
    my @lines = $h->raw_lines;
    is(scalar @lines, 4, "$mpm: exactly one record per client request")
        or diag(join '', @lines);
    for my $i (0 .. $#lines) {
        my @p = MTTest::record_problems($recs[$i], $lines[$i]);
        ok(!@p, "$mpm: record $i valid") or diag("@p\n$lines[$i]");
    }
    my %by = map { ($_->{url} => $_) } grep { $_ } @recs;

    my $g = $by{'/grow?mb=24&status=404'};
    ok($g, "$mpm: record names the original URL, not /err.html")
        or diag(join '', @lines);
    if ($g) {
        is($g->{status}, 404, "$mpm: final status recorded");
        ok(defined $g->{memory_growth} && $g->{memory_growth} >= 22 * $MiB,
           "$mpm: first sample kept: growth "
           . ($g->{memory_growth} // 'null') . " >= 22 MiB");
        ok($g->{memory_growth} < 40 * $MiB, "$mpm: growth not absurd");
    }
    ok($by{'/nothing-here.txt'}, "$mpm: one record for the 404 redirect");
    is($by{'/nothing-here.txt'}{status}, 404, "$mpm: its status 404")
        if $by{'/nothing-here.txt'};
    ok($by{'/'}, "$mpm: one record for /, under its own URL");
    ok($by{'/redir-grow?mb=0&status=410'}, "$mpm: one record for the 410 chain");
    ok(!$by{'/err.html'} && !$by{'/index.html'} && !$by{'/grow?mb=0'},
       "$mpm: no record under a redirect target's URL");
    my %ids = map { ($_->{request_id} => 1) } grep { $_ } @recs;
    is(scalar keys %ids, scalar @lines, "$mpm: request ids distinct");
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");
}

done_testing();

#!/usr/bin/perl
# The analysis on real processes: a Passenger Rack app with two processes
# and the companion, under concurrent traffic at a steady mix. A Ruby-heap
# leak and a native (malloc) leak are named leak with estimates within 25%
# of what they keep; churn, a cache that fills then stops, a one-time load
# and a flat endpoint are never called leaks (checked after every batch). A
# graceful restart in the middle keeps the verdicts.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTPassenger;
use MTAnalysis;
use MTBrowser;
use MTProm;
use File::Path ();
use Test::More;

plan skip_all => MTPassenger::why_not() if MTPassenger::why_not();

# What each leaking request keeps, by the app's own code (t/apps/lib):
# /leak keeps 100 strings of 500 bytes, /leak_native one malloc of 50,000.
my %KEEPS = ('MTTestApp#leak' => 50_000, 'MTTestApp#leak_native' => 50_000);
my %NOT_LEAK = map { ("MTTestApp#$_" => 1) } qw(garbage cache_fill bloat hello);
my %MIX = ('/leak' => 10, '/leak_native' => 10, '/garbage' => 10,
           '/cache_fill' => 15, '/bloat' => 10, '/hello' => 45);

my $h = MTPassenger->start(app => 'rack', procs => 2,
    # a higher probe rate and GC budget than the defaults, so that a few
    # thousand requests are enough (make hunt runs the defaults)
    env => { MEMTRACK_PROBE_BUDGET => '0.25' },
    conf => "MemTrackProbeRate 10\nMemTrackProbeMax 20\n"
          . MTAnalysis::status_location());
my @pids = MTPassenger::warm($h, procs => 2);
is(scalar @pids, 2, 'two app processes');

my %false;
my $check = sub {
    my $v = MTAnalysis::verdicts($h);
    for my $e (keys %NOT_LEAK) {
        $false{$e} //= $v->{$e}{evidence}
            if $v->{$e} && $v->{$e}{verdict} eq 'leak';
    }
};
my $bad = MTAnalysis::load($h, mix => \%MIX, requests => 2400, clients => 4,
                           batch => 200, after_batch => $check);
is($bad, 0, 'every request answered');

# A graceful restart in the middle: the verdicts so far stay.
my $before = MTAnalysis::verdicts($h);
$h->graceful;
ok(MTTest::wait_for(sub { eval { MTAnalysis::verdicts($h) } }, 20),
   'status answers after the graceful restart');
my $after = MTAnalysis::verdicts($h);
for my $e (sort keys %$before) {
    is($after->{$e}{requests} // -1, $before->{$e}{requests},
       "graceful restart kept ${e}'s requests");
    is($after->{$e}{verdict}, $before->{$e}{verdict},
       "and its verdict ($before->{$e}{verdict})");
}
$bad = MTAnalysis::load($h, mix => \%MIX, requests => 2400, clients => 4,
                        batch => 200, after_batch => $check, seed => 100);
is($bad, 0, 'every request answered after the restart');

my $v = MTAnalysis::verdicts($h);
for my $e (sort keys %KEEPS) {
    my $x = $v->{$e} || {};
    is($x->{verdict}, 'leak', "$e is a leak") or diag(explain($x));
    my $est = $x->{leak_bytes_per_request} // 0;
    ok(abs($est - $KEEPS{$e}) <= 0.25 * $KEEPS{$e},
       "$e: $est bytes per request, within 25% of $KEEPS{$e}");
    ok(($x->{leak_bytes_per_request_low} // 1e18) <= $est
       && $est <= ($x->{leak_bytes_per_request_high} // -1),
       "$e: the estimate has its interval");
}
for my $e (sort keys %NOT_LEAK) {
    ok($v->{$e}, "$e was seen");
    isnt($v->{$e}{verdict} // '', 'leak', "$e is not a leak ("
         . ($v->{$e}{verdict} // 'none') . ')');
    ok(!$false{$e}, "$e was never called a leak") or diag($false{$e});
}
is($v->{'MTTestApp#garbage'}{verdict}, 'churn', 'garbage is churn');
like($v->{'MTTestApp#bloat'}{verdict}, qr/^(bloat|flat)$/,
     'the one-time load is bloat (or flat once its first calls are behind)')
    or diag(explain($v->{'MTTestApp#bloat'}));

# A real Prometheus scraping the metrics: the leak suspects are the two
# leaking endpoints, and nothing else.
SKIP: {
    skip MTProm::why_not(), 3 if MTProm::why_not();
    my ($ok, $out) = MTProm::check_metrics(
        MTAnalysis::status($h, 'prometheus')->{content});
    ok($ok, 'promtool check metrics') or diag($out);
    my $p = MTProm->start(targets => ['127.0.0.1:' . $h->port],
                          path => $MTAnalysis::STATUS_PATH,
                          params => { prometheus => '1' });
    my @s = $p->wait_query('memtrack_endpoint_leak_suspected == 1',
                           sub { @_ >= 2 }, 60);
    is_deeply([sort map { $_->{metric}{endpoint} } @s], [sort keys %KEEPS],
              'Prometheus: memtrack_endpoint_leak_suspected names the two leaks');
    my @b = $p->wait_query('memtrack_endpoint_leak_bytes_per_request > 0',
                           sub { @_ >= 2 }, 30);
    ok((grep { abs($_->{value}[1] - 50_000) <= 12_500 } @b) == 2,
       'and their bytes per request: ' . join(', ', map {
           "$_->{metric}{endpoint} $_->{value}[1]" } @b));
    $p->stop;
}

# The page a person looks at, with the leaks on it: kept for a look.
SKIP: {
    skip MTBrowser::why_not(), 2 if MTBrowser::why_not();
    my $png = "$MTTest::ROOT/t/tmp/status-page-leaks.png";
    File::Path::make_path("$MTTest::ROOT/t/tmp");
    ok(MTBrowser::screenshot($h->url($MTAnalysis::STATUS_PATH), $png, '1400,2200'),
       "screenshot of the page with its leaks: $png");
    my $dom = MTBrowser::dump_dom($h->url($MTAnalysis::STATUS_PATH));
    like($dom->{dom} // '', qr/MTTestApp#leak_native.*?leak/s,
         'the page shows the native leak as a leak');
}

MTPassenger::stop($h);
is($h->sanitizer_log, '', 'no sanitizer report');
done_testing();

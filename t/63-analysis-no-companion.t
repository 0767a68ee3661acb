#!/usr/bin/perl
# Without the companion there are no probes: the app process (found by the
# module on its own, so one per app) gets its verdict from its resident
# size alone, and no endpoint is blamed: they say what they would need.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTPassenger;
use MTAnalysis;
use Test::More;

plan skip_all => MTPassenger::why_not() if MTPassenger::why_not();

sub run_mix {
    my ($mix, $n) = @_;
    my $h = MTPassenger->start(app => 'rack-plain', procs => 1,
                               conf => MTAnalysis::status_location());
    MTPassenger::warm($h, procs => 1);
    my $leaks = 0;
    my $bad = MTAnalysis::load($h, mix => $mix, requests => $n, clients => 3,
        batch => 300, after_batch => sub {
            my $v = MTAnalysis::verdicts($h);
            $leaks += grep { $_->{verdict} eq 'leak' } values %$v;
        });
    is($bad, 0, 'every request answered');
    my $st = MTAnalysis::status($h);
    my ($app) = grep { $_->{kind} eq 'app' } @{ $st->{processes} || [] };
    MTPassenger::stop($h);
    return ($app, { map { $_->{endpoint} => $_ } @{ $st->{endpoints} } }, $leaks);
}

my ($app, $v, $leaks) = run_mix({ '/leak' => 30, '/garbage' => 10,
                                  '/hello' => 60 }, 1500);
ok($app, 'the app process is in the status');
is($app->{verdict}, 'leak', 'a leaking app process: leak')
    or diag(explain($app));
is($leaks, 0, 'no endpoint was ever called a leak');
like($v->{'MTTestApp#leak'}{needs} // $v->{'GET /leak'}{needs} // '',
     qr/companion/, 'the leaking endpoint says it needs the companion');

($app, $v, $leaks) = run_mix({ '/garbage' => 20, '/cache_fill' => 20,
                               '/hello' => 60 }, 1500);
isnt($app->{verdict} // '', 'leak', 'no leak: the app process is not called '
     . 'leaking (' . ($app->{verdict} // 'none') . ')');
is($leaks, 0, 'and no endpoint either');
done_testing();

#!/usr/bin/perl
# The analysis with the httpd child as target: prefork, where one child
# serves one request at a time and probes itself (its heap in use around a
# request). A test module that leaks 50 KiB per request in one <Location>
# is named leak within 25%; one that churns 4 MB of garbage per request,
# static files and the index page never are. Under the event MPM (threads)
# nothing is probed and no endpoint is blamed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTAnalysis;
use Test::More;

my $LOCS = "<Location /leaky>\n  SetHandler memtrack-test-grow\n"
         . "  MemTrackEndpoint leaky\n</Location>\n"
         . "<Location /churn>\n  SetHandler memtrack-test-grow\n"
         . "  MemTrackEndpoint churn\n</Location>\n";
my %MIX = ('/leaky?kb=50' => 10, '/churn?garbage_kb=4000' => 20,
           '/static.txt' => 40, '/' => 30);

sub run_with {
    my (%o) = @_;
    my $h = MTTest->start(%o, conf => "MemTrackProbeRate 10\n$LOCS"
                                      . MTAnalysis::status_location());
    my %false;
    my $bad = MTAnalysis::load($h, mix => \%MIX, requests => 4000,
        clients => 2, batch => 250, after_batch => sub {
            my $v = MTAnalysis::verdicts($h);
            for my $e (grep { $_ ne 'leaky' } keys %$v) {
                $false{$e} //= $v->{$e}{evidence} if $v->{$e}{verdict} eq 'leak';
            }
        });
    is($bad, 0, "$o{mpm}: every request answered");
    return ($h, MTAnalysis::verdicts($h), \%false);
}

my ($h, $v, $false) = run_with(mpm => 'prefork', mpm_conf =>
    "StartServers 2\nMinSpareServers 2\nMaxSpareServers 2\n"
    . "ServerLimit 2\nMaxRequestWorkers 2\nMaxConnectionsPerChild 0\n");
my $l = $v->{leaky} || {};
is($l->{verdict}, 'leak', 'prefork: the leaking location is a leak')
    or diag(explain($l));
ok(abs(($l->{leak_bytes_per_request} // 0) - 51200) <= 0.25 * 51200,
   'prefork: about 50 KiB per request (' . ($l->{leak_bytes_per_request} // 'none') . ')');
for my $e ('churn', 'GET /static.txt', 'GET /') {
    ok($v->{$e} && $v->{$e}{verdict} ne 'leak',
       "prefork: $e is not a leak (" . ($v->{$e}{verdict} // 'none') . ')');
}
is_deeply($false, {}, 'prefork: nothing else was ever called a leak');
my $st = MTAnalysis::status($h);
my @leaking = grep { $_->{verdict} eq 'leak' } @{ $st->{processes} || [] };
ok(@leaking >= 1, 'prefork: the children themselves are seen leaking');
$h->stop;
is($h->sanitizer_log, '', 'prefork: no sanitizer report');

($h, $v, $false) = run_with(mpm => 'event');
is_deeply($false, {}, 'event: no endpoint is ever called a leak');
like($v->{leaky}{needs} // '', qr/probes/,
     'event: the leaking location is unknown, needing probes');
$h->stop;
is($h->sanitizer_log, '', 'event: no sanitizer report');
done_testing();

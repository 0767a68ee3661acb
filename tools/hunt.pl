#!/usr/bin/perl
# make hunt: the analysis on real processes, at the default settings
# (MemTrackProbeRate 100, MemTrackProbeMax 2, the companion's 2% GC budget).
# A Passenger Rack app with two processes and the companion:
#   1. a 50 KB/request leak (/leak_native) on 10% of the traffic, among
#      bloat (/bloat, /cache_fill), churn (/churn) and flat (/hello): how many
#      requests of the leaking endpoint until the module names it;
#   2. 100,000 requests of the same without the leak: whether any endpoint
#      is ever called a leak (checked every 500 requests).
#   HUNT_REQUESTS=100000 HUNT_CLIENTS=4
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest ':noskip';
use MTPassenger;
use MTAnalysis;
use Time::HiRes qw(time);

$| = 1;
my $N = $ENV{HUNT_REQUESTS} // 100_000;
my $CLIENTS = $ENV{HUNT_CLIENTS} // 4;
my %BACKGROUND = ('/bloat' => 8, '/cache_fill' => 12, '/churn' => 25,
                  '/hello' => 45);
my $LEAK = 'MTTestApp#leak_native';

sub server {
    my $h = MTPassenger->start(app => 'rack', procs => 2, name => 'hunt',
                               conf => MTAnalysis::status_location());
    MTPassenger::warm($h, procs => 2);
    return $h;
}

sub ep_requests {
    my ($v, $e) = @_;
    return $v->{$e} ? $v->{$e}{requests} : 0;
}

print "== 1. a 50 KB/request leak on 10% of the traffic (defaults)\n";
my $h = server();
my ($named, $t0) = (undef, time);
# batches of 500 until the leak is named (or 60,000 requests)
my $done = 0;
while (!$named && $done < 60_000) {
    MTAnalysis::load($h, mix => { %BACKGROUND, '/leak_native' => 10 },
                     requests => 500, clients => $CLIENTS, batch => 500,
                     seed => $done + 1);
    $done += 500;
    my $v = MTAnalysis::verdicts($h);
    next unless ($v->{$LEAK}{verdict} // '') eq 'leak';
    $named = $v->{$LEAK};
    printf "  named after %d requests of it (%d in all, %.0f s): %.0f B per "
        . "request (95%% %.0f to %.0f), confidence %s\n", $named->{requests},
        $done, time - $t0, $named->{leak_bytes_per_request},
        $named->{leak_bytes_per_request_low},
        $named->{leak_bytes_per_request_high}, $named->{confidence} // '?';
}
print "  NOT named within $done requests\n" unless $named;
my $st = MTAnalysis::status($h);
printf "  probes: %s asked, %s started, %s counted\n",
    map { $st->{counters}{"probes_$_"} // "?" } qw(asked started done);
MTPassenger::stop($h);
$h->discard;

printf "\n== 2. %d requests of bloat, churn and flat, no leak\n", $N;
$h = server();
my %called;
$t0 = time;
MTAnalysis::load($h, mix => \%BACKGROUND, requests => $N, clients => $CLIENTS,
    batch => 500, after_batch => sub {
        my ($d) = @_;
        my $v = MTAnalysis::verdicts($h);
        for my $e (keys %$v) {
            $called{$e} //= $d if $v->{$e}{verdict} eq 'leak';
        }
        printf "  %d requests, %.0f s\r", $d, time - $t0 if -t STDOUT;
    });
my $v = MTAnalysis::verdicts($h);
printf "  %d requests in %.0f s; endpoints ever called a leak: %s\n", $N,
    time - $t0, %called ? join(', ', map { "$_ (at $called{$_})" } sort keys %called)
                        : 'none';
printf "  %-24s %-8s %s\n", $_, $v->{$_}{verdict}, $v->{$_}{evidence} // ''
    for sort keys %$v;
MTPassenger::stop($h);
$h->discard;
exit(($named && !%called) ? 0 : 1);

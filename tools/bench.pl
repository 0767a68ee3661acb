#!/usr/bin/perl
# make bench: what mod_memtrack costs. wrk against two local httpds, one
# without the module ("off") and one tracking every request ("on"), in
# interleaved rounds so that drift of the machine hits both alike. Prints
# requests/s per round, the median on/off ratio and its spread.
#
#   BENCH_ROUNDS=5 BENCH_SECS=5 BENCH_CONNS=16 make bench
#   BENCH_ONLY=static|passenger|ruby|redis to run one scenario
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest;
use MTPassenger;
use POSIX ();

$| = 1;
my $ROUNDS = $ENV{BENCH_ROUNDS} // 5;
my $SECS   = $ENV{BENCH_SECS}   // 5;
my $CONNS  = $ENV{BENCH_CONNS}  // 16;
my $ONLY   = $ENV{BENCH_ONLY}   // '';

sub wrk {
    my ($h, $path) = @_;
    my $out = `timeout 120 wrk -t2 -c$CONNS -d${SECS}s --latency '${\ $h->url($path)}' 2>&1`;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p99) = $out =~ /^\s+99%\s+(\S+)/m;
    die "wrk failed:\n$out" unless $rps;
    return ($rps, $p99 // '?');
}

sub median { my @s = sort { $a <=> $b } @_; return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2 }

sub compare {
    my ($name, $off, $on, $path) = @_;
    my (@ratio, @roff, @ron);
    print "\n== $name: $path, wrk -t2 -c$CONNS -d${SECS}s, $ROUNDS rounds\n";
    wrk($_, $path) for $off, $on;    # warm-up
    for my $round (1 .. $ROUNDS) {
        # Alternate which goes first, so neither always follows the other.
        my @order = $round % 2 ? ($off, $on) : ($on, $off);
        my %r;
        for my $h (@order) { $r{$h} = [wrk($h, $path)] }
        push @roff, $r{$off}[0];
        push @ron, $r{$on}[0];
        push @ratio, $r{$on}[0] / $r{$off}[0];
        printf "  round %d: off %9.0f req/s (p99 %s)  on %9.0f req/s (p99 %s)  on/off %.3f\n",
            $round, $r{$off}[0], $r{$off}[1], $r{$on}[0], $r{$on}[1], $ratio[-1];
    }
    my @s = sort { $a <=> $b } @ratio;
    printf "  median: off %.0f req/s, on %.0f req/s; on/off %.3f (cost %.1f%%), spread %.3f..%.3f\n",
        median(@roff), median(@ron), median(@ratio), (1 - median(@ratio)) * 100, $s[0], $s[-1];
}

sub overhead_us {
    my ($h) = @_;
    my @o = sort { $a <=> $b } grep { defined } map { $_->{overhead_us} } $h->records;
    return unless @o;
    printf "  module time in its hooks per request (overhead_us over %d records): median %d us, p99 %d us\n",
        scalar @o, $o[$#o / 2], $o[int($#o * 0.99)];
}

my $mpm = "StartServers 1\nServerLimit 1\nThreadsPerChild 32\nMaxRequestWorkers 32\n";
if (!$ONLY || $ONLY eq 'static') {
    my $off = MTTest->start(name => 'bench-off', memtrack => 0, log => 'none', mpm_conf => $mpm);
    my $on = MTTest->start(name => 'bench-on', mpm_conf => $mpm);
    compare('static file, event MPM', $off, $on, '/static.txt');
    overhead_us($on);
    $_->stop for $off, $on;
}

if ((!$ONLY || $ONLY eq 'passenger') && !MTPassenger::why_not()) {
    # off: the app without the companion, httpd without the module.
    # on: the companion in the app and the module in httpd.
    my $off = MTPassenger->start(app => 'rack-plain', procs => 2, name => 'bench-poff',
                                 memtrack => 0, log => 'none', mpm_conf => $mpm);
    my $on = MTPassenger->start(app => 'rack', procs => 2, name => 'bench-pon', mpm_conf => $mpm);
    MTPassenger::warm($_, procs => 2) for $off, $on;
    compare('Passenger Rack app, event MPM', $off, $on, '/hello');
    overhead_us($on);
    MTPassenger::stop($_) for $off, $on;
}

if (!$ONLY || $ONLY eq 'ruby') {
    # The companion's own cost, measured inside Ruby (no httpd involved).
    print "\n== memtrack-rack companion: cost per request inside the app\n";
    system('ruby', "-I$FindBin::Bin/../ruby/lib", "$FindBin::Bin/../ruby/bench/cost.rb");
}

if ((!$ONLY || $ONLY eq 'redis') && -x "$FindBin::Bin/bench-redis.pl") {
    system($^X, "$FindBin::Bin/bench-redis.pl");
}

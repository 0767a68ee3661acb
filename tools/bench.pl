#!/usr/bin/perl
# make bench: what mod_memtrack costs. wrk against two local httpds, one
# without the module ("off") and one tracking every request ("on"), in
# interleaved rounds so that drift of the machine hits both alike. Prints
# requests/s per round, the median on/off ratio and its spread, and from
# the "on" server's records the module's time in its hooks and, with the
# companion, the probes' cost per probed request and per request on
# average (MTBench::probe_cost_line).
#
# With two cores or more the servers run on core 0 and wrk on the others
# (MTBench::pin_cores: BENCH_PIN=0 shares every core as before), in 20
# short rounds: each round's two runs are a second or two apart, so the
# machine's drift cancels in their ratio.
#
#   BENCH_ROUNDS=20 BENCH_SECS=2 BENCH_CONNS=16 make bench
#   (5 rounds of 5 s when not pinned)
#   BENCH_ONLY=static|passenger|passenger-split|rails|ruby|redis|instructions|
#   status|probe to run one scenario (report: only make's report-bench)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest;
use MTPassenger;
use MTBench qw(median cpu_secs tree_cpu pin_cores pin_tree wrk_command record_costs
               probe_cost_line);

$| = 1;
my $PIN    = pin_cores();
my $ROUNDS = $ENV{BENCH_ROUNDS} // ($PIN ? 20 : 5);
my $SECS   = $ENV{BENCH_SECS}   // ($PIN ? 2 : 5);
my $WRK    = wrk_command();
my $CONNS  = $ENV{BENCH_CONNS}  // 16;
my $ONLY   = $ENV{BENCH_ONLY}   // '';

sub wrk {
    my ($h, $path) = @_;
    my $cpu0 = tree_cpu($h->pid);
    my $out = `timeout 120 $WRK -c$CONNS -d${SECS}s --latency '${\ $h->url($path)}' 2>&1`;
    my $cpu = tree_cpu($h->pid) - $cpu0;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($n) = $out =~ /(\d+) requests in/;
    my ($p99) = $out =~ /^\s+99%\s+(\S+)/m;
    die "wrk failed:\n$out" unless $rps && $n;
    return ($rps, $p99 // '?', $cpu / $n * 1e6);
}

sub compare {
    my ($name, $off, $on, $path) = @_;
    my (@ratio, @roff, @ron, @coff, @con);
    print "\n== $name: $path, $WRK -c$CONNS -d${SECS}s, $ROUNDS rounds",
        $PIN ? ", servers on core 0 and wrk on the others\n" : ", every core shared\n";
    if ($PIN) {
        printf "  pinned: %d and %d processes\n", pin_tree($off->pid), pin_tree($on->pid);
    }
    # Warm-up: Rails loads code and fills caches on its first requests.
    wrk($_, $path) for $off, $on, $off, $on;
    for my $round (1 .. $ROUNDS) {
        # Alternate which goes first, so neither always follows the other.
        my @order = $round % 2 ? ($off, $on) : ($on, $off);
        my %r;
        for my $h (@order) { $r{$h} = [wrk($h, $path)] }
        push @roff, $r{$off}[0];
        push @ron, $r{$on}[0];
        push @coff, $r{$off}[2];
        push @con, $r{$on}[2];
        push @ratio, $r{$on}[0] / $r{$off}[0];
        printf "  round %d: off %8.0f req/s %6.0f us CPU/req (p99 %s)  on %8.0f req/s %6.0f us CPU/req (p99 %s)  on/off %.3f\n",
            $round, $r{$off}[0], $r{$off}[2], $r{$off}[1], $r{$on}[0], $r{$on}[2],
            $r{$on}[1], $ratio[-1];
    }
    my @s = sort { $a <=> $b } @ratio;
    printf "  median: off %.0f req/s, on %.0f req/s; on/off %.3f (cost %.1f%%), middle half %.3f..%.3f, spread %.3f..%.3f\n",
        median(@roff), median(@ron), median(@ratio), (1 - median(@ratio)) * 100,
        $s[int($#s / 4)], $s[int($#s * 3 / 4 + 0.5)], $s[0], $s[-1];
    printf "  CPU per request (server, agents and apps): off %.0f us, on %.0f us: +%.0f us (+%.1f%%)\n",
        median(@coff), median(@con), median(@con) - median(@coff),
        (median(@con) / median(@coff) - 1) * 100;
}

# What the records of the "on" server say: the module's time in its hooks
# per request and, where the app has the companion, the probes' cost.
sub record_figures {
    my ($h, %o) = @_;
    my $c = record_costs($h->records_path);
    my @o = @{ $c->{overhead_us} };
    if (@o) {
        printf "  module time in its hooks per request (overhead_us over %d records): median %d us, p99 %d us\n",
            scalar @o, $o[$#o / 2], $o[int($#o * 0.99)];
    }
    print probe_cost_line($c) if $o{probes};
}

my $mpm = "StartServers 1\nServerLimit 1\nThreadsPerChild 32\nMaxRequestWorkers 32\n";
# Start an off/on pair of Passenger servers with two app processes each.
# Passenger adds the second process on demand; on a loaded machine that now
# and then does not happen in time: start afresh, up to three times.
sub passenger_pair {
    my ($off_opts, $on_opts) = @_;
    for my $try (1 .. 3) {
        my $off = MTPassenger->start(%$off_opts, procs => 2, memtrack => 0,
                                     log => 'none', mpm_conf => $mpm);
        my $on = MTPassenger->start(%$on_opts, procs => 2, mpm_conf => $mpm);
        return ($off, $on)
            if eval { MTPassenger::warm($_, procs => 2, timeout => 60) for $off, $on; 1 };
        print "  (Passenger pool not ready, attempt $try: ", ($@ =~ /^(.*)/)[0], ")\n";
        MTPassenger::stop($_), $_->discard for $off, $on;
    }
    die "Passenger pools did not come up\n";
}

if (!$ONLY || $ONLY eq 'static') {
    my $off = MTTest->start(name => 'bench-off', memtrack => 0, log => 'none', mpm_conf => $mpm);
    my $on = MTTest->start(name => 'bench-on', mpm_conf => $mpm);
    compare('static file, event MPM', $off, $on, '/static.txt');
    record_figures($on);
    $_->discard for $off, $on;
}

if ((!$ONLY || $ONLY eq 'passenger') && !MTPassenger::why_not()) {
    # off: the app without the companion, httpd without the module.
    # on: the companion in the app and the module in httpd.
    my ($off, $on) = passenger_pair({ app => 'rack-plain', name => 'bench-poff' },
                                    { app => 'rack', name => 'bench-pon' });
    compare('Passenger Rack app, event MPM', $off, $on, '/hello');
    record_figures($on, probes => 1);
    MTPassenger::stop($_), $_->discard for $off, $on;
}

if ((!$ONLY || $ONLY eq 'rails') && !MTPassenger::why_not()) {
    # The workload mod_memtrack is for: a Rails action with a few queries.
    # off: the Rails app without the companion, httpd without the module.
    my ($off, $on) = passenger_pair(
        { app => 'rails', name => 'bench-roff', env => { MT_NO_MIDDLEWARE => 1 } },
        { app => 'rails', name => 'bench-ron' });
    compare('Passenger Rails 6.1 app, items#index (3 queries), event MPM', $off, $on, '/items');
    record_figures($on, probes => 1);
    MTPassenger::stop($_), $_->discard for $off, $on;
}

if (!$ONLY || $ONLY eq 'ruby') {
    # The companion's own cost, measured inside Ruby (no httpd involved).
    print "\n== memtrack-rack companion: cost per request inside the app\n";
    system('ruby', "-I$FindBin::Bin/../ruby/lib", "$FindBin::Bin/../ruby/bench/cost.rb");
    # The same inside a real Rails request (query cache, controller names).
    system('ruby', "-I$FindBin::Bin/../ruby/lib", "$FindBin::Bin/companion-rails-cost.rb")
        if !MTPassenger::why_not();
}

if ((!$ONLY || $ONLY eq 'redis') && -x "$FindBin::Bin/bench-redis.pl") {
    system($^X, "$FindBin::Bin/bench-redis.pl");
}

# Deterministic figures beside the noisy ones: instructions per request
# under valgrind's callgrind (the module off, recording only, with the
# analysis, with probes), the record writer's instructions per record.
if ((!$ONLY || $ONLY eq 'instructions') && system('sh', '-c', 'command -v valgrind >/dev/null') == 0) {
    print "\n== instructions per request (callgrind; deterministic)\n";
    system($^X, "$FindBin::Bin/callgrind.pl");
    system('sh', "$FindBin::Bin/record-cost.sh", "$FindBin::Bin/../build/mt-record-bench");
}

# A Passenger Rack request's cost per process (httpd child, Passenger core,
# app) with the module and the companion each off or on: the httpd child's
# instructions under callgrind, CPU per request of each process, the
# companion's allocations and header bytes (tools/passenger-split.pl).
if ((!$ONLY || $ONLY eq 'passenger-split') && !MTPassenger::why_not()
    && system('sh', '-c', 'command -v valgrind >/dev/null') == 0) {
    print "\n== Passenger Rack /hello: the cost per process (tools/passenger-split.pl)\n";
    system($^X, "$FindBin::Bin/passenger-split.pl");
}

# The status page's render time (256 endpoints, 64 processes).
if ((!$ONLY || $ONLY eq 'status') && -x "$FindBin::Bin/../build/mt-status-bench") {
    print "\n== status page: time to render\n";
    system("$FindBin::Bin/../build/mt-status-bench");
}

# What one probe costs in a Rails process of 100 and 300 MB.
if ((!$ONLY || $ONLY eq 'probe') && !MTPassenger::why_not()) {
    print "\n== one probe in a Rails process\n";
    system('ruby', "-I$FindBin::Bin/../ruby/lib", "$FindBin::Bin/companion-probe-cost.rb");
}

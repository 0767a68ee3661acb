#!/usr/bin/perl
# Where a Passenger Rack /hello request's cost goes, per process, in four
# setups: the module off or on, the app with or without the companion.
#
#   base       module off, app without the companion (t/apps/rack-plain)
#   module     module on,  app without the companion (single-process discovery)
#   companion  module off, app with the companion (t/apps/rack)
#   both       module on,  app with the companion
#
# Four figures per setup:
#
# 1. The httpd child in instructions per request, counted by valgrind's
#    callgrind as tools/callgrind.pl counts a static file, twice per setup,
#    with N1 and N2 /hello requests after the same warm-up; (total2 -
#    total1) / (N2 - N1). httpd -X cannot host Passenger (its watchdog
#    stops at once), so a prefork httpd with one child runs under callgrind
#    and the agents and the app it starts run natively. Not quite
#    deterministic: what the module does per wall-clock interval (the
#    single-process discovery's /proc scan every 250 ms, a verified pid's
#    check every second, probes at most 2 a second) happens more often per
#    request under valgrind's slowness; runs differ by a few hundred.
# 2. (The app under callgrind is tools/passenger-app-callgrind.pl's: with
#    PassengerRuby a script running ruby in valgrind the app answers; what
#    failed here was MTPassenger::warm, which finds app processes by their
#    title, and under valgrind /proc/PID/cmdline is valgrind's.)
# 3. CPU time per request (user + system, /proc/PID/stat, 10 ms ticks) of
#    the httpd children, the Passenger core and the app process, over
#    SPLIT_N requests (ab -c1) per round, SPLIT_ROUNDS rounds, the servers
#    interleaved; the median and the spread of the rounds. With two cores
#    or more the servers run on core 0 and ab on the others (MTBench's
#    pinning; BENCH_PIN=0 shares every core): shared, these swing by tens
#    of microseconds between rounds. They place the cost by process, the
#    instruction counts compare changes. (Callgrind on the core, a
#    threaded C++ agent that the watchdog starts and times, was not
#    tried.)
# 4. Inside Ruby, what the companion adds per request: objects allocated
#    (GC.stat total_allocated_objects) and the bytes of the X-MemTrack
#    header line (ruby/bench/allocs.rb).
#
#   perl tools/passenger-split.pl [setup ...]     (default: the four above;
#                                                  noprobes: both, MemTrackProbeRate 0)
#   SPLIT_PARTS=callgrind,cpu,ruby  CG_N1=100 CG_N2=600 CG_WARM=50
#   SPLIT_N=5000 SPLIT_ROUNDS=5
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest ':noskip';
use MTPassenger;
use MTBench qw(median cpu_secs callgrind_total ab_serial pin_cores pin_tree
               load_prefix);
use File::Path ();

$| = 1;
my ($N1, $N2, $WARM) = ($ENV{CG_N1} // 100, $ENV{CG_N2} // 600,
                        $ENV{CG_WARM} // 50);
my $N      = $ENV{SPLIT_N} // 5000;
my $ROUNDS = $ENV{SPLIT_ROUNDS} // 5;
my %PART   = map { $_ => 1 } split /,/, ($ENV{SPLIT_PARTS} // 'callgrind,cpu,ruby');
my $PATH   = '/hello';

# name => [app, module loaded, more config]
my %SETUPS = (
    base      => ['rack-plain', 0],
    module    => ['rack-plain', 1],
    companion => ['rack', 0],
    both      => ['rack', 1],
    # not by default: both without probes (the app's full GCs they ask for)
    noprobes  => ['rack', 1, "MemTrackProbeRate 0\n"],
);
my @ORDER = qw(base module companion both);
my @want = @ARGV ? @ARGV : @ORDER;
for (@want) { die "no setup $_ (have: @ORDER noprobes)\n" unless $SETUPS{$_} }

die "Passenger cannot run here: " . MTPassenger::why_not() . "\n"
    if MTPassenger::why_not();

sub start_server {
    my ($name, %o) = @_;
    my ($app, $mod, $conf) = @{ $SETUPS{$name} };
    my $h = MTPassenger->start(app => $app, procs => 1, memtrack => $mod,
                               log => $mod ? 'file' : 'none',
                               conf => $conf // '', name => "split-$name", %o);
    MTPassenger::warm($h, procs => 1, timeout => 120);
    return $h;
}

# MTTest keeps a server's directory outside tests; this tool makes some
# twenty servers a run, so it removes each one's (unless MT_KEEP_TMP).
sub stop_server {
    my ($h) = @_;
    my $dir = $h->dir;
    MTPassenger::stop($h);
    File::Path::remove_tree($dir, { error => \my $ignored })
        unless $ENV{MT_KEEP_TMP};
}

# One prefork child serves every request. httpd -X cannot host Passenger
# (its watchdog stops at once), so the parent and its child run under
# callgrind and the agents and the app it execs do not
# (--trace-children-skip); the child's own count is read.
my $PREFORK_ONE = "StartServers 1\nMinSpareServers 1\nMaxSpareServers 1\n"
                . "ServerLimit 1\nMaxRequestWorkers 1\nMaxConnectionsPerChild 0\n";

sub callgrind_one {
    my ($name, $n) = @_;
    my $dir = "/tmp/mt-split-$$-$name-$n";
    mkdir $dir or die "$dir: $!";
    chmod 01777, $dir;          # the child writes as www-data
    my $h = start_server($name, mpm => 'prefork', mpm_conf => $PREFORK_ONE,
        up_secs => 120,
        wrap => ['valgrind', '--tool=callgrind', '--quiet',
                 '--trace-children=yes',
                 '--trace-children-skip=*PassengerAgent*,*ruby*,*perl*,*/sh',
                 "--callgrind-out-file=$dir/cg.%p"]);
    my @kids = $h->child_pids;
    die "want one httpd child, have @kids\n" unless @kids == 1;
    ab_serial($h->url($PATH), $WARM + $n);
    die "the httpd child changed\n" unless join(',', $h->child_pids) eq $kids[0];
    stop_server($h);
    my $ir = callgrind_total("$dir/cg.$kids[0]");
    my $scan = scan_ir("$dir/cg.$kids[0]");
    system('rm', '-rf', $dir) unless $ENV{CG_KEEP};
    return ($ir, $scan);
}

# Instructions in the discovery's /proc scans (mt_procfind_single,
# inclusive): they come every 250 ms of wall time, not per request, so
# their share per request depends on how slowly valgrind ran.
sub scan_ir {
    my ($file) = @_;
    for (`callgrind_annotate --inclusive=yes --threshold=100 --auto=no '$file' 2>/dev/null`) {
        return $1 =~ s/,//gr if /^\s*([\d,]+)\s.*:mt_procfind_single\s/;
    }
    return 0;
}

# CPU seconds so far of each part of one server's tree.
sub tree_cpu {
    my ($h) = @_;
    my %c = (httpd => cpu_secs($h->pid), core => 0, app => 0, agents => 0);
    for my $d (MTPassenger::descendants($h->pid)) {
        my ($pid, $cmd) = @$d;
        my $part = $cmd =~ /^\Q$MTPassenger::APP_TITLE\E/ ? 'app'
                 : $cmd =~ /^Passenger core/              ? 'core'
                 : $cmd =~ /^Passenger /                   ? 'agents'
                 :                                            'httpd';
        $c{$part} += cpu_secs($pid);
    }
    return \%c;
}

my @PARTS = qw(httpd core app agents);
my (%ir, %cpu);

if ($PART{callgrind} && system('sh', '-c', 'command -v valgrind >/dev/null') == 0) {
    print "== httpd child, instructions per $PATH request (callgrind, one prefork child, "
        . "($N2 - $N1) requests after $WARM)\n";
    for my $name (@want) {
        my ($a, $sa) = callgrind_one($name, $N1);
        my ($b, $sb) = callgrind_one($name, $N2);
        $ir{$name} = ($b - $a) / ($N2 - $N1);
        printf "  %-10s %8.0f   (of which discovery's periodic /proc scans %.0f a request)\n",
            $name, $ir{$name}, $sb / ($WARM + $N2);
    }
}

if ($PART{cpu}) {
    my $pin = pin_cores();
    print "== CPU per $PATH request by process (us, /proc/PID/stat; $ROUNDS rounds of $N, ab -c1",
        $pin ? "; the servers on core 0, ab on the others)\n" : ")\n";
    my %h = map { $_ => start_server($_) } @want;
    if ($pin) {
        pin_tree($h{$_}->pid) for @want;
        $MTBench::AB_PREFIX = load_prefix();
    }
    ab_serial($h{$_}->url($PATH), 500) for @want;    # the app's first requests fill caches
    for my $round (1 .. $ROUNDS) {
        # Rotate the order so no setup always follows the same one.
        my @order = (@want[($round - 1) % @want .. $#want],
                     @want[0 .. ($round - 1) % @want - 1]);
        for my $name (@order) {
            my $c0 = tree_cpu($h{$name});
            ab_serial($h{$name}->url($PATH), $N);
            my $c1 = tree_cpu($h{$name});
            push @{ $cpu{$name}{$_} }, ($c1->{$_} - $c0->{$_}) / $N * 1e6 for @PARTS;
        }
    }
    stop_server($h{$_}) for @want;
    $MTBench::AB_PREFIX = '';
}

# The table: per setup and process; CPU as the median (min..max) of rounds.
sub cpu_cell {
    my (@v) = @_;
    return '-' unless @v;
    my @s = sort { $a <=> $b } @v;
    return sprintf '%.0f (%.0f..%.0f)', median(@v), $s[0], $s[-1];
}

if (%ir || %cpu) {
    print "\n== split per $PATH request (instructions: callgrind; us: CPU, median (min..max) of rounds)\n";
    printf "  %-10s %11s %16s %16s %16s %16s\n", 'setup', 'httpd instr',
        'httpd us', 'core us', 'app us', 'all us';
    for my $name (@want) {
        my $c = $cpu{$name} || {};
        my @all = map { my $i = $_; my $t = 0; $t += $c->{$_}[$i] for @PARTS; $t }
                  0 .. $#{ $c->{httpd} || [] };
        printf "  %-10s %11s %16s %16s %16s %16s\n", $name,
            defined $ir{$name} ? sprintf('%.0f', $ir{$name}) : '-',
            (map { cpu_cell(@{ $c->{$_} || [] }) } qw(httpd core app)), cpu_cell(@all);
    }
    if (defined $ir{base}) {
        printf "  httpd instructions over base: %s\n", join ', ',
            map { sprintf '%s %+.0f', $_, $ir{$_} - $ir{base} }
            grep { $_ ne 'base' && defined $ir{$_} } @want;
    }
}

if ($PART{ruby}) {
    print "\n== companion inside Ruby, per $PATH request\n";
    system('ruby', "-I$FindBin::Bin/../ruby/lib", "$FindBin::Bin/../ruby/bench/allocs.rb");
}

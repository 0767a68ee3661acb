package MTBench;
# What the measuring tools share (tools/bench.pl, bench-redis.pl,
# callgrind.pl, passenger-split.pl, passenger-app-callgrind.pl): a median,
# a process's CPU time so far, callgrind's total of an output file, ab
# run one request at a time, the servers and the load generator kept on
# cores of their own, and what a run's records say the module and the
# probes cost.
use strict;
use warnings;
use POSIX ();
use Exporter 'import';
our @EXPORT_OK = qw(median cpu_secs callgrind_total ab_serial pin_tree
                    pin_cores load_cores load_prefix wrk_command
                    record_costs probe_cost_line tree_cpu);
use MTTest ();    # stat_fields only; no import, no skip

my $TICK = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;

sub median {
    my @s = sort { $a <=> $b } @_;
    return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2;
}

# utime + stime of a process (fields 14 and 15 of /proc/PID/stat), in
# seconds; 0 when it is gone.
sub cpu_secs {
    my ($pid) = @_;
    my @f = MTTest::stat_fields($pid) or return 0;
    return ($f[12] + $f[13]) / $TICK;
}

# CPU time (user + system, in seconds) of a server's whole process tree:
# httpd, its children, the Passenger agents and apps. Throughput on a small
# shared machine swings with scheduling; CPU per request is steadier.
sub tree_cpu {
    my ($root) = @_;
    require MTPassenger;
    my $sum = 0;
    $sum += cpu_secs($_)
        for $root, map { $_->[0] } MTPassenger::descendants($root);
    return $sum;
}

# The instructions a callgrind output file counted in all.
sub callgrind_total {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    while (<$fh>) {
        return $1 if /^(?:summary|totals):\s+(\d+)/;
    }
    die "no totals in $file";
}

# n requests of url with ab, one at a time (more ab arguments in extra);
# dies when ab fails, or any request failed or was answered other than 2xx.
# $AB_PREFIX goes before the command (a tool that pins sets load_prefix()).
our $AB_PREFIX = '';
sub ab_serial {
    my ($url, $n, @extra) = @_;
    my @cmd = ('ab', '-q', '-s', '120', '-n', $n, '-c', 1, @extra, $url);
    my $out = `$AB_PREFIX@{[ map { "'$_'" } @cmd ]} 2>&1`;
    die "ab failed against $url: $out\n" if $?;
    my ($fail) = $out =~ /^Failed requests:\s+(\d+)/m;
    my ($non2) = $out =~ /^Non-2xx responses:\s+(\d+)/m;
    die "ab: $fail failed requests against $url\n" if $fail;
    die "ab: $non2 non-2xx answers from $url\n" if $non2;
}

# Pinning. On a small machine a load generator and a server that share
# every core make throughput a matter of scheduling: the server's extra
# thread or an extra wake-up steals the load generator's time as much as
# its own, and the same server's throughput swings by half between runs.
# With two cores or more, the servers (every process of their trees, and
# the processes they start later, which inherit it) run on core 0 and the
# load generator on the others: the servers are then bound by their own
# CPU, which is what a cost is. pin_cores() says whether that is done:
# BENCH_PIN=0 turns it off, and one core cannot.
sub pin_cores {
    my $n = 0;
    if (open my $fh, '<', '/proc/cpuinfo') {
        $n = grep { /^processor\s*:/ } <$fh>;
    }
    return 0 if ($ENV{BENCH_PIN} // 1) eq '0' || $n < 2
                || system('sh', '-c', 'command -v taskset >/dev/null') != 0;
    return $n;
}

# Every thread of pid and of its descendants (MTPassenger::descendants) on
# core 0; the number of processes pinned.
sub pin_tree {
    my ($pid) = @_;
    require MTPassenger;
    my @p = ($pid, map { $_->[0] } MTPassenger::descendants($pid));
    system("taskset -a -p -c 0 $_ >/dev/null 2>&1") for @p;
    return scalar @p;
}

# The load generator's cores when pinning ("1", or "1-N"), else undef.
sub load_cores {
    my $n = pin_cores() or return;
    return $n == 2 ? '1' : '1-' . ($n - 1);
}

# What a load generator's command line starts with: taskset onto its cores
# when pinning, else nothing.
sub load_prefix {
    my $c = load_cores();
    return defined $c ? "taskset -c $c " : '';
}

# wrk with a thread per load core when pinning (two when not), and its
# taskset; the caller adds the rest.
sub wrk_command {
    my $n = pin_cores();
    return load_prefix() . 'wrk -t' . (!$n ? 2 : $n > 2 ? $n - 1 : 1);
}

# What a run's records say it cost, read in one pass (streamed: a bench
# run writes hundreds of thousands of records, and decoding them would
# bloat this process and every later fork): records, each one's
# overhead_us (sorted), the probed requests (probe_started), the probe
# results (probe_done) and the app's GC time of those (probe_gc_us).
sub record_costs {
    my ($path) = @_;
    my %c = (records => 0, overhead_us => [], probed => 0, results => 0,
             gc_us => 0);
    open my $fh, '<', $path or return \%c;
    while (my $line = <$fh>) {
        $c{records}++;
        push @{ $c{overhead_us} }, $1 if $line =~ /"overhead_us":(\d+)/;
        $c{probed}++ if $line =~ /"probe_started":\d/;
        next unless $line =~ /"probe_done":\d/;
        $c{results}++;
        $c{gc_us} += $1 if $line =~ /"probe_gc_us":(\d+)/;
    }
    close $fh;
    @{ $c{overhead_us} } = sort { $a <=> $b } @{ $c{overhead_us} };
    return \%c;
}

# The probes' cost in one line: per probed request, the app's GC time of
# the results (both full GCs and snapshots: the probed request waits for
# the first, the process's next request for the second); per request on
# average, the same time spread over every recorded request of the run,
# at the probe rate the module chose under that load.
sub probe_cost_line {
    my ($c) = @_;
    return sprintf "  probes: none in %d records\n", $c->{records}
        unless $c->{probed} && $c->{records};
    my $per = $c->{results} ? $c->{gc_us} / $c->{results} : 0;
    return sprintf "  probes (records' probe_started, probe_gc_us): %d of %d "
        . "requests probed (1 in %.0f), %d results; the app's GC time %.0f us "
        . "per probed request, %.2f us per request on average (that time "
        . "summed over every record)\n", $c->{probed}, $c->{records},
        $c->{records} / $c->{probed}, $c->{results}, $per,
        $c->{gc_us} / $c->{records};
}

1;

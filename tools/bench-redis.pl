#!/usr/bin/perl
# make bench, Redis part (run by tools/bench.pl, or alone):
#  1. the ceiling: records/s one Redis takes from the sink's writer threads,
#     without httpd (build/mt-redis-bench, 1 and 2 writers, 800-byte records);
#  2. the request cost: wrk against three httpds in interleaved rounds, the
#     module off, the module with the log sink, and the module with the log
#     and the Redis sink; then whether every record reached Redis.
#
# With two cores or more the servers run on core 0 and wrk and
# redis-server on the others, as with a Redis on another host
# (BENCH_REDIS_CORE=server puts it with the servers), in 10 rounds of 2 s
# (MTBench::pin_cores; BENCH_PIN=0: every core shared, 5 rounds of 5 s).
#
#   BENCH_ROUNDS=10 BENCH_SECS=2 BENCH_CONNS=16 perl tools/bench-redis.pl
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest;
use MTRedis;
use MTBench qw(median cpu_secs tree_cpu pin_cores pin_tree load_cores wrk_command);
use Time::HiRes qw(sleep);
use MTClock qw(time);

$| = 1;
my $PIN    = pin_cores();
my $ROUNDS = $ENV{BENCH_ROUNDS} // ($PIN ? 10 : 5);
my $SECS   = $ENV{BENCH_SECS}   // ($PIN ? 2 : 5);
my $WRK    = wrk_command();
my $CONNS  = $ENV{BENCH_CONNS}  // 16;
my $ROOT   = "$FindBin::Bin/..";

my $rd = MTRedis->start;

print "\n== Redis sink ceiling: build/mt-redis-bench, ${SECS}s, 800-byte records\n";
for my $w (1, 2) {
    my $out = `timeout 120 $ROOT/build/mt-redis-bench ${\ $rd->url} $SECS $w 800 2>&1`;
    print "  $_\n" for split /\n/, $out;
    $rd->cmd('FLUSHALL');
}

# One wrk run: its requests a second and 99th percentile, and the CPU per
# request (us) of the server's tree, of redis-server and of wrk itself
# (the load's side: on a machine of two cores redis-server and wrk share
# core 1, and when it is full the ratio measures that core, not httpd).
sub wrk {
    my ($h, $path) = @_;
    my ($srv0, $rd0, @t0) = (tree_cpu($h->pid), cpu_secs($rd->pid), times);
    my $out = `timeout 120 $WRK -c$CONNS -d${SECS}s --latency '${\ $h->url($path)}' 2>&1`;
    my @t1 = times;
    my ($srv, $rds) = (tree_cpu($h->pid) - $srv0, cpu_secs($rd->pid) - $rd0);
    my $load = ($t1[2] + $t1[3]) - ($t0[2] + $t0[3]);    # wrk, a waited child
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($n) = $out =~ /(\d+) requests in/;
    my ($p99) = $out =~ /^\s+99%\s+(\S+)/m;
    die "wrk failed:\n$out" unless $rps && $n;
    return ($rps, $p99 // '?', map { $_ / $n * 1e6 } $srv, $rds, $load);
}

# The sink's address: TCP on 127.0.0.1, or (BENCH_REDIS_UNIX=1) the unix
# socket. Over loopback TCP the receiving side's TCP work (redis-server's)
# runs on the sending core, httpd's; with Redis on another host it would not.
my $SINK_ADDR = $ENV{BENCH_REDIS_UNIX} ? 'unix:' . $rd->sock : $rd->url;
my $mpm = "StartServers 1\nServerLimit 1\nThreadsPerChild 32\nMaxRequestWorkers 32\n";
my %h = (
    off   => MTTest->start(name => 'bench-r-off', memtrack => 0, log => 'none', mpm_conf => $mpm),
    log   => MTTest->start(name => 'bench-r-log', mpm_conf => $mpm),
    redis => MTTest->start(name => 'bench-r-redis', mpm_conf => $mpm,
                           conf => "MemTrackRedis $SINK_ADDR\nMemTrackRedisTTL 3600\n"
                                   . ($ENV{BENCH_REDIS_CONF} // "")),
);
my @names = qw(off log redis);
print "\n== static file, event MPM, Redis at $SINK_ADDR, $WRK -c$CONNS -d${SECS}s, $ROUNDS rounds",
    $PIN ? ", servers on core 0, wrk on the others\n" : ", every core shared\n";
if ($PIN) {
    pin_tree($_) for map { $h{$_}->pid } @names;
    # redis-server: where the clients are (BENCH_REDIS_CORE=server: with
    # the servers, as a Redis on the web server itself)
    my $core = ($ENV{BENCH_REDIS_CORE} // '') eq 'server' ? '0' : load_cores();
    system("taskset -a -p -c $core ${\ $rd->pid} >/dev/null");
    print "  redis-server on core $core\n";
}
wrk($h{$_}, '/static.txt') for @names;    # warm-up
my (%rps, %cpu, %rcpu, %lcpu, @ratio);
for my $round (1 .. $ROUNDS) {
    my @order = $round % 2 ? @names : reverse @names;
    my %r;
    $r{$_} = [wrk($h{$_}, '/static.txt')] for @order;
    for (@names) {
        push @{ $rps{$_} }, $r{$_}[0];
        push @{ $cpu{$_} }, $r{$_}[2];
        push @{ $rcpu{$_} }, $r{$_}[3];
        push @{ $lcpu{$_} }, $r{$_}[4];
    }
    push @ratio, $r{redis}[0] / $r{log}[0];
    printf "  round %d: off %8.0f (p99 %s)  log %8.0f (p99 %s)  log+redis %8.0f (p99 %s)  redis/log %.3f\n",
        $round, map({ ($r{$_}[0], $r{$_}[1]) } @names), $ratio[-1];
}
my @s = sort { $a <=> $b } @ratio;
printf "  median req/s: off %.0f, log %.0f, log+redis %.0f; log+redis/log %.3f (Redis cost %.1f%%), spread %.3f..%.3f\n",
    (map { median(@{ $rps{$_} }) } @names), median(@ratio), (1 - median(@ratio)) * 100, $s[0], $s[-1];
my %mc = map { $_ => median(@{ $cpu{$_} }) } @names;
printf "  median CPU per request, the server's tree: off %.1f us, log %.1f us, log+redis %.1f us (Redis over the log %+.1f us, %+.1f%%)\n",
    @mc{@names}, $mc{redis} - $mc{log}, ($mc{redis} / $mc{log} - 1) * 100;
printf "  the load's side, per request with log+redis: wrk %.1f us, redis-server %.1f us (with the log alone: wrk %.1f us)\n",
    median(@{ $lcpu{redis} }), median(@{ $rcpu{redis} }), median(@{ $lcpu{log} });
# Did Redis keep up? Every logged record should be a key.
my $deadline = time + 20;
my $logged = () = $h{redis}->raw_lines;
my $stored = 0;
while (time < $deadline) {
    $stored = $rd->cmd('DBSIZE') - 1;    # minus the stream
    last if $stored >= $logged;
    sleep 0.2;
}
my $total_secs = $SECS * ($ROUNDS + 1);
printf "  Redis took %d of %d records (%.0f records/s sustained over the %d s of load), %d dropped\n",
    $stored, $logged, $stored / $total_secs, $total_secs, $logged - $stored;
my @drops = $h{redis}->error_log =~ /(memtrack: redis .*(?:dropped|cannot|lost|refused).*)/g;
print "  $_\n" for @drops[0 .. ($#drops > 4 ? 4 : $#drops)];
$_->discard for values %h;
%h = ();
undef $rd;

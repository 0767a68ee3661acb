#!/usr/bin/perl
# System calls per request, and the CPU time of each thread per request,
# of one httpd -X (prefork, one process serves every request) under ab -c 1
# (the event setups: the event MPM's -X, its worker threads, under ab -c 16,
# as make bench loads it):
# the kernel side that callgrind (user space only) does not see. perf stat
# (tracepoints and the task-clock software event) attaches to the running
# server after a warm-up, for N requests; every thread of the httpd process
# is counted (the sinks' writer threads too), the piped logger and
# redis-server are not (the latter's own CPU comes from INFO cpu).
#
#   perl tools/syscalls.pl [setup ...]      (default: every setup)
#   SC_N=3000 SC_WARM=300
#
# Counts depend a little on timing (how many records a writer finds waiting
# when it wakes), unlike callgrind's instruction counts: ab -c 1 on an idle
# machine gives steady figures.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest ':noskip';
use POSIX ();
use Time::HiRes qw(sleep);

my ($N, $WARM) = ($ENV{SC_N} // 3000, $ENV{SC_WARM} // 300);
my @EVENTS = qw(raw_syscalls:sys_enter syscalls:sys_enter_write
                syscalls:sys_enter_writev syscalls:sys_enter_fcntl
                syscalls:sys_enter_futex syscalls:sys_enter_poll
                syscalls:sys_enter_read syscalls:sys_enter_sendto
                syscalls:sys_enter_recvfrom syscalls:sys_enter_pread64
                syscalls:sys_enter_getrandom);

my %SETUPS = (
    'off'     => [{ memtrack => 0 }, '/static.txt'],
    'records' => [{ conf => "MemTrackAnalysis Off\n" }, '/static.txt'],
    'pipe'    => [{ conf => "MemTrackAnalysis Off\n", log => 'pipe' }, '/static.txt'],
    'redis'   => [{ conf => "MemTrackAnalysis Off\nMemTrackRedis \@REDIS\@\n" },
                  '/static.txt'],
    'probes'  => [{}, '/static.txt'],
    'event-off'    => [{ memtrack => 0, mpm => 'event' }, '/static.txt'],
    'event-probes' => [{ mpm => 'event' }, '/static.txt'],
);
my @ORDER = qw(off records pipe redis probes event-off event-probes);

my $REDIS;
sub redis {
    require MTRedis;
    $REDIS //= MTRedis->start;
    return $REDIS;
}

sub redis_cpu {
    return 0 unless $REDIS;
    my $info = $REDIS->cmd('INFO', 'cpu');
    my ($s) = $info =~ /used_cpu_sys:([\d.]+)/;
    my ($u) = $info =~ /used_cpu_user:([\d.]+)/;
    return $s + $u;
}

sub ab {
    my ($h, $path, $n, $c) = @_;
    system("ab -q -n $n -c $c '" . $h->url($path) . "' >/dev/null") == 0
        or die "ab failed";
}

# perf stat's CSV: value,unit,event,... per line; per thread with
# --per-thread: comm-tid,value,unit,event,...
sub perf_parse {
    my ($file) = @_;
    my (%total, %thread);
    open my $fh, '<', $file or die "$file: $!";
    while (<$fh>) {
        chomp;
        my @f = split /,/;
        next unless @f >= 3;
        my ($comm, $tid) = $f[0] =~ /^(.+)-(\d+)$/;
        if (defined $tid && $f[1] =~ /^[\d.]+$/) {
            $thread{"$comm-$tid"}{ $f[3] } += $f[1];
            $total{ $f[3] } += $f[1];
        }
        elsif ($f[0] =~ /^[\d.]+$/) {
            $total{ $f[2] } += $f[0];
        }
    }
    return (\%total, \%thread);
}

sub run_one {
    my ($name) = @_;
    my ($o, $path) = @{ $SETUPS{$name} };
    my $opts = { log => 'file', %$o };
    $opts->{conf} =~ s/\@REDIS\@/redis()->url/e if defined $opts->{conf};
    my $c = $name =~ /^event/ ? 16 : 1;
    my $h = MTTest->start(mpm => 'prefork', %$opts, single => 1,
                          name => "syscalls-$name");
    ab($h, $path, $WARM, $c);
    sleep 0.3;                      # writers flushed the warm-up
    my $out = "/tmp/mt-syscalls-$$-$name.csv";
    my $perf = fork // die "fork: $!";
    if (!$perf) {
        exec 'perf', 'stat', '-x,', '--per-thread', '-o', $out,
             '-e', join(',', 'task-clock', @EVENTS), '-p', $h->pid
            or POSIX::_exit(127);
    }
    sleep 0.5;                      # attached
    my $rcpu = redis_cpu();
    ab($h, $path, $N, $c);
    sleep 0.3;                      # the last batch written
    $rcpu = redis_cpu() - $rcpu;
    kill 'INT', $perf;
    waitpid($perf, 0);
    $h->discard;
    my ($total, $thread) = perf_parse($out);
    unlink $out;
    return ($total, $thread, $rcpu);
}

my @want = @ARGV ? @ARGV : @ORDER;
my %per;
for my $name (@want) {
    die "no setup $name (have: @ORDER)\n" unless $SETUPS{$name};
    my ($total, $thread, $rcpu) = run_one($name);
    my %t = map { (my $k = $_) =~ s/^(raw_)?syscalls://; $k => $total->{$_} / $N }
            keys %$total;
    $per{$name} = \%t;
    printf "  %-8s %6.2f syscalls per request (%s)\n", $name,
        $t{sys_enter} // 0,
        join(', ', map { sprintf '%s %.2f', s/^sys_enter_//r, $t{$_} }
                   grep { /^sys_enter_/ && $t{$_} >= 0.005 } sort keys %t);
    for my $th (sort keys %$thread) {
        my $ms = $thread->{$th}{'task-clock'} // 0;
        next unless $ms > 0;
        printf "           thread %-20s %7.2f us CPU per request\n", $th,
            $ms * 1000 / $N;
    }
    printf "           redis-server %.2f us CPU per request (INFO cpu)\n",
        $rcpu * 1e6 / $N if $name eq 'redis';
}
for my $name (grep { !/off$/ } @want) {
    my $base = $name =~ /^event/ ? 'event-off' : 'off';
    next unless $per{$base} && $per{$name};
    printf "  %-8s over %s: %+.2f syscalls per request\n", $name, $base,
        ($per{$name}{sys_enter} // 0) - ($per{$base}{sys_enter} // 0);
}

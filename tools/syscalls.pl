#!/usr/bin/perl
# System calls per request, counted by strace: what the instruction counts
# of tools/callgrind.pl do not see (the kernel's side). One httpd -X
# (prefork: one process serves every request) runs under `strace -f -c`
# twice for each setup (strace attached after the warm-up), with N1 and
# N2 requests; the difference of the two counts divided by N2 - N1 is what one request
# makes, per system call, start-up and shutdown cancelled out. Every thread
# of httpd is counted (the log writer's too, when it runs).
#
#   perl tools/syscalls.pl [setup ...]       (default: off probes)
#   SC_N1=200 SC_N2=1200 SC_WARM=100 SC_C=16 (event setups' clients)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest ':noskip';
use MTBench qw(ab_serial);

my ($N1, $N2, $WARM) = ($ENV{SC_N1} // 200, $ENV{SC_N2} // 1200,
                        $ENV{SC_WARM} // 100);
my %SETUPS = (
    'off'     => { memtrack => 0 },
    'records' => { conf => "MemTrackAnalysis Off\n" },
    'probes'  => {},
    # the event MPM's -X (one process, its worker threads) under 16
    # concurrent clients, as make bench runs it
    'event-off'    => { memtrack => 0, mpm => 'event' },
    'event-probes' => { mpm => 'event' },
);
my $C = $ENV{SC_C} // 16;

sub load {
    my ($name, $url, $n) = @_;
    return ab_serial($url, $n) unless $name =~ /^event/;
    system("ab -q -c $C -n $n '$url' >/dev/null") == 0 or die "ab failed\n";
}

# {syscall => calls} of one run of n requests
sub run_one {
    my ($name, $n) = @_;
    my $out = "/tmp/mt-strace-$$-$name-$n.out";
    my $h = MTTest->start(mpm => 'prefork', log => 'file', %{ $SETUPS{$name} },
        single => 1, name => "strace-$name");
    load($name, $h->url('/static.txt'), $WARM);
    # attached after the warm-up, detached (SIGINT: the summary) after n
    my $st = fork // die "fork: $!";
    if (!$st) {
        open STDERR, '>', '/dev/null';
        exec 'strace', '-f', '-c', '-o', $out, '-p', $h->{pid};
        die "strace: $!";
    }
    sleep 1;
    load($name, $h->url('/static.txt'), $n);
    kill 'INT', $st;
    waitpid($st, 0);
    $h->discard;
    my %calls;
    open my $fh, '<', $out or die "$out: $!";
    while (<$fh>) {
        # % time, seconds, usecs/call, calls, [errors,] syscall
        next unless /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/;
        $calls{$2} = $1 unless $2 eq 'total';
    }
    close $fh;
    unlink $out unless $ENV{SC_KEEP};
    return \%calls;
}

my @want = @ARGV ? @ARGV : qw(off probes);
my %per;
for my $name (@want) {
    die "no setup $name (have: @{[sort keys %SETUPS]})\n" unless $SETUPS{$name};
    my ($r1, $r2) = (run_one($name, $N1), run_one($name, $N2));
    my %d = map { $_ => (($r2->{$_} // 0) - ($r1->{$_} // 0)) / ($N2 - $N1) }
            keys %{ { %$r1, %$r2 } };
    $per{$name} = \%d;
    my $total = 0;
    $total += $_ for values %d;
    printf "  %-8s %5.2f system calls per request: %s\n", $name, $total,
        join(', ', map { sprintf '%s %.2f', $_, $d{$_} }
                   grep { abs($d{$_}) >= 0.005 }
                   sort { $d{$b} <=> $d{$a} || $a cmp $b } keys %d);
}
for my $name (grep { !/off$/ } @want) {
    (my $base = $name) =~ s/(^|-)\w+$/$1off/;
    next unless $per{$base};
    {
        my %x = %{ $per{$name} };
        $x{$_} = ($x{$_} // 0) - $per{$base}{$_} for keys %{ $per{$base} };
        printf "  %s over %s: %s\n", $name, $base, join(', ', map {
            sprintf '%s %+.2f', $_, $x{$_} } grep { abs($x{$_}) >= 0.005 }
            sort { $x{$b} <=> $x{$a} || $a cmp $b } keys %x);
    }
}

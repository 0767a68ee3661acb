#!/usr/bin/perl
# Instructions per request, counted by valgrind's callgrind: deterministic
# where wall-clock figures on a small shared machine are not. One httpd -X
# (prefork, one process serves every request) runs under callgrind twice
# for each setup, with N1 and N2 requests after the same warm-up; the
# difference of the two totals divided by N2 - N1 is what one request costs,
# start-up and shutdown cancelled out.
#
#   perl tools/callgrind.pl [setup ...]      (default: every setup)
#   CG_N1=200 CG_N2=1200 CG_WARM=100
#
# The event setups run the event MPM's -X (one process, its listener and
# worker threads): a child that has threads without the module, where the
# prefork child is single-threaded until the module's log writer thread
# starts, and from then on each of httpd's own system calls goes through
# glibc's cancellation wrappers (about 30 instructions each, some 17
# calls a static request). Their totals vary by a hundred or so from run
# to run (the threads' hand-offs).
#
# Every thread of the httpd process is counted (the sinks' writer threads
# too), and the request thread (httpd -X's main thread) also alone; the
# piped logger and redis-server are other processes and are not:
# `pipe` and `redis` print the CPU time redis-server spent per request as
# well (its /proc/PID/stat, user + system).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest ':noskip';
use MTBench qw(cpu_secs callgrind_total ab_serial);

my ($N1, $N2, $WARM) = ($ENV{CG_N1} // 200, $ENV{CG_N2} // 1200,
                        $ENV{CG_WARM} // 100);

# name => [start options, path]
my %SETUPS = (
    'off'        => [{ memtrack => 0 }, '/static.txt'],
    'records'    => [{ conf => "MemTrackAnalysis Off\n" }, '/static.txt'],
    'analysis'   => [{ conf => "MemTrackProbeRate 0\n" }, '/static.txt'],
    'probes'     => [{}, '/static.txt'],
    # the sinks, records only: a piped logger; a file and Redis
    'pipe'       => [{ conf => "MemTrackAnalysis Off\n", log => 'pipe' }, '/static.txt'],
    'redis'      => [{ conf => "MemTrackAnalysis Off\nMemTrackRedis \@REDIS\@\n" },
                     '/static.txt'],
    # the event MPM (httpd -X: one process, its worker threads): a child
    # that has threads anyway
    'event-off'    => [{ memtrack => 0, mpm => 'event' }, '/static.txt'],
    'event-probes' => [{ mpm => 'event' }, '/static.txt'],
);
my @ORDER = qw(off records analysis probes pipe redis event-off event-probes);

my $REDIS;          # an MTRedis, started for the first setup that needs one
sub redis_url {
    require MTRedis;
    $REDIS //= MTRedis->start;
    return $REDIS->url;
}

sub run_one {
    my ($name, $n) = @_;
    my ($o, $path) = @{ $SETUPS{$name} };
    my $opts = { log => 'file', %$o };
    $opts->{conf} =~ s/\@REDIS\@/redis_url()/e if defined $opts->{conf};
    my $out = "/tmp/mt-callgrind-$$-$name-$n.out";
    # httpd -X becomes www-data (User) before callgrind writes at exit;
    # one file per thread ($out-01 the main thread, which serves requests)
    my @files = map { sprintf "%s-%02d", $out, $_ } 1 .. 64;
    for my $f (@files) {
        open my $touch, '>', $f or die "$f: $!";
        close $touch;
        if ($> == 0) {
            my (undef, undef, $uid, $gid) = getpwnam('www-data');
            chown $uid, $gid, $f;
        }
    }
    my $h = MTTest->start(mpm => 'prefork', %$opts, single => 1,
        name => "callgrind-$name", up_secs => 120,
        wrap => ['valgrind', '--tool=callgrind', '--quiet',
                 '--separate-threads=yes', "--callgrind-out-file=$out"]);
    my $rcpu0 = $REDIS ? cpu_secs($REDIS->pid) : 0;
    ab_serial($h->url($path), $WARM + $n);
    $h->discard;
    my $rcpu = $REDIS ? cpu_secs($REDIS->pid) - $rcpu0 : 0;
    my ($ir, $main) = (0, 0);
    # a thread past the 64th writes a file of its own (callgrind creates it)
    my %seen;
    @files = grep { !$seen{$_}++ } @files, glob("$out-*");
    for my $f (grep { -s $_ } @files) {
        my $t = callgrind_total($f);
        $ir += $t;
        $main = $t if $f eq $files[0];
    }
    unlink @files, $out unless $ENV{CG_KEEP};
    return ($ir, $rcpu, $main);
}

my @want = @ARGV ? @ARGV : @ORDER;
my %per;
for my $name (@want) {
    die "no setup $name (have: @ORDER)\n" unless $SETUPS{$name};
    my ($a, $ca, $ma) = run_one($name, $N1);
    my ($b, $cb, $mb) = run_one($name, $N2);
    $per{$name} = ($b - $a) / ($N2 - $N1);
    # the event MPM's main thread serves nothing: its workers do
    my $split = $name =~ /^event/ ? '' : sprintf(" (request thread %.0f, others %.0f)",
        ($mb - $ma) / ($N2 - $N1), $per{$name} - ($mb - $ma) / ($N2 - $N1));
    printf "  %-12s %8.0f instructions per request%s%s\n", $name, $per{$name}, $split,
        $name eq 'redis' ? sprintf(" (redis-server: %.1f us CPU per request)",
                                   ($cb - $ca) / ($N2 - $N1) * 1e6) : '';
}
printf "  analysis over records only: %+.0f instructions per request\n",
    $per{analysis} - $per{records} if defined $per{analysis} && defined $per{records};
printf "  module over module off:     %+.0f instructions per request\n",
    $per{probes} - $per{off} if defined $per{probes} && defined $per{off};
printf "  the same, event MPM:         %+.0f instructions per request\n",
    $per{'event-probes'} - $per{'event-off'}
    if defined $per{'event-probes'} && defined $per{'event-off'};
printf "  Redis over the file log:     %+.0f instructions per request\n",
    $per{redis} - $per{records} if defined $per{redis} && defined $per{records};

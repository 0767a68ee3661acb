#!/usr/bin/perl
# Instructions per Passenger Rack /hello request in the REAL app process
# (the Ruby process Passenger spawns, served through httpd + mod_passenger),
# counted by valgrind's callgrind, in these setups:
#
#   base       module off, t/apps/rack-plain (no companion)
#   module     module on,  t/apps/rack-plain
#   companion  module off, t/apps/rack (the companion, MemTrack::Rack)
#   headers    module off, t/apps/rack, each request carrying an
#              X-Request-Id as the module sets it (what the companion sees
#              from the module on a request without a probe ask)
#   both       module on,  t/apps/rack (probes as the module asks them:
#              at most MemTrackProbeRate a second of WALL time, and the app
#              runs ~50x slower under callgrind, so far more probes a
#              request than natively; each probe is two full GCs)
#   noprobes   both, with MemTrackProbeRate 0
#
# How: PassengerRuby is a wrapper script that execs
#   valgrind --tool=callgrind ... /usr/bin/ruby "$@"
# (instrumented from the start: the app still answers its first request
# in ~10 s here). Each run is two servers, one sent N1 /hello requests
# (ab -c1), the other N2; httpd's stop makes Passenger shut the app down,
# callgrind writes its totals at the exit; per request = (total2 -
# total1) / (N2 - N1), the boot and spawn cancel. The app's pid is the
# body of /pid: MTPassenger::warm cannot be used, it counts only processes
# titled "Passenger RubyApp:", and under valgrind /proc/PID/cmdline is
# valgrind's, so warm() croaks "did not come up" although the app answers.
# That, not the spawn, is the likely reason the earlier attempt in
# tools/passenger-split.pl "never answered". (--instr-atstart=no with
# callgrind_control -i on / -z / -d does not work here: vgdb finds the
# app's valgrind only with the app's LOGNAME/USER, and then hangs
# reading its answer while the app waits in a syscall.) Only the app
# process is counted: not httpd, not the Passenger core; user space only.
#
#   perl tools/passenger-app-callgrind.pl [setup ...]
#        (default: base companion headers both noprobes; also: module)
#   PAC_RUNS=2 PAC_N1=300 PAC_N2=1300 PAC_UP=180 (s for the first answer)
#   PAC_KEEP=DIR   keep the callgrind files there (for callgrind_annotate)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest ':noskip';
use MTPassenger;
use MTBench qw(callgrind_total ab_serial);
use File::Path ();
use File::Temp ();
use Time::HiRes qw(sleep);

$| = 1;
my $RUNS  = $ENV{PAC_RUNS}  // 2;
my ($N1, $N2) = ($ENV{PAC_N1} // 300, $ENV{PAC_N2} // 1300);
my $UP   = $ENV{PAC_UP} // 180;      # seconds for the app's first answer
my $PATH = '/hello';
my $RID  = 'X-Request-Id: AAAAAAAAAAAAAAAAAAAAAA.0000000001';

# name => [app, module loaded, more config, more ab arguments]
my %SETUPS = (
    base      => ['rack-plain', 0],
    module    => ['rack-plain', 1],
    companion => ['rack', 0],
    headers   => ['rack', 0, '', ['-H', $RID]],
    both      => ['rack', 1],
    noprobes  => ['rack', 1, "MemTrackProbeRate 0\n"],
);
my @ORDER = qw(base module companion headers both noprobes);
my @want = @ARGV ? @ARGV : qw(base companion headers both noprobes);
for (@want) { die "no setup $_ (have: @ORDER)\n" unless $SETUPS{$_} }
die "Passenger cannot run here: " . MTPassenger::why_not() . "\n"
    if MTPassenger::why_not();
for my $t (qw(valgrind ab)) {
    die "$t not installed\n" if system("command -v $t >/dev/null") != 0;
}

# Everything this run made: servers (stopped by pid in MTPassenger::stop,
# which KILLs what of Passenger is left, the app included) and directories.
my (@servers, @dirs);
my $TOP = File::Temp::tempdir('mt-pac-XXXXXX', TMPDIR => 1);
chmod 0755, $TOP;               # the app user runs the wrapper in there
push @dirs, $TOP;
sub cleanup {
    for my $h (@servers) {
        next unless $h;
        MTPassenger::stop($h) if $h->pid;
        $h->discard;
    }
    @servers = ();
    File::Path::remove_tree($_, { error => \my $ignored }) for @dirs;
    @dirs = ();
}
END { my $rc = $?; cleanup(); $? = $rc }
$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 1 };

sub wrapper {
    my ($dir) = @_;
    my $w = "$dir/ruby-under-callgrind";
    open my $fh, '>', $w or die "$w: $!";
    print {$fh} "#!/bin/sh\n# written by tools/passenger-app-callgrind.pl\n"
        . "exec valgrind --tool=callgrind --quiet"
        . " --dump-instr=no --collect-jumps=no"
        . " --callgrind-out-file=$dir/cg.%p --log-file=$dir/vg.%p"
        . " $MTPassenger::RUBY \"\$@\"\n";
    close $fh or die "$w: $!";
    chmod 0755, $w;
    return $w;
}

# One server, $n requests, stopped: the app's callgrind total.
sub one_total {
    my ($name, $tag, $n) = @_;
    my ($app, $mod, $conf, $abx) = @{ $SETUPS{$name} };
    my $dir = "$TOP/$name-$tag-$n";
    mkdir $dir or die "$dir: $!";
    chmod 01777, $dir;          # the app writes its file as www-data
    my $h = MTPassenger->start(app => $app, procs => 1, memtrack => $mod,
        log => $mod ? 'file' : 'none', name => "pac-$name",
        app_conf => '  PassengerRuby ' . wrapper($dir) . "\n",
        conf => "PassengerStartTimeout 600\n" . ($conf // ''));
    push @servers, $h;
    my $pid;
    MTTest::wait_for(sub {
        my $r = $h->get('/pid');
        ($pid) = $r->{success} ? $r->{content} =~ /^(\d+)/ : ();
        return $pid;
    }, $UP) or die "$name: the app did not answer /pid in $UP s\n";
    my $exe = readlink("/proc/$pid/exe") // '';
    die "$name: app $pid is not under callgrind ($exe)\n" unless $exe =~ /callgrind/;
    ab_serial($h->url($PATH), $n, @{ $abx || [] });
    my ($again) = $h->get('/pid')->{content} =~ /^(\d+)/;
    die "$name: the app process changed ($pid, now $again)\n" unless ($again // '') eq $pid;
    MTPassenger::stop($h);
    $h->discard;
    @servers = grep { $_ != $h } @servers;
    my $f = "$dir/cg.$pid";
    MTTest::wait_for(sub { eval { callgrind_total($f) } }, 60)
        or die "$name: no callgrind totals in $f after the app's exit\n";
    if ($ENV{PAC_KEEP}) {
        File::Path::make_path($ENV{PAC_KEEP});
        system('cp', $f, "$ENV{PAC_KEEP}/$name-$tag-$n.cg") == 0 or die "cp $f\n";
    }
    return callgrind_total($f);
}

sub one_run {
    my ($name, $run) = @_;
    my $t1 = one_total($name, $run, $N1);
    my $t2 = one_total($name, $run, $N2);
    return ($t2 - $t1) / ($N2 - $N1);
}

print "== app process, instructions per $PATH request (callgrind; ($N2 - $N1) requests, "
    . "ab -c1; $RUNS runs)\n";
my %ir;
for my $name (@want) {
    my @r = map { one_run($name, $_) } 1 .. $RUNS;
    my $sum = 0;
    $sum += $_ for @r;
    $ir{$name} = $sum / @r;
    printf "  %-10s %s   mean %.0f\n", $name, join('  ', map { sprintf '%8.0f', $_ } @r),
        $ir{$name};
}
if (defined $ir{base}) {
    printf "  over base: %s\n", join ', ', map { sprintf '%s %+.0f', $_, $ir{$_} - $ir{base} }
        grep { $_ ne 'base' } @want;
}

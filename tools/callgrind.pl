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
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest ':noskip';

my ($N1, $N2, $WARM) = ($ENV{CG_N1} // 200, $ENV{CG_N2} // 1200,
                        $ENV{CG_WARM} // 100);

# name => [start options, path]
my %SETUPS = (
    'off'        => [{ memtrack => 0 }, '/static.txt'],
    'records'    => [{ conf => "MemTrackAnalysis Off\n" }, '/static.txt'],
    'analysis'   => [{ conf => "MemTrackProbeRate 0\n" }, '/static.txt'],
    'probes'     => [{}, '/static.txt'],
);
my @ORDER = qw(off records analysis probes);

sub total_ir {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    while (<$fh>) {
        return $1 if /^(?:summary|totals):\s+(\d+)/;
    }
    die "no totals in $file";
}

sub run_one {
    my ($name, $n) = @_;
    my ($opts, $path) = @{ $SETUPS{$name} };
    my $out = "/tmp/mt-callgrind-$$-$name-$n.out";
    # httpd -X becomes www-data (User) before callgrind writes at exit
    open my $touch, '>', $out or die "$out: $!";
    close $touch;
    if ($> == 0) {
        my (undef, undef, $uid, $gid) = getpwnam('www-data');
        chown $uid, $gid, $out;
    }
    my $h = MTTest->start(%$opts, mpm => 'prefork', single => 1, log => 'file',
        name => "callgrind-$name", up_secs => 120,
        wrap => ['valgrind', '--tool=callgrind', '--quiet',
                 "--callgrind-out-file=$out"]);
    system("ab -q -n " . ($WARM + $n) . " -c 1 '" . $h->url($path) . "' >/dev/null") == 0
        or die "ab failed";
    $h->stop;
    my $ir = total_ir($out);
    unlink $out unless $ENV{CG_KEEP};
    return $ir;
}

my @want = @ARGV ? @ARGV : @ORDER;
my %per;
for my $name (@want) {
    die "no setup $name (have: @ORDER)\n" unless $SETUPS{$name};
    my $a = run_one($name, $N1);
    my $b = run_one($name, $N2);
    $per{$name} = ($b - $a) / ($N2 - $N1);
    printf "  %-10s %8.0f instructions per request\n", $name, $per{$name};
}
printf "  analysis over records only: %+.0f instructions per request\n",
    $per{analysis} - $per{records} if defined $per{analysis} && defined $per{records};
printf "  module over module off:     %+.0f instructions per request\n",
    $per{probes} - $per{off} if defined $per{probes} && defined $per{off};

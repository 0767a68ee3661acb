package MTBench;
# What the measuring tools share (tools/bench.pl, bench-redis.pl,
# callgrind.pl, passenger-split.pl, passenger-app-callgrind.pl): a median,
# a process's CPU time so far, callgrind's total of an output file and ab
# run one request at a time.
use strict;
use warnings;
use POSIX ();
use Exporter 'import';
our @EXPORT_OK = qw(median cpu_secs callgrind_total ab_serial);
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
sub ab_serial {
    my ($url, $n, @extra) = @_;
    my @cmd = ('ab', '-q', '-s', '120', '-n', $n, '-c', 1, @extra, $url);
    my $out = `@{[ map { "'$_'" } @cmd ]} 2>&1`;
    die "ab failed against $url: $out\n" if $?;
    my ($fail) = $out =~ /^Failed requests:\s+(\d+)/m;
    my ($non2) = $out =~ /^Non-2xx responses:\s+(\d+)/m;
    die "ab: $fail failed requests against $url\n" if $fail;
    die "ab: $non2 non-2xx answers from $url\n" if $non2;
}

1;

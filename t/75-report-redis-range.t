#!/usr/bin/perl
# memtrack-report --redis over more than one XRANGE batch (batches of
# MT_REPORT_REDIS_BATCH, 2,000 entries), with --since / --until: a real
# redis-server (t/lib/MTRedis.pm, loopback, stopped by pid) holds 5,000
# records of mt-report-gen in memtrack:stream, added with XADD as the
# module adds them (field `record`), each entry's id the record's time in
# milliseconds (the module adds a record when its request ends, so the id
# is about its time). The whole stream is read in three batches and gives
# every record; a range gives exactly the records whose time is in it,
# counts what the read took in around it (the stream is read from
# --since's millisecond to --until plus the lag) as outside_range, and the
# same report as the log file with the same range. (Before this test,
# every read after the first batch failed: APR's formatter has no %llu.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use MTRedis;
use MTReport;
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(floor);
use Test::More;

my $gen = "$FindBin::Bin/../build/mt-report-gen";
plan skip_all => 'memtrack-report not built (make' . ($ENV{MT_ASAN} ? ' asan' : '') . ')'
    unless -x MTReport::tool() && -x $gen;

my $N = 5000;
my $dir = tempdir('mt-redis-range-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system("$gen $N 3 5 > $dir/all.jsonl") == 0 or die 'mt-report-gen';
open my $fh, '<', "$dir/all.jsonl" or die;
my @lines = <$fh>;
close $fh;
chomp @lines;
is(scalar @lines, $N, "a log of $N records");

# Each record's time in microseconds since the epoch.
sub us_of {
    my ($line) = @_;
    my ($y, $mo, $d, $h, $mi, $s, $f) =
        $line =~ /"time":"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z"/
        or die "no time in $line";
    require Time::Local;
    my $sec = Time::Local::timegm($s, $mi, $h, $d, $mo - 1, $y);
    return $sec * 1_000_000 + substr(($f // '') . '000000', 0, 6);
}
my @recs = sort { $a->[0] <=> $b->[0] } map { [us_of($_), $_] } @lines;
# The last 300 records an hour later (their hour 04 made 05): beyond
# --until plus the lag below, so the read's end is --until's, not the
# stream's last entry.
die 'the log does not start at 04:00' unless $recs[0][1] =~ /"time":"[-\d]+T04:/;
for my $r (@recs[$N - 300 .. $N - 1]) {
    $r->[1] =~ s/("time":"[-\d]+T)04:/${1}05:/ or die 'a time not in hour 04';
    $r->[0] += 3600 * 1_000_000;
}
open $fh, '>', "$dir/all.jsonl" or die;
print {$fh} map { "$_->[1]\n" } @recs;
close $fh;

my $rd = MTRedis->start;
my ($last_ms, $seq) = (-1, 0);
for my $r (@recs) {
    my $ms = floor($r->[0] / 1000);
    $seq = $ms == $last_ms ? $seq + 1 : 0;
    $last_ms = $ms;
    my $id = $rd->cmd('XADD', 'memtrack:stream', "$ms-$seq", 'record', $r->[1]);
    die "XADD: $$id\n" if ref $id eq 'MTRedis::Error';
}
is($rd->cmd('XLEN', 'memtrack:stream'), $N, "the stream holds $N entries");

# The report without its own time and the input figures (which name the
# source); the input figures apart.
sub body {
    my ($j) = @_;
    my %c = %$j;
    delete @c{qw(generated input)};
    return JSON::PP->new->canonical->encode(\%c);
}

# ---- the whole stream: three batches (2,000, 2,000, 1,000) ----
my $file = MTReport::run(['--json', "$dir/all.jsonl"]);
my $all = MTReport::run(['--json', '--redis', $rd->url]);
is($all->{rc}, 0, '--redis, the whole stream: exit 0') or diag $all->{err};
is($all->{asan} // '', '', 'no sanitizer report');
is($all->{json}{input}{records}, $N, "every entry read: $N records (more than two batches)");
is($all->{json}{input}{bad_lines}, 0, 'no bad lines');
is($all->{json}{input}{outside_range}, 0, 'nothing outside a range');
is(body($all->{json}), body($file->{json}), 'the same report as the log file');

# ---- a range across batches ----
# --since between records 600 and 601, --until between 4,399 and 4,400
# (given as @seconds.micro): the read goes from --since's millisecond to
# --until plus the lag (MT_REPORT_REDIS_LAG, 600 s), which takes in the
# records up to the hour-later ones.
sub between {
    my ($i) = @_;                     # a time after record i-1, before i
    my ($lo, $hi) = ($recs[$i - 1][0], $recs[$i][0]);
    die "records $i-1 and $i share their time" if $hi - $lo < 2;
    return $lo + int(($hi - $lo) / 2);
}
my ($since, $until) = (between(601), between(4400));
my $arg = sub { sprintf '@%d.%06d', int($_[0] / 1e6), $_[0] % 1_000_000 };
my @in = grep { $_->[0] >= $since && $_->[0] <= $until } @recs;
my ($since_ms, $end_ms) = (floor($since / 1000), floor(($until + 600e6) / 1000));
my @read = grep { my $ms = floor($_->[0] / 1000); $ms >= $since_ms && $ms <= $end_ms } @recs;
cmp_ok(scalar @in, '>', 2000, 'the range holds more than a batch of records');
cmp_ok(scalar @read, '>', 2 * 2000, 'the read takes in more than two batches');
cmp_ok(scalar @read, '<', $N - 600, 'and not the hour-later records');
my $range = MTReport::run(['--json', '--redis', $rd->url, '--since', $arg->($since),
                           '--until', $arg->($until)]);
is($range->{rc}, 0, '--redis --since --until: exit 0') or diag $range->{err};
is($range->{json}{input}{records}, scalar @in,
   'exactly the records whose time is in the range: ' . scalar @in);
is($range->{json}{input}{outside_range}, @read - @in,
   'the rest of what the read took in counted outside the range: ' . (@read - @in));
my $frange = MTReport::run(['--json', '--since', $arg->($since), '--until', $arg->($until),
                            "$dir/all.jsonl"]);
is($frange->{json}{input}{records}, scalar @in, 'the log file with the same range: the same count');
is($frange->{json}{input}{outside_range}, $N - @in, 'and the rest of the file outside it');
is(body($range->{json}), body($frange->{json}), 'the same report as the log file with the range');

# ---- --since alone, in the last batch's records ----
my $late = between(4500);   # to the stream's end, the hour-later ones too
my @tail = grep { $_->[0] >= $late } @recs;
my $r = MTReport::run(['--json', '--redis', $rd->url, '--since', $arg->($late)]);
is($r->{rc}, 0, '--since alone: exit 0');
is($r->{json}{input}{records}, scalar @tail, '--since alone: the records from then on: ' . scalar @tail);

$rd->stop;
done_testing();

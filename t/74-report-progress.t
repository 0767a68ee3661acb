#!/usr/bin/perl
# memtrack-report's progress line: on standard error, when that is a
# terminal and the reading takes more than a second. script(1) (util-linux)
# gives the tool a pseudo-terminal; the input comes through a pipe that
# pauses 1.5 s halfway, so "more than a second" does not depend on how fast
# the machine is. The line says the records read so far, their rate, the
# servers and the megabytes, and is wiped ("\r\e[K") before the report's
# own messages; standard output (the report) is not touched. Without a
# terminal, with --quiet, or with a reading under a second there is none.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use MTReport;
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

my $gen = "$FindBin::Bin/../build/mt-report-gen";
my $tool = MTReport::tool();
plan skip_all => 'memtrack-report not built (make' . ($ENV{MT_ASAN} ? ' asan' : '') . ')'
    unless -x $tool && -x $gen;
plan skip_all => 'script (util-linux / bsdutils) not installed'
    if system('script -V >/dev/null 2>&1');

my $dir = tempdir('mt-progress-XXXXXX', TMPDIR => 1, CLEANUP => 1);
sub slurp { my ($f) = @_; open my $fh, '<', $f or return ''; binmode $fh; local $/; <$fh> // '' }

# 4,000 records of two servers, in two halves.
system("$gen 4000 2 11 > $dir/all.jsonl") == 0 or die 'mt-report-gen';
system("head -n 2000 $dir/all.jsonl > $dir/a.jsonl && tail -n 2000 $dir/all.jsonl > $dir/b.jsonl") == 0
    or die 'split';
my $want = MTReport::run(['--json', "$dir/all.jsonl"]);
is($want->{rc}, 0, 'the log as a file: exit 0');
is($want->{json}{input}{records}, 4000, 'the log holds 4000 records');

# Run the tool in a shell inside script's terminal (stderr: the terminal,
# stdout: a file). $feed: the shell command that writes the log to the
# pipe. What the terminal showed (the tool's stderr) and the report.
sub on_tty {
    my ($feed, @args) = @_;
    my $inner = "$feed | $tool " . join(' ', @args) . " - > $dir/out.json";
    my $cmd = "script -qfc " . quote($inner) . " /dev/null < /dev/null > $dir/tty 2>&1";
    system($cmd);
    return { rc => $? >> 8, tty => slurp("$dir/tty"), out => slurp("$dir/out.json") };
}
sub quote { my ($s) = @_; $s =~ s/'/'\\''/g; return "'$s'" }
sub report { my ($o) = @_; my $j = eval { JSON::PP->new->decode($o) }; return $j }
# The report without the time it was made.
sub body { my ($j) = @_; return undef unless $j; my %c = %$j; delete @c{qw(generated input)}; return JSON::PP->new->canonical->encode(\%c) }

my $slow = "(cat $dir/a.jsonl; sleep 1.5; cat $dir/b.jsonl)";
my $line = qr/\rmemtrack-report: (\d+) records \((\d+)\/s\), (\d+) servers, (\d+) MB\e\[K/;

# ---- a terminal and a reading over a second: the line ----
my $r = on_tty($slow, '--json');
is($r->{rc}, 0, 'slow input on a terminal: exit 0');
my @shown = $r->{tty} =~ /$line/g;
ok(@shown >= 4, 'a progress line on the terminal') or diag explain $r->{tty};
if (@shown >= 4) {
    my ($records, $rate, $servers, $mb) = @shown[-4 .. -1];
    is($records, 4000, 'its record count: all 4000 when the reading ended');
    cmp_ok($rate, '>', 0, "its rate ($rate/s)");
    cmp_ok($rate, '<', 4000, 'the rate counts the pause (records over the whole reading)');
    is($servers, 2, 'its servers: 2');
    is($mb, sprintf('%.0f', (-s "$dir/all.jsonl") / 1e6),
       "its megabytes read: the whole log ($mb MB)");
}
like($r->{tty}, qr/$line.*\r\e\[K/s, 'the line is wiped after the reading');
unlike($r->{tty}, qr/ of \d+ MB/, 'no total size for a pipe');
my $j = report($r->{out});
ok($j, 'standard output is the JSON report, untouched');
is(body($j), body($want->{json}), 'the same report as from the file');

# ---- the same input without a terminal: no line ----
system("$slow | $tool --json - > $dir/out2.json 2> $dir/err2");
is($? >> 8, 0, 'stderr to a file: exit 0');
is(slurp("$dir/err2"), '', 'stderr not a terminal: no progress line, nothing');

# ---- --quiet on a terminal: no line ----
$r = on_tty($slow, '--json', '--quiet');
is($r->{rc}, 0, '--quiet: exit 0');
unlike($r->{tty}, qr/memtrack-report: \d+ records/, '--quiet: no progress line');

# ---- a terminal, a reading under a second: no line ----
$r = on_tty("cat $dir/a.jsonl", '--json');
is($r->{rc}, 0, 'quick input: exit 0');
unlike($r->{tty}, qr/memtrack-report: \d+ records/, 'under a second: no progress line');

done_testing();

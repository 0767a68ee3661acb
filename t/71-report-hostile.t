#!/usr/bin/perl
# memtrack-report against hostile input (also with MT_ASAN=1, against the
# ASan build of the tool, where any sanitizer report fails the test):
# invalid JSON, lines of 1 MB, NUL bytes, records with missing or wrongly
# typed fields, a gzip stream cut in the middle, garbage after a gzip
# stream, an empty file, a directory, a missing file, a file that is not a
# log at all. Each gets a clear message and its count, nothing crashes,
# and the rest of the report is what it is without them. The pieces of a
# rotated log named in the wrong order give the same report as the whole.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use MTReport;
use File::Temp qw(tempdir);
use Test::More;

my $gen = "$FindBin::Bin/../build/mt-report-gen";
plan skip_all => 'memtrack-report not built (make' . ($ENV{MT_ASAN} ? ' asan' : '') . ')'
    unless -x MTReport::tool() && -x $gen;
plan skip_all => 'gzip not installed' if system('gzip --version >/dev/null 2>&1');

my $dir = tempdir('mt-hostile-XXXXXX', TMPDIR => 1, CLEANUP => 1);
sub put { my ($f, $t) = @_; open my $fh, '>', "$dir/$f" or die; binmode $fh; print {$fh} $t; close $fh; "$dir/$f" }
sub slurp { my ($f) = @_; open my $fh, '<', $f or die; binmode $fh; local $/; <$fh> }

system("$gen 6000 2 7 > $dir/good.jsonl") == 0 or die 'mt-report-gen';
my @good = split /(?<=\n)/, slurp("$dir/good.jsonl");
is(scalar @good, 6000, 'a log of 6000 records');

# The verdicts of a report: server / endpoint -> verdict, estimate, requests.
sub verdicts {
    my ($j) = @_;
    my %v;
    for my $s ({ %{ $j->{fleet} }, server => 'fleet' }, @{ $j->{servers} }) {
        for my $e (@{ $s->{endpoints} }) {
            $v{"$s->{server} $e->{endpoint}"} = join ' ', $e->{verdict},
                $e->{requests}, $e->{leak_bytes_per_request},
                $e->{retained_bytes_per_request} // 'null', $e->{probes};
        }
        $v{"$s->{server} processes"} = scalar @{ $s->{processes} };
    }
    return \%v;
}

my $base = MTReport::run(['--json', "$dir/good.jsonl"]);
is($base->{rc}, 0, 'the clean log: exit 0');
is($base->{asan}, '', 'no sanitizer report');
my $want = verdicts($base->{json});
cmp_ok(scalar keys %$want, '>', 20, 'its verdicts');

# ---- bad lines among the good ----
my $rec = $good[10];
chomp(my $r0 = $rec);
my @bad = (
    "not json at all\n",
    "{\"time\":\n",
    "[1,2,3]\n",
    "{" . ('"a":' x 5) . "}\n",
    "\0\0\0\0\n",
    substr($r0, 0, 200) . "\0" . substr($r0, 201) . "\n",
    ($r0 =~ s/"pid":\d+/"pid":"x"/r) . "\n",
    ($r0 =~ s/"time":"[^"]+",//r) . "\n",
    ($r0 =~ s/"memory_after":\d+/"memory_after":-5/r) . "\n",
    ($r0 =~ s/"exclusive":(true|false)/"exclusive":1/r) . "\n",
    ($r0 =~ s/"endpoint":"[^"]*"/"endpoint":{"a":1}/r) . "\n",
    ($r0 =~ s/"url":"[^"]*"/'"url":"' . ('u' x (1 << 20)) . '"'/er) . "\n",
    ('x' x (1 << 20)) . "\n",
    "{\"deep\":" . ('[' x 40) . (']' x 40) . "}\n",
    "\xff\xfe\xfd\n",
    "\n",
);
my @mixed;
for my $i (0 .. $#good) {
    push @mixed, $good[$i];
    push @mixed, $bad[($i / 300) % @bad] if $i % 300 == 150;
}
my $nbad = @mixed - @good;
my $mixed = put('mixed.jsonl', join '', @mixed);
put('empty.jsonl', '');
my $notlog = put('notalog.bin', join '', map { chr(($_ * 7919) % 256) } 1 .. 300_000);
my $hostile = MTReport::run(['--json', $mixed, "$dir/empty.jsonl", $notlog,
                             "$dir/missing.jsonl", $dir]);
is($hostile->{signal}, 0, 'no crash');
is($hostile->{asan}, '', 'no sanitizer report');
is($hostile->{rc}, 1, 'exit 1: two inputs could not be read');
ok($hostile->{json}, 'the report is still written') or diag($hostile->{err});
is_deeply(verdicts($hostile->{json}), $want,
          'the rest of the report is what it is without the bad input');
my %src = map { $_->{name} => $_ } @{ $hostile->{json}{input}{sources} };
is($src{$mixed}{bad_lines}, $nbad, "$nbad bad lines counted");
is($src{$mixed}{records}, 6000, 'every good record of that file read');
is($src{$mixed}{first_bad_line}, 152, 'the first bad line is named by its number');
is($src{"$dir/empty.jsonl"}{lines}, 0, 'the empty file: no lines');
cmp_ok($src{$notlog}{bad_lines}, '>', 0, 'the file that is not a log: bad lines');
is($src{$notlog}{records}, 0, 'and no record');
ok($src{"$dir/missing.jsonl"}{failed}, 'the missing file failed');
my $err = $hostile->{err};
like($err, qr/mixed\.jsonl: $nbad bad lines skipped \(the first, line 152: not a JSON object: 0x6e at byte 0\)/,
     'message: bad lines, the first one and why');
like($err, qr/empty\.jsonl: empty: no records/, 'message: empty file');
like($err, qr/notalog\.bin: not one record in it: is it a memtrack log\?/,
     'message: not a log');
like($err, qr/missing\.jsonl: cannot read: No such file or directory/,
     'message: missing file');
like($err, qr/\Q$dir\E: cannot read: a directory/, 'message: a directory');
for my $why ('field pid: a string, not an integer', 'field time: missing',
             'field memory_after: out of range', 'longer than 65536 bytes',
             'not JSON: a raw control byte', 'not JSON: nested deeper') {
    my $lines = MTReport::run(['--json', put('one.jsonl', join '', @good[0 .. 9],
        (grep { my $x = MTReport::run(['--json', put('probe.jsonl', $_)]);
                ($x->{json}{input}{sources}[0]{first_bad} // '') =~ /\Q$why\E/ } @bad)[0] // "\n")]);
    like($lines->{json}{input}{sources}[0]{first_bad} // '', qr/\Q$why\E/,
         "a bad line is told apart: $why");
}

# ---- gzip: rotated pieces in the wrong order, a cut stream, garbage ----
put('part1.jsonl', join '', @good[0 .. 2999]);
put('part2.jsonl', join '', @good[3000 .. 5999]);
system('gzip', '-9', "$dir/part1.jsonl") == 0 or die;
my $parts = MTReport::run(['--json', "$dir/part2.jsonl", "$dir/part1.jsonl.gz"]);
is($parts->{rc}, 0, 'rotated pieces, newest named first: exit 0');
is_deeply(verdicts($parts->{json}), $want, 'the same report as the whole log');

my $gz = slurp("$dir/part1.jsonl.gz");
my $cut = put('cut.jsonl.gz', substr($gz, 0, length($gz) / 2));
my $rc = MTReport::run(['--json', $cut]);
is($rc->{signal}, 0, 'a gzip stream cut in the middle: no crash');
is($rc->{asan}, '', 'no sanitizer report');
like($rc->{err}, qr/cut\.jsonl\.gz: the gzip stream is cut short \(a truncated file\?\)/,
     'the cut is reported');
my $got = $rc->{json}{input}{sources}[0]{records} // 0;
cmp_ok($got, '>', 500, "the records before the cut are read ($got)");
cmp_ok($got, '<', 3000, 'and not more');
cmp_ok($rc->{json}{input}{bad_lines}, '<=', 1, 'at most the cut line is bad');

my $trail = put('trail.jsonl.gz', $gz . "garbage after the stream\n");
$rc = MTReport::run(['--json', $trail]);
like($rc->{err}, qr/bytes that are not gzip after gzip member 1 were ignored/,
     'garbage after a gzip stream is reported');
is($rc->{json}{input}{sources}[0]{records}, 3000, 'and every record before it read');
my $corrupt = $gz;
substr($corrupt, 2000, 64) = "\0" x 64;
$rc = MTReport::run(['--json', put('corrupt.jsonl.gz', $corrupt)]);
is($rc->{signal}, 0, 'corrupt gzip data: no crash');
like($rc->{err}, qr/corrupt gzip data|bad lines/, 'and it is reported');

# two gzip members one after another (cat a.gz b.gz), from standard input
system('gzip', '-9', "$dir/part2.jsonl") == 0 or die;
my $cat = slurp("$dir/part1.jsonl.gz") . slurp("$dir/part2.jsonl.gz");
$rc = MTReport::run(['--json', '-'], stdin => $cat);
is($rc->{json}{input}{records}, 6000, 'two gzip members on standard input: every record');
is_deeply(verdicts($rc->{json}), $want, 'and the same report');

# ---- options ----
$rc = MTReport::run(['--since', 'yesterday']);
is($rc->{rc}, 2, 'a bad --since: exit 2');
like($rc->{err}, qr/--since: 'yesterday' is not a time/, 'with a message');
$rc = MTReport::run(['--window', '0', "$dir/good.jsonl"]);
is($rc->{rc}, 2, 'a bad --window: exit 2');
$rc = MTReport::run(['--redis', 'redis://127.0.0.1:1/0', '--json']);
is($rc->{rc}, 1, 'an unreachable Redis: exit 1');
like($rc->{err}, qr/redis redis:\/\/127\.0\.0\.1:1\/0: cannot connect: Connection refused/, 'with a message');
ok($rc->{json}, 'and an (empty) report');
$rc = MTReport::run(['--redis', 'redis://:s3cret@127.0.0.1:1/0']);
unlike($rc->{err}, qr/s3cret/, 'a Redis password is never shown');
$rc = MTReport::run(['--until', '2026-11-22T04:00:05Z', '--json', "$dir/good.jsonl"]);
cmp_ok($rc->{json}{input}{outside_range}, '>', 0, '--until leaves records out');
cmp_ok($rc->{json}{input}{records}, '<', 6000, 'and reads the rest');

$rc = MTReport::run(["$dir/good.jsonl"]);
ok(!grep({ length > 80 } split /\n/, $rc->{out}), 'the text fits 80 columns');
done_testing();

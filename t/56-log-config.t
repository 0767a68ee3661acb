#!/usr/bin/perl
# MemTrackLog where records cannot go (issue 9, item 7): said by
# `apache2 -t` when it can be known (a directory, a read-only file system,
# a file that cannot be written), and loudly at start otherwise (a place
# only the open itself refuses): a critical line, then every record counted
# as dropped and told, never a silent log. `MemTrackLog /some/dir/` is
# reported as a directory, not as "directory does not exist".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use File::Path qw(make_path remove_tree);
use Test::More;

plan skip_all => 'needs root (mounts a read-only tmpfs)' unless $> == 0;

my $base = "$MTTest::ROOT/t/tmp/56-log-config-$$";
my $ro = "$base/ro";
make_path("$base/dir", $ro);
system('mount', '-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', $ro) == 0
    or plan skip_all => "cannot mount a read-only tmpfs";
my $mounted = 1;
END { if ($mounted) { system('umount', $ro) == 0 and remove_tree($base) } }

sub configtest {
    my ($line) = @_;
    my ($rc, $out) = MTTest::configtest(conf => "MemTrack On\n$line\n");
    $out =~ s/Syntax error on line \d+ of \S+:\s*//g;
    return ($rc, $out);
}

for my $case (["$base/dir/", qr/is a directory: name a file in it/],
              ["$base/dir", qr/is a directory: name a file in it/],
              ["$ro/records.jsonl", qr/cannot be created in \Q$ro\E \(Read-only file system\)/],
              ["$base/nowhere/records.jsonl", qr/the directory for the file does not exist/]) {
    my ($path, $want) = @$case;
    my ($rc, $out) = configtest("MemTrackLog $path");
    isnt($rc, 0, "configtest fails: MemTrackLog $path");
    like($out, qr/MemTrackLog: '\Q$path\E': /, 'the message names directive and value') or diag($out);
    like($out, $want, 'and says what is wrong') or diag($out);
}
my ($rc, $out) = configtest("MemTrackLog $base/dir/records.jsonl");
is($rc, 0, 'a file in a writable directory passes') or diag($out);

# /proc takes no new file, but access() lets root think it would.
my $h = MTTest->start(mpm => 'event', log => 'none',
                      conf => "MemTrackLog /proc/memtrack-test-$$.jsonl\n"
                            . "MemTrackDropReportInterval 1\n");
like($h->error_log, qr/\[memtrack:crit\].*MemTrackLog \/proc\/memtrack-test-$$\.jsonl: cannot open: no record/,
     'a critical line at start');
my $served = grep { $h->get("/static.txt?n=$_")->{status} == 200 } 1 .. 10;
is($served, 10, 'the server serves all the same');
$h->stop;
my ($told, $el) = (0, $h->error_log);
$told += $1 while $el =~ /MemTrackLog \/proc\/memtrack-test-$$\.jsonl: dropped (\d+) records since the last report/g;
is($told, 10, 'every record is told as dropped');
undef $h;
done_testing();

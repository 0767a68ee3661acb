#!/usr/bin/perl
# A full disk never leaves a broken line (issue 9, item 5): with MemTrackLog
# on a small tmpfs that fills up, every line of the file is a whole JSON
# record, records that did not fit are dropped and told, and once space is
# back records are written again, still line-clean. Before, a short write
# left half a record with the next one glued to it, and jq rejected the
# whole file.
#
# Needs root: the test mounts a 2 MB tmpfs of its own and unmounts it by
# its path.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use File::Path qw(make_path);
use Test::More;

plan skip_all => 'needs root (mounts a tmpfs)' unless $> == 0;

my $mnt = "$MTTest::ROOT/t/tmp/53-full-disk-$$-mnt";
make_path($mnt);
system('mount', '-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs', $mnt) == 0
    or plan skip_all => "cannot mount a tmpfs on $mnt";
my $mounted = 1;
END { if ($mounted) { system("umount", $mnt) == 0 and rmdir $mnt; } }

# Leave room for about 60 records of ~1.1 KB (written, not a sparse file).
sub fill {
    system('dd', 'if=/dev/zero', "of=$mnt/filler", 'bs=1024', 'count=1980',
           'status=none') == 0 or die "dd: $?";
}
my $log = "$mnt/records.jsonl";

for my $mpm (qw(event prefork)) {
    unlink $log;
    fill();
    my $h = MTTest->start(mpm => $mpm, log => 'none', conf => "MemTrackLog $log\n");
    my $sent = 0;
    my ($rc, $out) = $h->ab(n => 300, c => 8, path => '/static.txt?full=1');
    is($rc, 0, "$mpm: 300 requests served on a full disk") or diag($out);
    $sent += 300;
    # space back: the last records go in whole
    truncate("$mnt/filler", 1024 * 1024) or die "truncate: $!";
    for my $i (1 .. 20) {
        $h->get("/static.txt?back=$i");
        $sent++;
    }
    # A record is made in the request's log phase, after its answer is out,
    # and a stop (SIGTERM) ends a prefork child wherever it is: the last
    # request's record was once never made at all (every child's totals
    # added up, one short of what was sent). So the stop waits for the last
    # line, which the writer writes within 50 ms; when it does not come, the
    # checks below say so.
    MTTest::wait_for(sub {
        open my $f, '<', $log or return 0;
        local $/;
        return (<$f> // '') =~ /\?back=20"/;
    }, 5);
    $h->stop;

    open my $fh, '<', $log or die "$log: $!";
    my @lines = <$fh>;
    close $fh;
    my @bad = grep { !MTTest::decode_line($_) || !/\n\z/ } @lines;
    is(scalar @bad, 0, "$mpm: every line of the file is a whole JSON record ("
       . scalar(@lines) . ' lines)') or diag(substr(join('', @bad[0 .. ($#bad < 2 ? $#bad : 2)]), 0, 3000));
    my $back = grep { /\?back=\d+"/ } @lines;
    is($back, 20, "$mpm: with space back, the 20 records after it are there");
    my ($told, $el) = (0, $h->error_log);
    $told += $1 while $el =~ /memtrack: MemTrackLog \Q$log\E: dropped (\d+) records since the last report/g;
    cmp_ok($told, '>', 0, "$mpm: records were dropped ($told)");
    # each child's totals at its exit (debug), for the balance below
    my (%started, %tot);
    $started{$1} = 1 while $el =~ /\[pid (\d+):tid \d+\][^\n]*writer thread started/g;
    $tot{$1} = [$2, $3] while $el =~ /\[pid (\d+):tid \d+\][^\n]*: child exiting: (\d+) records written, (\d+) dropped/g;
    my @silent = grep { !$tot{$_} } sort keys %started;
    my ($w, $d) = (0, 0);
    for (values %tot) { $w += $_->[0]; $d += $_->[1] }
    is(scalar @silent, 0, "$mpm: every child told its totals at exit")
        or diag("children that did not: @silent; the error log's stop: "
                . join('', grep { /did not exit|SIGKILL|shutting down/ } split /^/, $el));
    is($w, scalar @lines, "$mpm: the children wrote $w records, the file has "
       . scalar(@lines));
    is($d, $told, "$mpm: the children dropped $d records, told $told");
    is(@lines + $told, $sent, "$mpm: written " . scalar(@lines) . " + told dropped $told = sent $sent")
        or diag("back records missing: " . join(' ', grep {
            my $i = $_; !grep { /\?back=$i"/ } @lines } 1 .. 20));
    is($h->sanitizer_log, '', "$mpm: no sanitizer reports");
}

done_testing();

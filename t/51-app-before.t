#!/usr/bin/perl
# The app's own rss_before / rss_after are used only when they can be true
# of the process the module reads (issue 9, item 3): zero resident bytes, or
# more than the process's peak (VmHWM), is refused, the module's own sample
# of that process is the before instead (before_source says so), and no
# growth beyond what the process really had resident is ever recorded.
# Threshold warnings are limited per process: an app that makes every
# request look like a threshold crossing cannot flood the error log.
#
# The backend is mod_headers on a static file, naming a www-data process of
# this test with the figures the test asks for: any backend speaks the
# protocol, and this one lies on demand.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use POSIX ();
use Test::More;

plan skip_all => 'needs root (a www-data process)' unless $> == 0;

my $MAX = 1 << 50;
my $h = MTTest->start(mpm => 'event', modules => ['headers'], conf => <<'EOC');
MemTrackThreshold 64K
MemTrackTarget backend
<Location /static.txt>
  Header always set X-MemTrack "expr=v=1; pid=%{req:X-Test-Pid}; rss_before=%{req:X-Test-Before}; rss_after=%{req:X-Test-After}"
</Location>
EOC

my (undef, undef, $uid, $gid) = getpwnam('www-data');
my $app = fork // die "fork: $!";
if (!$app) {
    POSIX::setgid($gid);
    POSIX::setuid($uid);
    exec 'sleep', '300' or POSIX::_exit(127);
}
ok(MTTest::wait_for(sub { MTTest::_slurp("/proc/$app/cmdline") =~ /^sleep\0/
                          && (stat "/proc/$app")[4] == $uid }, 5),
   "a www-data process $app");
my $rss = MTTest::rss_bytes($app);

my $n = 0;
sub rec_for {
    my ($before, $after) = @_;
    my $url = '/static.txt?n=' . $n++;
    my $res = $h->get($url, { 'X-Test-Pid' => $app, 'X-Test-Before' => $before,
                              'X-Test-After' => $after });
    is($res->{status}, 200, "$url answered");
    my ($rec) = grep { $_ && $_->{url} eq $url } $h->wait_records($n, 10);
    return $rec || {};
}

subtest 'honest figures are the before' => sub {
    my $rec = rec_for($rss, $rss);
    is($rec->{attribution}, 'header', 'attributed to the named process');
    is($rec->{pid}, $app, 'its pid');
    is($rec->{before_source}, 'app', 'before from the app');
    is($rec->{memory_before}, $rss, 'the value it said');
};

for my $case (['rss_before=0', 0, $rss], ['rss_before=2^50', $MAX, $rss],
              ['rss_after=2^50', $rss, $MAX], ['rss_after=0', $rss, 0],
              ['rss_before above the peak', 4 * $rss + (64 << 20), $rss]) {
    my ($what, $before, $after) = @$case;
    subtest "$what cannot be true" => sub {
        my $rec = rec_for($before, $after);
        is($rec->{attribution}, 'header', 'still attributed to the process');
        like($rec->{before_source} // '', qr/\A(previous|none)\z/,
             "before from the module, not the app ($rec->{before_source})");
        isnt($rec->{memory_before} // -1, $before, 'the app\'s value is not used')
            if $before != $rss;
        my $g = $rec->{memory_growth};
        ok(!defined $g || abs($g) < (64 << 20),
           'growth within what the process had: ' . ($g // 'null'));
        ok(!$rec->{threshold_exceeded}, 'no threshold crossing from it');
    };
}

# An app that lies within the limits (rss_before=1 of a process of a few hundred KB) makes
# every request cross the 64K threshold; the warnings are limited.
my $N = 300;
my $before_warn = () = $h->error_log =~ /threshold exceeded/g;
for my $i (1 .. $N) {
    $h->get("/static.txt?flood=$i", { 'X-Test-Pid' => $app, 'X-Test-Before' => 1,
                                      'X-Test-After' => $rss });
}
my @recs = grep { $_ && $_->{url} =~ /flood=/ } $h->wait_records($n + $N, 20);
is(scalar @recs, $N, "$N records");
my $crossed = grep { $_->{threshold_exceeded} } @recs;
cmp_ok($crossed, '>', $N / 2, "most of them cross the threshold ($crossed)");
my $warned = (() = $h->error_log =~ /threshold exceeded/g) - $before_warn;
my $kids = () = $h->child_pids;
cmp_ok($warned, '<=', 5 * $kids, "threshold warnings limited: $warned for $crossed "
       . "crossings in $kids children");
cmp_ok($warned, '>=', 1, 'but still warned');
ok($h->error_log =~ /threshold exceeded: .*pid=$app\b.*(further warnings|not logged)/,
   'the warning says that more are held back');

kill 'KILL', $app;
waitpid($app, 0);
$h->stop;
is($h->sanitizer_log, '', 'no sanitizer reports');
undef $h;      # its temp dir goes now, not in global destruction
done_testing();

#!/usr/bin/perl
# Redis killed (kill -9) in the middle of a load of a few thousand requests
# at concurrency 50, and restarted a second later: no request fails, latency
# is not held hostage, records resume within seconds of the restart, and the
# records lost meanwhile are counted and reported. Redis runs with an
# append-only file (fsync always), so what it acknowledged survives the kill
# and "logged minus stored" is the number of records lost.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTRedis;
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep);
use MTClock qw(time);

my $N = $ENV{MT_OUTAGE_REQUESTS} || 5000;
my $rd = MTRedis->start(aof => 1);
my $h = MTTest->start(mpm => 'event', conf => join("\n",
    "MemTrackRedis " . $rd->url,
    "MemTrackRedisQueue 200",
    "MemTrackRedisTimeout 200 500"));

sub lines_now {
    my $t = do { local (@ARGV, $/) = ($h->records_path); <> } // '';
    return () = $t =~ /\n/g;
}

# The load, in a child that leaves the test's objects alone (_exit).
my $abfile = $h->dir . "/ab.out";
my $t0 = time;
my $ab = fork() // die "fork: $!";
if (!$ab) {
    my ($rc, $out) = $h->ab(n => $N, c => 50, path => '/static.txt',
                            timeout => 120);
    open my $fh, '>', $abfile;
    print $fh "rc=$rc\n$out";
    close $fh;
    POSIX::_exit(0);
}

my $until = time + 60;
sleep 0.02 while lines_now() < $N / 5 && time < $until;
my $at_kill = lines_now();
$rd->kill9;
my $t_kill = time;
sleep 0.7;
$rd->restart;
my $t_restart = time;
note(sprintf "killed Redis after %d records (%.2f s into the load), "
     . "restarted %.2f s later", $at_kill, $t_kill - $t0, $t_restart - $t_kill);

# Probe: a request sent now must reach Redis within seconds.
my ($resumed, $probe) = (undef, 0);
while (time < $t_restart + 15) {
    my $res = $h->get("/static.txt?probe=" . $probe++,
                      { 'X-Probe' => 1 });
    my ($line) = grep { /probe=\Q@{[$probe - 1]}\E"/ } do {
        sleep 0.05;
        my $t = do { local (@ARGV, $/) = ($h->records_path); <> } // '';
        split /(?<=\n)/, $t;
    };
    my $rec = $line && MTTest::decode_line($line);
    if ($rec && eval { defined $rd->cmd('GET', "memtrack:req:$rec->{request_id}") }) {
        $resumed = time - $t_restart;
        last;
    }
    sleep 0.1;
}
ok(defined $resumed, sprintf('records resume %.2f s after Redis restarts',
                             $resumed // -1));
ok(defined $resumed && $resumed < 5, 'within 5 s');

waitpid($ab, 0);
my $about = do { local (@ARGV, $/) = ($abfile); <> } // '';
my ($complete) = $about =~ /Complete requests:\s+(\d+)/;
my ($failed) = $about =~ /Failed requests:\s+(\d+)/;
my ($non2xx) = $about =~ /Non-2xx responses:\s+(\d+)/;
my ($p50) = $about =~ /^\s+50%\s+(\d+)/m;
my ($p99) = $about =~ /^\s+99%\s+(\d+)/m;
my ($max) = $about =~ /^\s+100%\s+(\d+)/m;
is($complete, $N, "ab completed $N requests") or diag($about);
is($failed, 0, 'no failed requests');
ok(!$non2xx, 'no non-2xx responses');
ok(defined $p99 && $p99 < 1000, "99% of requests within 1 s (p50 "
   . ($p50 // '?') . " ms, p99 " . ($p99 // '?') . " ms, max "
   . ($max // '?') . " ms)");

# Everything settles, then count: logged - stored = lost.
my $logged = 0;
my $stored = 0;
my $last = -1;
my $settle = time + 20;
while (time < $settle) {
    $logged = lines_now();
    $stored = scalar $rd->keys_like('memtrack:req:*');
    last if $stored == $last && $logged >= $N;
    $last = $stored;
    sleep 0.5;
}
my $dropped = $logged - $stored;
ok($logged >= $N, "every request logged ($logged)");
ok($dropped > 0, "records were dropped during the outage ($dropped)");
my @reports = $h->error_log =~ /memtrack: redis \S+: dropped (\d+) records/g;
ok(@reports, 'drops reported in the error log (' . scalar(@reports)
   . ' reports)');
like($h->error_log, qr/memtrack: redis \S+: connected again/,
     'reconnection logged');
diag(sprintf "outage figures: sent %d, failed %d, logged %d, stored %d, "
     . "dropped %d, resumed %.2f s after restart, p50 %s ms p99 %s ms "
     . "max %s ms", $N, $failed // -1, $logged, $stored, $dropped,
     $resumed // -1, $p50 // '?', $p99 // '?', $max // '?')
    if $ENV{TEST_VERBOSE} || $ENV{MT_FIGURES};
$h->stop;
is($h->sanitizer_log, '', 'no sanitizer reports');
undef $h;      # clean up now, not in global destruction
undef $rd;
done_testing();

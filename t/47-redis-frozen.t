#!/usr/bin/perl
# A frozen Redis (SIGSTOP: connections are accepted by the kernel but never
# answered) must not hold requests hostage either: the writer's command
# timeout breaks the connection, requests go on at full speed, and writing
# resumes once Redis runs again (SIGCONT).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTRedis;
use Test::More;
use Time::HiRes qw(sleep);
use MTClock qw(time);

for my $mpm (qw(event prefork)) {
    my $rd = MTRedis->start;
    my $h = MTTest->start(mpm => $mpm, conf => join("\n",
        "MemTrackRedis " . $rd->url,
        "MemTrackRedisTimeout 200 300",
        "MemTrackRedisQueue 100"));
    $h->get('/static.txt?warm') for 1 .. 5;
    kill 'STOP', $rd->pid;
    my ($rc, $out) = $h->ab(n => 2000, c => 20, path => '/static.txt');
    my ($failed) = $out =~ /Failed requests:\s+(\d+)/;
    my ($p99) = $out =~ /^\s+99%\s+(\d+)/m;
    sleep 1;    # longer than the command timeout
    kill 'CONT', $rd->pid;
    my $t_cont = time;
    is($failed, 0, "$mpm: no failed requests while Redis is frozen") or diag($out);
    ok(defined $p99 && $p99 < 500, "$mpm: p99 " . ($p99 // '?') . " ms");

    my ($resumed, $i);
    while (time < $t_cont + 15) {
        my $path = "/static.txt?after=" . $i++;
        $h->get($path);
        sleep 0.1;
        my ($line) = grep { index($_, "\"$path\"") >= 0 } $h->raw_lines;
        my $rec = $line && MTTest::decode_line($line);
        if ($rec && defined eval { $rd->cmd('GET', "memtrack:req:$rec->{request_id}") }) {
            $resumed = time - $t_cont;
            last;
        }
    }
    ok(defined $resumed, sprintf("$mpm: writing resumed %.2f s after SIGCONT",
                                 $resumed // -1));
    like($h->error_log, qr/memtrack: redis \S+: connection lost/,
         "$mpm: the command timeout broke the connection");
    like($h->error_log, qr/memtrack: redis \S+: dropped \d+ records/,
         "$mpm: drops reported");
    $h->stop;
    is($h->sanitizer_log, '', "$mpm: no sanitizer reports");
}
done_testing();

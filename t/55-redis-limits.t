#!/usr/bin/perl
# Redis limits (issue 9, item 7):
# - MemTrackTrustRequestId On in one vhost cannot let its clients overwrite
#   another vhost's record: a record never replaces an existing
#   memtrack:req:<id> (SET ... NX); the refused one is counted as dropped,
#   and still reaches the stream.
# - Nor can they squat: a record whose id the server made replaces what a
#   client wrote first under that id (SET ... EX, no NX).
# - A Redis that answers with far more than a status reply (here a real
#   redis-server whose MGET is renamed SET, so the writer's SET returns an
#   array holding a 64 MiB value) does not make the child buffer it: the
#   writer reads at most 64 KiB of a reply, lets the connection go and
#   counts the record lost. Before, the child grew by the reply (twice).
# - Nor does one of many small objects: a fake Redis answers arrays of 16
#   nested 7 deep (each array within the 16-element cap); the writer stops
#   at 64 objects of one reply, lets the connection go and says why. Before,
#   it built every object sent (4.5 MB of it: over a million objects).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTRedis;
use Test::More;
use Time::HiRes qw(sleep time);
use IO::Socket::INET;
use IO::Select;
use POSIX ();

sub peak_kb {
    my ($pid) = @_;
    return MTTest::_slurp("/proc/$pid/status") =~ /^VmHWM:\s+(\d+) kB/m ? $1 : undef;
}

# A fake Redis on a free loopback port, served by a child of ours (stopped
# by its pid; it ends by itself after 60 s): every connection, once it has
# sent something, gets "*16" nested 7 deep with integers at the bottom,
# about 4.5 MB of it (1.1 million objects for hiredis), and then nothing
# until it hangs up. Returns (port, pid).
sub bomb_server {
    my $l = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
        or die "listen: $!";
    my $port = $l->sockport;
    my $pid = fork() // die "fork: $!";
    return ($port, $pid) if $pid;
    $SIG{PIPE} = 'IGNORE';
    alarm 60;
    my $level = "*16\r\n" . (":1\r\n" x 16);             # depth 7
    $level = "*16\r\n" . ($level x 16) for 1 .. 4;          # depths 6 to 3
    my $bomb = "*16\r\n*16\r\n" . $level;                   # 1 and 2
    while (my $c = $l->accept) {
        my $sel = IO::Select->new($c);
        if ($sel->can_read(10) && sysread($c, my $cmd, 65536)) {
            my $off = 0;
            while ($off < length $bomb) {
                my $n = syswrite($c, $bomb, 65536, $off);
                last unless $n;
                $off += $n;
            }
            my $until = time + 5;            # until the client hangs up
            while (time < $until && $sel->can_read($until - time)) {
                last unless sysread($c, my $more, 65536);
            }
        }
        close $c;
    }
    POSIX::_exit(0);
}

subtest 'a trusted client id never overwrites another vhost\'s record' => sub {
    my $rd = MTRedis->start;
    my $h = MTTest->start(mpm => 'event', conf => join("\n",
        "MemTrackRedis " . $rd->url,
        '<VirtualHost 127.0.0.1:@PORT@>', '  ServerName other.test', '</VirtualHost>',
        '<VirtualHost 127.0.0.1:@PORT@>', '  ServerName trusted.test',
        '  MemTrackTrustRequestId On', '</VirtualHost>', ''));
    like($h->raw_request("GET /static.txt?victim=1 HTTP/1.0\r\nHost: other.test\r\n\r\n"),
         qr{^HTTP/1\.\d 200}, 'a request to other.test');
    my ($victim) = grep { $_ && $_->{url} =~ /victim/ } $h->wait_records(1, 10);
    my $id = $victim->{request_id};
    ok(MTTest::wait_for(sub { defined $rd->cmd('GET', "memtrack:req:$id") }, 5),
       "its record memtrack:req:$id is in Redis");
    like($h->raw_request("GET /static.txt?attack=1 HTTP/1.0\r\nHost: trusted.test\r\n"
                         . "X-Request-Id: $id\r\n\r\n"),
         qr{^HTTP/1\.\d 200}, 'a trusted.test client names that id');
    my ($attack) = grep { $_ && $_->{url} =~ /attack/ } $h->wait_records(2, 10);
    is($attack->{request_id}, $id, 'the trusted id is its request id (as configured)');
    MTTest::wait_for(sub { ($rd->cmd('XLEN', 'memtrack:stream') // 0) >= 2 }, 5);
    my $stored = MTTest::decode_line($rd->cmd('GET', "memtrack:req:$id") . "\n") || {};
    is($stored->{url}, '/static.txt?victim=1', 'the stored record is still the victim\'s');
    is($stored->{host}, 'other.test', 'of other.test');
    is($rd->cmd('XLEN', 'memtrack:stream'), 2, 'both records are in the stream');
    $h->stop;
    ok($h->error_log =~ /memtrack: redis \S+: dropped 1 records since the last report/,
       'the refused record is told as dropped');
    ok($h->error_log =~ /SET refused: the request id has a record already/, 'and why');
};

# The squat: a trusted.test client writes first under an id the server will
# make later (a mod_unique_id id can be predicted from one a response
# echoed). Here the id other.test's server makes is known in advance
# because its config makes it: SetEnvIf sets UNIQUE_ID in post_read_request
# before memtrack reads it (as mod_unique_id's own would be), so the record
# is one whose id the server made (id source unique_id). Before, its SET NX
# was refused and the squatter's record stayed under the key.
subtest 'a client id written first does not squat an id the server makes' => sub {
    my $rd = MTRedis->start;
    my $id = 'squatted-id-1';
    my $h = MTTest->start(mpm => 'event', modules => ['setenvif'], conf => join("\n",
        "MemTrackRedis " . $rd->url,
        '<VirtualHost 127.0.0.1:@PORT@>', '  ServerName other.test',
        "  SetEnvIf Request_Method . UNIQUE_ID=$id", '</VirtualHost>',
        '<VirtualHost 127.0.0.1:@PORT@>', '  ServerName trusted.test',
        '  MemTrackTrustRequestId On', '</VirtualHost>', ''));
    like($h->raw_request("GET /static.txt?squat=1 HTTP/1.0\r\nHost: trusted.test\r\n"
                         . "X-Request-Id: $id\r\n\r\n"),
         qr{^HTTP/1\.\d 200}, 'a trusted.test client names the id first');
    ok(MTTest::wait_for(sub { defined $rd->cmd('GET', "memtrack:req:$id") }, 5),
       "its record memtrack:req:$id is in Redis");
    like($h->raw_request("GET /static.txt?real=1 HTTP/1.0\r\nHost: other.test\r\n\r\n"),
         qr{^HTTP/1\.\d 200}, 'then a request to other.test');
    my ($real) = grep { $_ && $_->{url} =~ /real/ } $h->wait_records(2, 10);
    is($real->{request_id}, $id, 'whose server-made id is that one');
    MTTest::wait_for(sub { ($rd->cmd('XLEN', 'memtrack:stream') // 0) >= 2 }, 5);
    ok(MTTest::wait_for(sub {
           (MTTest::decode_line(($rd->cmd('GET', "memtrack:req:$id") // '') . "\n")
            || {})->{url} eq '/static.txt?real=1' }, 5),
       'the stored record is the server-made id\'s own, not the squatter\'s');
    my $stored = MTTest::decode_line($rd->cmd('GET', "memtrack:req:$id") . "\n") || {};
    is($stored->{host}, 'other.test', 'of other.test');
    my $ttl = $rd->cmd('TTL', "memtrack:req:$id");
    ok($ttl > 0 && $ttl <= 86400, "it expires as every record does (TTL $ttl)");
    is($rd->cmd('XLEN', 'memtrack:stream'), 2, 'both records are in the stream');
    $h->stop;
    unlike($h->error_log, qr/SET refused/, 'nothing was refused');
    unlike($h->error_log, qr/dropped \d+ records/, 'nothing was dropped');
};

subtest 'a reply far beyond a status reply is not buffered' => sub {
    my $rd = MTRedis->start(args => ['--rename-command', 'SET', 'REALSET',
                                     '--rename-command', 'MGET', 'SET']);
    is($rd->cmd('SETRANGE', 'EX', 64 * 1024 * 1024 - 1, 'x'), 64 * 1024 * 1024,
       'a 64 MiB value under key EX');
    my $h = MTTest->start(mpm => 'prefork', log => 'none',
                          mpm_conf => "StartServers 1\nMinSpareServers 1\n"
                                    . "MaxSpareServers 1\nMaxRequestWorkers 1\n",
                          conf => join("\n", 'MemTrackRedis ' . $rd->url,
                                       'MemTrackRedisStreamMaxLen 0', ''));
    my ($child) = $h->child_pids;
    sleep 0.5;                        # the writer has connected
    my $before = peak_kb($child);
    for my $i (1 .. 5) {
        $h->get("/static.txt?big=$i");
        sleep 0.3;
    }
    sleep 1;
    my $after = peak_kb($child);
    ok(defined $before && defined $after, "peak of child $child: $before kB -> $after kB");
    cmp_ok($after - $before, '<', 16 * 1024, 'the child\'s peak grew by less than 16 MiB '
           . '(the reply is 64 MiB)');
    $h->stop;
    ok($h->error_log =~ /reply too long for a status reply/, 'the log says why');
    is($h->sanitizer_log, '', 'no sanitizer reports');
};

subtest 'a reply of many small objects is not built' => sub {
    my ($port, $bomb) = bomb_server();
    my $h = MTTest->start(mpm => 'prefork', log => 'none',
                          mpm_conf => "StartServers 1\nMinSpareServers 1\n"
                                    . "MaxSpareServers 1\nMaxRequestWorkers 1\n",
                          conf => join("\n", "MemTrackRedis redis://127.0.0.1:$port/0",
                                       'MemTrackRedisStreamMaxLen 0', ''));
    my ($child) = $h->child_pids;
    sleep 0.5;                        # the writer has connected
    my $before = peak_kb($child);
    my ($ok, $slowest) = (0, 0);
    for my $i (1 .. 5) {
        my $t0 = time;
        $ok++ if $h->get("/static.txt?bomb=$i")->{status} == 200;
        $slowest = time - $t0 if time - $t0 > $slowest;
        sleep 0.3;
    }
    sleep 1.5;
    my $after = peak_kb($child);
    is($ok, 5, sprintf('the requests are answered (slowest %.3f s)', $slowest));
    cmp_ok($slowest, '<', 1, 'none waits for the writer');
    ok(defined $before && defined $after, "peak of child $child: $before kB -> $after kB");
    cmp_ok($after - $before, '<', 16 * 1024, 'the child\'s peak grew by less than 16 MiB '
           . '(the reply is over a million objects)');
    $h->stop;
    kill 'TERM', $bomb;
    waitpid($bomb, 0);
    like($h->error_log, qr/connection lost: reply too large for a status reply \(over 64 objects/,
         'the log says why');
    like($h->error_log, qr/memtrack: redis \S+: dropped \d+ records/,
         'the records are told as dropped');
    is($h->sanitizer_log, '', 'no sanitizer reports');
};

done_testing();

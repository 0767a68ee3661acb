#!/usr/bin/perl
# The Redis sink over a unix socket with ?db=N, and AUTH against a server
# with requirepass: the right password writes, a wrong one writes nothing,
# never fails a request, and never shows the password in the error log.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTRedis;
use Test::More;
use Time::HiRes qw(sleep);
use MTClock qw(time);

sub wait_for { return MTTest::wait_for(@_) }

sub ids_of {
    my ($h, $n) = @_;
    $h->wait_records($n, 10);
    return map { $_->{request_id} } grep { $_ } map { MTTest::decode_line($_) }
           $h->raw_lines;
}

# unix socket, database 2
{
    my $rd = MTRedis->start;
    my $h = MTTest->start(mpm => 'event',
        conf => "MemTrackRedis unix:" . $rd->sock . "?db=2\n");
    $h->get("/static.txt?u=$_") for 1 .. 5;
    my @ids = ids_of($h, 5);
    is(scalar @ids, 5, 'unix: 5 records logged');
    ok(wait_for(sub {
        $rd->cmd('SELECT', 2);
        my $x = $rd->cmd('XLEN', 'memtrack:stream');
        $rd->cmd('SELECT', 0);
        $x >= 5 }, 10), 'unix: 5 stream entries in db 2');
    $rd->cmd('SELECT', 2);
    my $found = grep { defined $rd->cmd('GET', "memtrack:req:$_") } @ids;
    is($found, 5, 'unix: every key is in db 2');
    $rd->cmd('SELECT', 0);
    is(scalar($rd->keys_like('memtrack:*')), 0, 'unix: nothing in db 0');
    $h->stop;
    is($h->sanitizer_log, '', 'unix: no sanitizer reports');
}

# requirepass
my $pw = 'Sekr1t-pa55-' . $$;
my $rd = MTRedis->start(password => $pw);
{
    my $h = MTTest->start(mpm => 'prefork',
        conf => "MemTrackRedis " . $rd->url(db => 1) . "\n");
    $h->get("/static.txt?a=$_") for 1 .. 5;
    my @ids = ids_of($h, 5);
    $rd->cmd('SELECT', 1);
    ok(wait_for(sub { (grep { defined $rd->cmd('GET', "memtrack:req:$_") }
                       @ids) == 5 }, 10),
       'right password: all 5 keys written in db 1');
    $rd->cmd('SELECT', 0);
    $h->stop;
    unlike($h->error_log, qr/\Q$pw\E/, 'right password: not in the error log');
}
{
    my $h = MTTest->start(mpm => 'event',
        conf => "MemTrackRedis " . $rd->url(password => "wrong-$pw") . "\n"
              . "MemTrackRedisQueue 3\n");
    my $fail = 0;
    for (1 .. 20) {
        my $res = $h->get("/static.txt?w=$_");
        $fail++ unless $res->{status} == 200;
    }
    is($fail, 0, 'wrong password: every request answered 200');
    is(scalar(ids_of($h, 20)), 20, 'wrong password: the log sink still works');
    ok(wait_for(sub { $h->error_log =~ /AUTH refused: WRONGPASS/ }, 5),
       'wrong password: AUTH refusal logged');
    ok(wait_for(sub { $h->error_log =~ /memtrack: redis \S+: dropped \d+ records/ }, 5),
       'wrong password: drops reported');
    is(scalar($rd->keys_like('memtrack:*')), 0, 'wrong password: nothing written');
    my $log = $h->error_log;
    unlike($log, qr/\Q$pw\E/, 'wrong password: no password in the error log');
    like($log, qr{redis://:\*\*\*\@127\.0\.0\.1}, 'the address is shown as :***@');
    $h->stop;
    is($h->sanitizer_log, '', 'no sanitizer reports');
}
{
    my $h = MTTest->start(mpm => 'event',
        conf => "MemTrackRedis " . $rd->url(password => undef) . "\n");
    my $ok = grep { $h->get("/static.txt?n=$_")->{status} == 200 } 1 .. 5;
    is($ok, 5, 'no password: requests fine');
    ok(wait_for(sub { $h->error_log =~ /SET refused: NOAUTH/ }, 5),
       'no password: NOAUTH logged');
    $h->stop;
}

done_testing();

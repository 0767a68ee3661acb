#!/usr/bin/perl
# Bad Redis directive values fail `apache2 -t` with a message naming the
# directive and the value, with any password shown as ***; good ones pass.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;

my $pw = 'Sekr1t-pw';
# [config text, directive, what the message must say]
my @bad = (
    ['MemTrackRedis 127.0.0.1:6379',            'MemTrackRedis', 'expected redis://'],
    ['MemTrackRedis redis://',                  'MemTrackRedis', 'missing host'],
    ['MemTrackRedis redis://127.0.0.1:0',       'MemTrackRedis', "bad port '0'"],
    ['MemTrackRedis redis://127.0.0.1:70000',   'MemTrackRedis', "bad port '70000'"],
    ['MemTrackRedis redis://127.0.0.1:6379/db', 'MemTrackRedis', "bad database 'db'"],
    ["MemTrackRedis redis://:$pw\@127.0.0.1:99999", 'MemTrackRedis',
     "in 'redis://***\@127.0.0.1:99999'"],
    ["MemTrackRedis redis://$pw\@127.0.0.1",    'MemTrackRedis', '[user]:password'],
    ['MemTrackRedis unix:run/redis.sock',       'MemTrackRedis', 'absolute'],
    ["MemTrackRedis unix:/r.sock?db=1&pass=$pw", 'MemTrackRedis', "unknown parameter 'pass'"],
    ['MemTrackRedis unix:/r.sock?db=-1',        'MemTrackRedis', "bad database '-1'"],
    ['MemTrackRedisTTL 0',                      'MemTrackRedisTTL', "'0'"],
    ['MemTrackRedisTTL 1d',                     'MemTrackRedisTTL', "'1d'"],
    ['MemTrackRedisTTL 999999999999',           'MemTrackRedisTTL', "'999999999999'"],
    ['MemTrackRedisStreamMaxLen -1',            'MemTrackRedisStreamMaxLen', "'-1'"],
    ['MemTrackRedisStreamMaxLen lots',          'MemTrackRedisStreamMaxLen', "'lots'"],
    ['MemTrackRedisQueue 0',                    'MemTrackRedisQueue', "'0'"],
    ['MemTrackRedisQueue 10M',                  'MemTrackRedisQueue', "'10M'"],
    ['MemTrackRedisTimeout 0',                  'MemTrackRedisTimeout', "'0'"],
    ['MemTrackRedisTimeout 500 never',          'MemTrackRedisTimeout', "'never'"],
    ['MemTrackRedisTimeout 1 2 3',              'MemTrackRedisTimeout', 'MemTrackRedisTimeout'],
);
for my $b (@bad) {
    my ($conf, $dir, $want) = @$b;
    my ($rc, $out) = MTTest::configtest(conf => "$conf\n");
    (my $shown = $conf) =~ s/\Q$pw\E/PW/g;
    isnt($rc, 0, "refused: $shown");
    like($out, qr/\Q$dir\E/, "  names $dir") or diag($out);
    like($out, qr/\Q$want\E/, "  says $want") or diag($out);
    unlike($out, qr/\Q$pw\E/, '  never shows the password');
}

my @good = (
    "MemTrackRedis redis://127.0.0.1:6379\n",
    "MemTrackRedis redis://:$pw\@localhost/15\nMemTrackRedisTTL 3600\n",
    "MemTrackRedis redis://app:$pw\@[::1]:6380/2\n",
    "MemTrackRedis unix:/run/redis/redis.sock?db=3&password=$pw\n",
    "MemTrackRedis Off\n",
    "MemTrackRedis redis://127.0.0.1\nMemTrackRedisStreamMaxLen 0\n"
      . "MemTrackRedisQueue 50000\nMemTrackRedisTimeout 250 2000\n",
    "MemTrackRedis redis://127.0.0.1\n<VirtualHost 127.0.0.1:80>\n"
      . "MemTrackRedisTTL 60\n</VirtualHost>\n<VirtualHost 127.0.0.1:81>\n"
      . "MemTrackRedis Off\n</VirtualHost>\n",
);
for my $conf (@good) {
    my ($rc, $out) = MTTest::configtest(conf => $conf);
    (my $shown = $conf) =~ s/\Q$pw\E/PW/g;
    $shown =~ s/\n/; /g;
    is($rc, 0, "accepted: $shown") or diag($out);
}

done_testing();

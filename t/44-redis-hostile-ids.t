#!/usr/bin/perl
# Hostile request ids never create odd keys: with MemTrackTrustRequestId On a
# client's safe X-Request-Id names the key; anything else (spaces, control
# bytes, glob and hash-tag characters, non-ASCII, over-long) is replaced by a
# fresh id, and the Redis core refuses unsafe ids again on its own. Every key
# in Redis matches memtrack:req:[A-Za-z0-9@_.:+/=-]{1,128} or is the stream.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTRedis;
use Test::More;
use Time::HiRes qw(sleep);
use MTClock qw(time);

my $rd = MTRedis->start;
my $h = MTTest->start(mpm => 'event', conf => join("\n",
    "MemTrackRedis " . $rd->url,
    "MemTrackTrustRequestId On"));

my @hostile = ('a b', '*', '{tag}x',
               'x' x 129, '', 'a"b', "a'b", 'a\\b', 'a;b', 'a,b', '?',
               '[a]', 'a%0d%0aSET', '<script>', 'a|b', '$1', '#x', '~x');
# Safe ids, even ones that look like our own key names, stay under the
# memtrack:req: prefix and cannot touch the stream.
my @safe = ('trusted-1', 'lb@host:1/2+3=4_5.6', 'x' x 128, 'memtrack:stream',
            '../../etc');

my $sent = 0;
for my $id (@hostile, @safe) {
    my $res = $h->get("/static.txt?n=" . $sent++, { 'X-Request-Id' => $id });
    is($res->{status}, 200, "request with X-Request-Id '"
       . (length $id > 20 ? substr($id, 0, 20) . '...' : $id) . "' served");
}
# Bytes HTTP::Tiny will not send: control characters in the header.
for my $bytes ("ctl\x01id", "tab\tid", "del\x7fid", "caf\xc3\xa9",
               "lat\xe9") {
    my $raw = "GET /static.txt?n=" . $sent++ . " HTTP/1.0\r\n"
            . "Host: 127.0.0.1\r\nX-Request-Id: $bytes\r\n\r\n";
    like($h->raw_request($raw), qr{^HTTP/1\.[01] [24]\d\d}, 'raw request served');
}

my @recs = grep { $_ } $h->wait_records(@hostile + @safe, 10);
my $until = time + 10;
sleep 0.1 while $rd->cmd('XLEN', 'memtrack:stream') < @recs && time < $until;
my @keys = $rd->keys_like('*');
my @odd = grep { $_ ne 'memtrack:stream'
                 && !m{\Amemtrack:req:[A-Za-z0-9\@_.:+/=-]{1,128}\z} } @keys;
is(scalar @odd, 0, 'no odd keys') or diag(join "\n", map { "'$_'" } @odd);
is(scalar @keys, @recs + 1, 'one key per record, plus the stream');
for my $id (@safe) {
    ok(defined $rd->cmd('GET', "memtrack:req:$id"), "trusted safe id "
       . substr($id, 0, 20) . " names its key");
}
is($rd->cmd('TYPE', 'memtrack:stream'), 'stream', 'memtrack:stream is still a stream');
my %ids = map { $_->{request_id} => 1 } @recs;
ok(!$ids{$_}, "hostile id '" . substr($_, 0, 20) . "' not used")
    for grep { length } @hostile;
$h->stop;
is($h->sanitizer_log, '', 'no sanitizer reports');
undef $h;
undef $rd;
done_testing();

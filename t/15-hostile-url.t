#!/usr/bin/perl
# Hostile URLs cannot break a record line: quotes, backslashes, control bytes
# (as %-escapes and raw), invalid UTF-8, and a 10 KB URL. Every line must be
# one valid JSON object in valid UTF-8, no longer than 4096 bytes, and a cut
# URL ends in the marker "...[cut]". Raw bytes are sent over a socket with
# HttpProtocolOptions Unsafe so that httpd lets them through to the module.
# httpd refuses raw control bytes in the request line even then (400): those
# requests still reach log_transaction, and whatever the module writes for
# them must be valid too.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;
use Encode ();

my $CUT = '...[cut]';

for my $mpm (qw(event prefork)) {
    my $h = MTTest->start(mpm => $mpm, conf => <<'EOC');
HttpProtocolOptions Unsafe
LimitRequestLine 20000
LimitRequestFieldSize 20000
EOC
    my @paths = (
        '/static.txt?q=%22quoted%22&b=%5C%5Cback&c=%00%01%1f%7f%0a%0d',
        qq{/static.txt?raw="quote"&bs=\\back\\slash&end=\\},
        "/static.txt?ctl=\x01\x02\x1b[31m\x7f",
        "/static.txt?utf8=caf\xc3\xa9&snow=\xe2\x98\x83",
        "/static.txt?bad=\xff\xfe\xc3\x28\xe2\x82&over=\xc0\xaf",
        "/static.txt?nul=%00&json=%7B%22a%22%3A1%7D&raw={\"a\":[1,2]}",
        '/static.txt?long=' . ('A' x 10_240),
        '/static.txt?longq=' . ('"\\' x 3000),
        '/static.txt?longu=' . ("\xe2\x98\x83" x 3000),
        '/static.txt?longbad=' . ("\xff" x 6000),
    );
    my %status;
    for my $i (0 .. $#paths) {
        my $resp = $h->raw_request("GET $paths[$i] HTTP/1.0\r\n"
                                   . "Host: 127.0.0.1\r\n\r\n");
        my ($st) = $resp =~ m{^HTTP/1\.\d (\d{3})};
        $status{$i} = $st // 0;
        note("path $i: status " . ($st // 'none'));
    }
    # A raw, hostile Host and User-Agent too.
    $h->raw_request("GET /static.txt?hosthdr=1 HTTP/1.1\r\n"
                    . "Host: evil\"\\host\r\nUser-Agent: \x01\"\\\r\n"
                    . "Connection: close\r\n\r\n");
    my $served = grep { $_ == 200 } values %status;
    is($status{1}, 200, "$mpm: raw quotes and backslashes accepted by httpd");
    cmp_ok($served, '>=', 9, "$mpm: httpd served most hostile URLs ($served)");

    $h->wait_records($served, 10);
    my @lines = $h->raw_lines;
    cmp_ok(scalar @lines, '>=', $served, "$mpm: a record per served request");
    my @recs;
    for my $i (0 .. $#lines) {
        my $l = $lines[$i];
        my $r = MTTest::decode_line($l);
        ok($r, "$mpm: line $i is valid UTF-8 JSON")
            or diag(substr($l, 0, 300));
        ok(length($l) <= 4096, "$mpm: line $i is at most 4096 bytes ("
           . length($l) . ')');
        ok($l =~ /\A[^\x00-\x1f]*\n\z/,
           "$mpm: line $i has no raw control bytes");
        my @p = MTTest::record_problems($r, $l);
        ok(!@p, "$mpm: line $i is a valid record") or diag("@p");
        push @recs, $r if $r;
    }

    # Round trips: what can be represented exactly is represented exactly.
    my %url = map { ($_->{url} => $_) } @recs;
    ok($url{$paths[0]}, "$mpm: %-escaped URL kept as sent");
    ok($url{$paths[1]}, "$mpm: raw quote, backslash and tab round-trip")
        if $status{1} == 200;
    ok($url{"/static.txt?ctl=\x01\x02\x1b[31m\x7f"},
       "$mpm: raw control bytes round-trip as JSON escapes")
        if $status{2} == 200;
    my $utf = Encode::decode('UTF-8', $paths[3]);
    ok($url{$utf}, "$mpm: valid UTF-8 round-trips") if $status{3} == 200;
    my ($bad) = grep { $_->{url} =~ /^\/static\.txt\?bad=/ } @recs;
    ok($bad, "$mpm: record for the invalid UTF-8 URL") if $status{4} == 200;

    for my $key (qw(long longq longu longbad)) {
        my ($r) = grep { $_->{url} =~ /^\/static\.txt\?\Q$key\E=/ } @recs;
        my ($i) = grep { $paths[$_] =~ /\?\Q$key\E=/ } 0 .. $#paths;
        next unless $status{$i} == 200;
        ok($r, "$mpm: record for the long URL ($key)") or next;
        like($r->{url}, qr/\Q$CUT\E\z/, "$mpm: $key url ends in the cut marker");
        cmp_ok(length(Encode::encode('UTF-8', $r->{url})), '<', 4096,
               "$mpm: $key url was cut");
        is($r->{method}, 'GET', "$mpm: $key: other fields intact");
        is($r->{status}, 200, "$mpm: $key: status intact");
    }
    $h->stop;
    is($h->sanitizer_log, "", "$mpm: no sanitizer report");
}

done_testing();

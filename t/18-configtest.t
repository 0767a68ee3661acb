#!/usr/bin/perl
# Every bad directive value fails `apache2 -t` with a message that names the
# directive and the value; good values pass.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;

my ($rc, $out) = MTTest::configtest(conf => "MemTrack On\n");
is($rc, 0, 'baseline config passes') or diag($out);
like($out, qr/Syntax OK/, 'baseline says Syntax OK');

# [config text, directive, value as it must appear in the message]
my @bad = (
    ['MemTrack maybe',                     'MemTrack', 'maybe'],
    ['MemTrack 1x',                        'MemTrack', '1x'],
    ['MemTrackThreshold 20X',              'MemTrackThreshold', '20X'],
    ['MemTrackThreshold -1',               'MemTrackThreshold', '-1'],
    ['MemTrackThreshold -20M',             'MemTrackThreshold', '-20M'],
    ['MemTrackThreshold ""',               'MemTrackThreshold', ''],
    ['MemTrackThreshold 20MM',             'MemTrackThreshold', '20MM'],
    ['MemTrackThreshold 1.5M',             'MemTrackThreshold', '1.5M'],
    ['MemTrackThreshold 99999999999999G',  'MemTrackThreshold', '99999999999999G'],
    ['MemTrackThreshold 99999999999999999999', 'MemTrackThreshold', '99999999999999999999'],
    ['MemTrackTarget foo',                 'MemTrackTarget', 'foo'],
    ['MemTrackTarget ""',                  'MemTrackTarget', ''],
    ['MemTrackSampleRate 0',               'MemTrackSampleRate', '0'],
    ['MemTrackSampleRate abc',             'MemTrackSampleRate', 'abc'],
    ['MemTrackSampleRate -3',              'MemTrackSampleRate', '-3'],
    ['MemTrackSampleRate 2.5',             'MemTrackSampleRate', '2.5'],
    ['MemTrackSampleRate 10x',             'MemTrackSampleRate', '10x'],
    ['MemTrackSampleRate 99999999999',     'MemTrackSampleRate', '99999999999'],
    ['MemTrackLog ""',                     'MemTrackLog', ''],
    ['MemTrackLog "|"',                    'MemTrackLog', '|'],
    ['MemTrackLog /nonexistent-memtrack-dir/records.jsonl', 'MemTrackLog',
     '/nonexistent-memtrack-dir/records.jsonl'],
    ['MemTrackTrustRequestId maybe',       'MemTrackTrustRequestId', 'maybe'],
    ['MemTrackRequestIdHeader "X Bad"',    'MemTrackRequestIdHeader', 'X Bad'],
    ['MemTrackRequestIdHeader ""',         'MemTrackRequestIdHeader', ''],
);
for my $b (@bad) {
    my ($line, $dir, $val) = @$b;
    my ($c, $o) = MTTest::configtest(conf => "MemTrack On\n$line\n");
    # the config's path and line number must not count as naming the value
    $o =~ s/Syntax error on line \d+ of \S+:\s*//g;
    $o =~ s{\S*\Q${\ MTTmp::base()}\E/\S*}{<path>}g;
    isnt($c, 0, "configtest fails: $line");
    like($o, qr/\Q$dir\E/, "message names $dir") or diag($o);
    if (length $val) {
        like($o, qr/\Q$val\E/, "message names the value '$val'") or diag($o);
    } else {
        # httpd itself refuses "" for a one-argument directive with
        # "<directive> takes one argument", before the module sees it
        like($o, qr/(''|""|empty|missing|nothing|no value|takes one argument)/i,
             'message says the value is empty') or diag($o);
    }
    unlike($o, qr/Syntax OK/, "no Syntax OK for $line");
}

# Wrong context: server-only directives inside <Location>.
for my $line ('MemTrackLog /tmp/x.jsonl', 'MemTrackTrustRequestId On') {
    my ($c, $o) = MTTest::configtest(conf => "<Location /x>\n  $line\n</Location>\n");
    isnt($c, 0, "configtest fails: $line in <Location>");
    like($o, qr/not allowed/, 'message says not allowed here') or diag($o);
}

# Good values pass.
my @good = ('MemTrack Off', 'MemTrack on', 'MemTrackThreshold 20M',
            'MemTrackThreshold 512K', 'MemTrackThreshold 1G',
            'MemTrackThreshold 4096', 'MemTrackThreshold 20m',
            'MemTrackThreshold 0', 'MemTrackTarget self',
            'MemTrackTarget backend', 'MemTrackTarget auto',
            'MemTrackSampleRate 1', 'MemTrackSampleRate 1000',
            'MemTrackTrustRequestId On', 'MemTrackTrustRequestId Off',
            'MemTrackRequestIdHeader X-Trace-Id',
            'MemTrackLog "|/bin/cat >/dev/null"',
            "<Location /a>\n  MemTrack Off\n  MemTrackThreshold 1M\n"
            . "  MemTrackSampleRate 5\n  MemTrackTarget self\n</Location>",
            "<VirtualHost 127.0.0.1:1>\n  MemTrack On\n"
            . "  MemTrackThreshold 2M\n</VirtualHost>");
for my $line (@good) {
    my ($c, $o) = MTTest::configtest(conf => "MemTrack On\n$line\n");
    is($c, 0, "good: $line") or diag($o);
}

done_testing();

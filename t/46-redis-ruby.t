#!/usr/bin/perl
# The README's Ruby example (docs/redis_stream.rb) reads the records the
# module put on memtrack:stream; `redis-cli GET memtrack:req:<id>` gives a
# request's record.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTRedis;
use Test::More;

plan skip_all => 'ruby with the redis gem (ruby-redis) is not installed'
    if system('ruby -e "require %q(redis)" >/dev/null 2>&1') != 0;

my $rd = MTRedis->start;
my $h = MTTest->start(mpm => 'event', conf => "MemTrackRedis " . $rd->url . "\n");
$h->get("/static.txt?ruby=$_") for 1 .. 5;
my @recs = grep { $_ } $h->wait_records(5, 10);
is(scalar @recs, 5, '5 records');

my $script = "$FindBin::Bin/../docs/redis_stream.rb";
my $out = `REDIS_URL='${\ $rd->url}' FROM=0 COUNT=5 timeout 30 ruby '$script' 2>&1`;
is($? >> 8, 0, 'the example exits after COUNT records') or diag($out);
my @lines = split /\n/, $out;
is(scalar @lines, 5, 'one line per record') or diag($out);
for my $rec (@recs) {
    ok((grep { index($_, $rec->{url}) >= 0 && index($_, $rec->{request_id}) >= 0 } @lines),
       "line for $rec->{url}");
}

my $id = $recs[0]{request_id};
my $cli = `redis-cli -p ${\ $rd->port} GET memtrack:req:$id`;
chomp $cli;
my ($line) = grep { index($_, "\"$id\"") >= 0 } $h->raw_lines;
chomp $line;
is($cli, $line, 'redis-cli GET memtrack:req:<id> prints the record');
$h->stop;
undef $h;
undef $rd;
done_testing();

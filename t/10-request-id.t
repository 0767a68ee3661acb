#!/usr/bin/perl
# Request ids: the module's own id by default (safe characters, unique); the
# notes memtrack_request_id / memtrack_growth usable in a LogFormat and equal
# to the record; mod_unique_id's id when that module is loaded; a client's
# X-Request-Id ignored unless MemTrackTrustRequestId On.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;
use Time::HiRes qw(sleep);

my $SAFE = qr/\A[A-Za-z0-9\@_.:+\/=-]{1,128}\z/;
my $LOG = qq{LogFormat "%{memtrack_request_id}n %{memtrack_growth}n %{UNIQUE_ID}e %U%q" mt\n}
        . qq{CustomLog "\@DIR\@/access.log" mt\n};

# url => [request_id note, growth note, UNIQUE_ID]
sub access_log {
    my ($h) = @_;
    sleep 0.3;
    open my $fh, '<', $h->dir . '/access.log' or return {};
    my %by;
    while (my $l = <$fh>) {
        chomp $l;
        my ($id, $g, $u, $url) = split / /, $l, 4;
        $by{$url} = [$id, $g, $u];
    }
    return \%by;
}

sub by_url { return { map { ($_->{url} => $_) } grep { $_ } @_ } }

# 1. Default: own ids; notes in the access log; client header ignored.
for my $mpm (qw(event prefork)) {
    # an ErrorDocument's internal redirect: mod_log_config logs the notes
    # of the last request of the chain
    my $h = MTTest->start(mpm => $mpm, conf => $LOG . "ErrorDocument 404 /err.html\n");
    for my $i (1 .. 5) {
        $h->get("/static.txt?n=$i");
    }
    $h->get('/static.txt?client=1', { 'X-Request-Id' => 'client-chosen-id-1' });
    $h->get('/grow?mb=2');
    $h->get('/nothing-here.txt');
    $h->get('/grow?mb=2&status=404');
    my $recs = by_url($h->wait_records(9, 10));
    my $acc = access_log($h);
    my %seen;
    for my $url ((map { "/static.txt?n=$_" } 1 .. 5), '/static.txt?client=1',
                 '/grow?mb=2', '/nothing-here.txt', '/grow?mb=2&status=404') {
        my $r = $recs->{$url};
        ok($r, "$mpm: record for $url") or next;
        like($r->{request_id}, $SAFE, "$mpm: id is safe: $r->{request_id}");
        ok(!$seen{ $r->{request_id} }++, "$mpm: id unique");
        # %q is the last request's: the error page's, which has none
        my $a = $acc->{ $url eq '/grow?mb=2&status=404' ? '/grow' : $url };
        ok($a, "$mpm: access log line for $url") or next;
        is($a->[0], $r->{request_id},
           "$mpm: %{memtrack_request_id}n equals the record's request_id");
        is($a->[1], $r->{memory_growth},
           "$mpm: %{memtrack_growth}n equals the record's memory_growth");
    }
    my $c = $recs->{'/static.txt?client=1'};
    isnt($c && $c->{request_id}, 'client-chosen-id-1',
         "$mpm: client X-Request-Id ignored by default");
    my $g = $recs->{'/grow?mb=2'};
    ok($g && $g->{memory_growth} >= 1024 * 1024,
       "$mpm: the growth note is a real number of bytes");
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");
}

# 2. mod_unique_id loaded: its id is the request id.
{
    my $h = MTTest->start(modules => ['unique_id'], conf => $LOG);
    $h->get("/static.txt?u=$_") for 1 .. 3;
    my $recs = by_url($h->wait_records(3, 10));
    my $acc = access_log($h);
    for my $i (1 .. 3) {
        my ($r, $a) = ($recs->{"/static.txt?u=$i"}, $acc->{"/static.txt?u=$i"});
        ok($r && $a, "unique_id: record and access line $i") or next;
        isnt($a->[2], '-', 'unique_id: UNIQUE_ID set');
        is($r->{request_id}, $a->[2], "unique_id: request_id is mod_unique_id's id");
        is($a->[0], $a->[2], 'unique_id: note equals UNIQUE_ID');
    }
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");
}

# 3. Trusted: the client's (load balancer's) id is used when safe.
for my $mpm (qw(event prefork)) {
    my $h = MTTest->start(mpm => $mpm, conf => "MemTrackTrustRequestId On\n$LOG");
    $h->get('/static.txt?t=1', { 'X-Request-Id' => 'lb-0001-abc' });
    $h->get('/static.txt?t=2');
    $h->get('/static.txt?t=3', { 'X-Request-Id' => 'bad id with spaces"' });
    $h->get('/static.txt?t=4', { 'X-Request-Id' => 'x' x 1000 });
    my $recs = by_url($h->wait_records(4, 10));
    my $acc = access_log($h);
    is($recs->{'/static.txt?t=1'}{request_id}, 'lb-0001-abc',
       "$mpm: trusted X-Request-Id used");
    is($acc->{'/static.txt?t=1'}[0], 'lb-0001-abc', "$mpm: and in the note");
    like($recs->{'/static.txt?t=2'}{request_id} // '', $SAFE,
         "$mpm: no header: own id");
    for my $t (3, 4) {
        my $id = $recs->{"/static.txt?t=$t"}{request_id} // '';
        like($id, $SAFE, "$mpm: unsafe header value $t not used as is");
    }
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");
}

# 4. Trusted header with another name.
{
    my $h = MTTest->start(conf => "MemTrackTrustRequestId On\n"
                                . "MemTrackRequestIdHeader X-Trace-Id\n");
    $h->get('/static.txt?h=1', { 'X-Trace-Id' => 'trace-42' });
    $h->get('/static.txt?h=2', { 'X-Request-Id' => 'not-this-one' });
    my $recs = by_url($h->wait_records(2, 10));
    is($recs->{'/static.txt?h=1'}{request_id}, 'trace-42',
       'MemTrackRequestIdHeader X-Trace-Id is used');
    isnt($recs->{'/static.txt?h=2'}{request_id} // '', 'not-this-one',
         'X-Request-Id not used when another header is configured');
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");
}

done_testing();

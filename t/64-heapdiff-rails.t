#!/usr/bin/perl
# The heap diff on a real Rails app: Passenger, two processes, the
# companion, under a mixed concurrent load of a leak (HeapController#hoard
# keeps one 20,000-byte string per request, allocated at a known line), a
# one-time load (#bloat), garbage (#churn) and a flat endpoint
# (ItemsController#index). With MemTrackHeapDiff On, the leak's verdict
# starts an attempt by itself: three snapshots in one process, spaced by
# MemTrackHeapDiffRequests requests of the endpoint there, then the diff.
# The result names the hoard line first, with as many strings as hoard
# requests that process served between snapshots 1 and 2; bloat and churn
# are not above it. Then a diff on demand (a POST to the status page) of
# the flat endpoint in the other process, under a load without the leak:
# (nearly) nothing kept; it is of the same app within
# MemTrackHeapDiffInterval, so it is refused until forced. No request fails, nothing is served from the
# snapshot directory, the snapshots are gone afterwards.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTPassenger;
use MTAnalysis;
use MTClock qw(time);
use File::Path qw(make_path);
use Test::More;

plan skip_all => MTPassenger::why_not() if MTPassenger::why_not();

my $N = 60;                        # MemTrackHeapDiffRequests
my $HOARD = 'HeapController#hoard';
my $ctl = "$MTTest::ROOT/t/apps/rails/app/controllers/heap_controller.rb";
my %LINES;                         # marker => lines of heap_controller.rb
{
    open my $fh, '<', $ctl or die "$ctl: $!";
    while (<$fh>) { push @{ $LINES{$1} }, $. if /# (HOARD|BLOAT|CHURN)\b/ }
}
my $HOARD_LINE = $LINES{HOARD}[0];
ok($HOARD_LINE && $LINES{BLOAT} && @{ $LINES{CHURN} } == 2,
   "the sites in heap_controller.rb: hoard $HOARD_LINE, bloat @{ $LINES{BLOAT} }, "
   . "churn @{ $LINES{CHURN} }");

my $h = MTPassenger->start(app => 'rails', procs => 2,
    env => { MEMTRACK_PROBE_BUDGET => '0.25', MEMTRACK_HEAP_INTERVAL => '0' },
    conf => "MemTrackProbeRate 10\nMemTrackProbeMax 20\n"
          . "MemTrackHeapDiff On\n"
          . "MemTrackHeapDiffDir \"\@DIR\@/heap\"\n"
          . "MemTrackHeapDiffRequests $N\n"
          . MTAnalysis::status_location());
my $heap_dir = $h->dir . '/heap';
make_path($heap_dir);
chmod 0700, $heap_dir;
if ($> == 0) {
    my (undef, undef, $uid, $gid) = getpwnam('www-data');
    chown $uid, $gid, $heap_dir;
}
my @pids = MTPassenger::warm($h, procs => 2);
is(scalar @pids, 2, 'two app processes');

sub heap_diff { return MTAnalysis::status($h)->{heap_diff} }

sub result_for {
    my ($endpoint, $trigger) = @_;
    my $hd = heap_diff() or return;
    my ($r) = grep { $_->{endpoint} eq $endpoint && $_->{trigger} eq $trigger
                     && $_->{outcome} ne 'running' } @{ $hd->{results} };
    return $r;
}

# ---- the leak finds itself ----

my %MIX = ('/hoard' => 20, '/bloat' => 10, '/churn' => 20, '/items' => 50);
my $result;
my $bad = 0;
my $sent = 0;
while (!$result && $sent < 15000) {
    $bad += MTAnalysis::load($h, mix => \%MIX, requests => 300, clients => 4,
                             batch => 300, seed => $sent + 1);
    $sent += 300;
    $result = result_for($HOARD, 'verdict');
}
is($bad, 0, "every request answered ($sent sent)");
ok($result, "an attempt started by the leak verdict ended after $sent requests")
    or diag(explain(heap_diff()), substr($h->error_log, -3000));
my $v = MTAnalysis::verdicts($h)->{$HOARD} || {};
is($v->{verdict}, 'leak', 'hoard is a leak');
like($v->{confidence} // '', qr/^(medium|high)$/, 'with medium or high confidence');

$result //= {};
is($result->{outcome}, 'done', 'the attempt is done') or diag($result->{message});
my $pid = $result->{pid} // 0;
ok((grep { $_ == $pid } @pids), "in one of the app processes ($pid)");
is(scalar @{ $result->{snapshots} || [] }, 3, 'three snapshots');

# The records say which requests took them: all three in that one process.
my @snap = grep { $_->{heap_snapshot} } $h->records;
is_deeply([map { $_->{heap_snapshot} } @snap], [1, 2, 3],
          'records: snapshots 1, 2, 3, once each, in order');
is_deeply([map { $_->{pid} } @snap], [$pid, $pid, $pid], 'all in that process');

# What the records say that process served between 1 and 2 (the request that
# took a snapshot ran after it). A Passenger process serves one request at a
# time, so its records in order of their start are the order it served them;
# the log's own order is not (each httpd child's writer thread writes its
# records in batches, up to 50 ms apart from the other children's).
my @recs = sort { $a->{time} cmp $b->{time} }
           grep { ($_->{pid} // 0) == $pid } $h->records;
my ($i1) = grep { ($recs[$_]{heap_snapshot} // 0) == 1 } 0 .. $#recs;
my ($i2) = grep { ($recs[$_]{heap_snapshot} // 0) == 2 } 0 .. $#recs;
my $between = grep { $_->{pid} == $pid && ($_->{endpoint} // '') eq $HOARD }
              @recs[$i1 .. $i2 - 1];
# The module counts a request when its httpd child logs it: a request at the
# boundary can count on either side.
cmp_ok(abs(($result->{requests_counted}[0] // -9) - $between), '<=', 1,
       "the module counted $result->{requests_counted}[0] hoard requests of that "
       . "process between 1 and 2; the records say $between");
cmp_ok($between, '>=', $N, "at least MemTrackHeapDiffRequests ($N)");

my $diff = $result->{diff} || {};
my @top = @{ $diff->{top} || [] };
is($diff->{mode}, 'generations', 'diffed by generations');
my $first = $top[0] || {};
is($first->{site}, "app/controllers/heap_controller.rb:$HOARD_LINE",
   'the first row is the hoard line, relative to the app root')
    or diag(explain([@top[0 .. 4]]));
is($first->{class}, 'String', 'String objects');
note(join "\n", 'the first rows:', map {
    sprintf '  %d. %s %s %d objects %d bytes', $_->{rank}, $_->{class} // $_->{type},
            $_->{site} // '(untraced)', $_->{count}, $_->{bytes} } @top[0 .. ($#top < 2 ? $#top : 2)]);
cmp_ok(abs(($first->{count} // 0) - $between), '<=', 2,
       "$first->{count} of them: the $between hoard requests between 1 and 2");
cmp_ok($first->{bytes} // 0, '>=', 20_000 * ($first->{count} // 0),
       'at least 20,000 bytes each');
cmp_ok($first->{generations} // 0, '>', 1, 'born over several GC generations');
for my $who (qw(BLOAT CHURN)) {
    my %at = map { $_ => 1 } @{ $LINES{$who} };
    my @rows = grep { ($_->{file} // '') =~ /heap_controller\.rb$/
                      && $at{ $_->{line} // 0 } } @top;
    ok(!grep({ $_->{rank} == 1 } @rows), lc($who) . " is not ranked above the leak");
    ok(!grep({ $_->{count} >= 10 } @rows), lc($who) . ' kept (nearly) nothing '
       . 'between the snapshots') or diag(explain(\@rows));
}

# The result beside the verdict, on the page and in ?json.
my $ep = MTAnalysis::verdicts($h)->{$HOARD} || {};
is($ep->{heap_diff}{token}, $result->{token}, '?json: the result beside the verdict');
my $page = MTAnalysis::status($h, '')->{content};
like($page, qr{heap diff</a> \(done\): kept most: <span class="name">String}
     , 'HTML: beside the verdict');
like($page, qr{app/controllers/heap_controller\.rb:$HOARD_LINE}, 'HTML: the site');

# Files: the result kept, the snapshots gone, nothing served from there.
my $file = "$heap_dir/memtrack-heapdiff-$result->{token}.json";
ok(-f $file, 'the result document beside the snapshots');
note("the result file: " . (-s $file // 0) . " bytes");
my @left = glob("$heap_dir/memtrack-heap-*");
is_deeply(\@left, [], 'the snapshots are removed');
like($h->error_log, qr/memtrack: heap diff of \Q$HOARD\E in process $pid: kept/,
     'the error log has the summary');

# ---- on demand: a process with no leak ----

my $other = (grep { $_ != $pid } @pids)[0];
my $hd = heap_diff();
my $post = $h->request('POST', '/memtrack-status', {
    'Content-Type' => 'application/x-www-form-urlencoded' },
    "action=start&endpoint=ItemsController%23index&pid=$other"
    . "&confirm=$hd->{confirm}");
is($post->{status}, 409, 'POST start on demand within the app\'s interval: 409')
    or diag($post->{content});
like($post->{content}, qr/had a heap diff \d+ s ago; MemTrackHeapDiffInterval is 3600 s \(force=1 starts one anyway\)/,
     'the interval, and how to force');
$post = $h->request('POST', '/memtrack-status', {
    'Content-Type' => 'application/x-www-form-urlencoded' },
    "action=start&endpoint=ItemsController%23index&pid=$other&force=1"
    . "&confirm=" . heap_diff()->{confirm});
is($post->{status}, 202, 'POST start on demand, force=1: 202') or diag($post->{content});
my %FLAT = ('/items' => 70, '/churn' => 30);
my $demand;
$sent = 0;
while (!$demand && $sent < 6000) {
    $bad += MTAnalysis::load($h, mix => \%FLAT, requests => 200, clients => 4,
                             batch => 200, seed => 5000 + $sent);
    $sent += 200;
    $demand = result_for('ItemsController#index', 'demand');
}
is($bad, 0, 'every request answered');
ok($demand, "the diff on demand ended after $sent requests")
    or diag(explain(heap_diff()));
$demand //= {};
is($demand->{outcome}, 'done', 'done') or diag($demand->{message});
is($demand->{pid}, $other, 'in the process asked for');
ok($demand->{forced}, 'and says it was forced');
my $kept = $demand->{diff}{kept_bytes} // 1e12;
cmp_ok($kept, '<', 256 * 1024, "a process with no leak kept $kept bytes: nearly nothing")
    or diag(explain([@{ $demand->{diff}{top} || [] }[0 .. 4]]));
my $most = ($demand->{diff}{top} || [])->[0] || {};
cmp_ok($most->{count} // 0, '<', $N, 'no site kept an object per request')
    or diag(explain($most));

my $stale = $h->request('POST', '/memtrack-status', {
    'Content-Type' => 'application/x-www-form-urlencoded' },
    "action=start&endpoint=ItemsController%23index&confirm=$hd->{confirm}");
is($stale->{status}, 403, 'a confirmation token is good once');

# Every ?json key the heap diff adds is in README (a word inside some `...`,
# as t/60-status.t checks the rest of the page).
my %README_WORD = do {
    open my $fh, '<', "$MTTest::ROOT/README.md" or die "README.md: $!";
    local $/;
    my $readme = <$fh>;
    $readme =~ s/^```.*?^```//msg;
    map { $_ => 1 } map { split /[^A-Za-z0-9_]+/ } $readme =~ /`([^`\n]+)`/g;
};
sub json_keys {
    my ($v) = @_;
    return map { json_keys($_) } @$v if ref $v eq 'ARRAY';
    return () unless ref $v eq 'HASH';
    return map { ($_, json_keys($v->{$_})) } keys %$v;
}
my $json = MTAnalysis::status($h);
my %keys = map { $_ => 1 } json_keys($json->{heap_diff}),
                           json_keys([map { $_->{heap_diff} } @{ $json->{endpoints} }]);
is_deeply([grep { !$README_WORD{$_} } sort keys %keys], [],
          'every heap_diff field of ?json is in README');

MTPassenger::stop($h);
is($h->sanitizer_log, '', 'no sanitizer report');
done_testing();

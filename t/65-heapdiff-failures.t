#!/usr/bin/perl
# The heap diff when things go wrong, on a real Passenger Rack app with two
# processes and the companion, under the prefork MPM (t/64 runs event), with
# a real Redis for the snapshots' copy. Every attempt is asked for on the
# status page (POST, with its confirmation token), and every case ends with
# a clear message in the result and the error log while every request of
# the load keeps answering 200:
#
#   - a client's own X-MemTrack-Want asking for a snapshot: nothing happens
#   - Redis up: the snapshots and the result are kept there with a TTL
#   - Redis down: the diff is done all the same, the message says why not
#   - the process killed between snapshots 1 and 2
#   - a directory the app's user may not write in
#   - a full disk: a small tmpfs mounted over the directory
#   - cancel: the process stops tracing and removes its snapshot
#   - on demand again within MemTrackHeapDiffInterval: refused, unless
#     forced (force=1)
#   - only the newest 64 result files (MT_HEAPCTL_RESULT_FILES) stay
#   - bad POSTs; directives configtest refuses (a MemTrackHeapDiffDir
#     inside a DocumentRoot too); the only process of an app is dumped only
#     when forced
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTPassenger;
use MTAnalysis;
use MTRedis;
use MTClock qw(time);
use File::Path qw(make_path);
use JSON::PP;
use Test::More;

plan skip_all => MTPassenger::why_not() if MTPassenger::why_not();

my $rd = MTRedis->start;
my $LEAK_LINE = do {          # the Rack app's /leak: its allocation site
    my $f = "$MTTest::ROOT/t/apps/lib/mt_test_app.rb";
    open my $fh, '<', $f or die "$f: $!";
    my $n;
    while (<$fh>) { $n = $. if /\$leak << \("l" \* 500\)/ }
    $n;
};
my %MIX = ('/leak' => 40, '/hello' => 40, '/garbage' => 20);
my @APP_USER = $> == 0 ? (getpwnam('www-data'))[2, 3] : ($>, $) + 0);

sub server {
    my (%o) = @_;
    my $h = MTPassenger->start(app => 'rack', procs => $o{procs} // 2,
        mpm => 'prefork',
        env => { MEMTRACK_HEAP_INTERVAL => '0' },
        conf => "MemTrackProbeRate Off\n"
              . "MemTrackHeapDiffDir \"\@DIR\@/heap\"\n"
              . "MemTrackHeapDiffRequests 10\nMemTrackHeapDiffTimeout 120\n"
              . "MemTrackRedis " . $rd->url . "\nMemTrackHeapDiffRedisTTL 600\n"
              . MTAnalysis::status_location());
    my $dir = $h->dir . '/heap';
    make_path($dir);
    chown @APP_USER, $dir;
    chmod 0700, $dir;
    return ($h, $dir);
}

my ($h, $DIR) = server();
my @pids = MTPassenger::warm($h, procs => 2);
is(scalar @pids, 2, 'two app processes');
my $bad = MTAnalysis::load($h, mix => \%MIX, requests => 100, clients => 2);

sub heap_diff { return MTAnalysis::status($h)->{heap_diff} }

sub post {
    my ($form, %o) = @_;
    $form .= '&confirm=' . ($o{confirm} // heap_diff()->{confirm});
    my $res = $h->request('POST', '/memtrack-status',
        { 'Content-Type' => 'application/x-www-form-urlencoded' }, $form);
    my $json = eval { decode_json($res->{content}) } || {};
    return ($res->{status}, $json);
}

# after a failure the process is asked to stop tracing: until it did (its
# next request), a new attempt waits
sub until_idle {
    my $until = time + 60;
    while (heap_diff()->{current} && time < $until) {
        $bad += MTAnalysis::load($h, mix => { '/hello' => 1 }, requests => 10,
                                 clients => 2);
    }
}

# Forced: the cases follow one another within MemTrackHeapDiffInterval
# (3600 s) of the one app, which refuses a second diff otherwise.
sub start_on {
    my ($pid, $endpoint) = @_;
    $endpoint //= 'MTTestApp%23leak';
    until_idle();
    my ($status, $j) = post("action=start&endpoint=$endpoint&pid=$pid&force=1");
    is($status, 202, "started on demand in process $pid") or diag(explain($j));
    return $j->{token};
}

# Load until the attempt token ended (or until $until returns true). While
# waiting for a state ($until), no request of the endpoint is sent, so that
# the attempt cannot move on past it.
my %IDLE = ('/hello' => 70, '/garbage' => 30);
sub until_result {
    my ($token, $until) = @_;
    my $deadline = time + 120;
    my $seed = int(time);
    while (time < $deadline) {
        $bad += MTAnalysis::load($h, mix => $until ? \%IDLE : \%MIX,
                                 requests => 40, clients => 2, seed => $seed++);
        my $hd = heap_diff();
        return 1 if $until && $until->($hd);
        my ($r) = grep { $_->{token} == $token && $_->{outcome} ne 'running' }
                  @{ $hd->{results} };
        return written($r) if $r && !$until;
    }
    return;
}

# A result is on the status page before its file is written and the older
# ones pruned (the file is made from the page's copy); the notice that ends
# each diff's writing is the sign (up to 10 s; one notice a diff).
my $NOTICES = 0;
sub written {
    my ($r) = @_;
    my $deadline = time + 10;
    my $n;
    while (($n = () = $h->error_log =~ /memtrack: heap diff of \S+ in process \d+:/g) <= $NOTICES
           && time < $deadline) {
        select undef, undef, undef, 0.05;
    }
    $NOTICES = $n;
    return $r;
}

sub snapshots_in { my ($d) = @_; return glob("$d/memtrack-heap-*") }
sub results_in { my ($d) = @_; return glob("$d/memtrack-heapdiff-*.json") }

# ---- a client cannot ask ----

my $want = sub {
    my ($pid) = @_;
    return "heap=77; heap_pid=$pid; heap_step=1; heap_dir=$DIR; heap_max=1000000000";
};
for my $pid (@pids) {
    for (1 .. 6) {
        my $res = $h->get('/hello', { 'X-MemTrack-Want' => $want->($pid) });
        $bad++ unless $res->{status} == 200;
    }
    my $env = $h->get('/env', { 'X-MemTrack-Want' => $want->($pid) });
    unlike($env->{content}, qr/HTTP_X_MEMTRACK_WANT/,
           'a client X-MemTrack-Want never reaches the app');
}
is_deeply([snapshots_in($DIR)], [], 'a client asking for a snapshot: none taken');
is_deeply([grep { $_->{heap_snapshot} } $h->records], [],
          'and no record says one was');

# ---- Redis up: the snapshots kept there ----

# 70 result files of earlier diffs, a day old and older: with the first
# result written, the newest 64 of the 71 stay (MT_HEAPCTL_RESULT_FILES).
my $KEEP = 64;
my @OLD = map { 1000 + $_ } 1 .. 70;               # tokens, oldest first
for my $i (0 .. $#OLD) {
    my $f = "$DIR/memtrack-heapdiff-$OLD[$i].json";
    open my $fh, '>', $f or die "$f: $!";
    print $fh "{}\n";
    close $fh;
    chown @APP_USER, $f;
    utime time - 86400 - 100 + $i, time - 86400 - 100 + $i, $f;
}
open my $other_fh, '>', "$DIR/notes.txt" or die "$DIR/notes.txt: $!";
close $other_fh;

my $token = start_on($pids[0]);
my $r = until_result($token) || {};
is($r->{outcome}, 'done', 'a diff on demand is done') or diag(explain($r));
my %left = map { m{memtrack-heapdiff-(\d+)\.json$} ? ($1 => 1) : () } results_in($DIR);
is(scalar keys %left, $KEEP, "$KEEP result files stay") or diag(join ' ', sort keys %left);
ok($left{$token}, 'the new one among them');
is_deeply([grep { $left{$_} } @OLD[0 .. 6]], [], 'the 7 oldest removed');
is(scalar(grep { $left{$_} } @OLD[7 .. $#OLD]), 63, 'the 63 newer kept');
ok(-e "$DIR/notes.txt", 'another file is not touched');
like($h->error_log, qr/heap diff $token: removed 7 older result files \($KEEP are kept\)/,
     'the error log says so');
like($r->{message}, qr/snapshots kept in Redis as memtrack:heap:\S+-$pids[0]-\d+:1\.\.3 for 600 s/,
     'the snapshots kept in Redis');
my $top = ($r->{diff}{top} || [])->[0] || {};
like($top->{site} // '', qr{mt_test_app\.rb:$LEAK_LINE$}, 'the leak\'s site first');
cmp_ok(abs(($top->{count} // 0) - 100 * ($r->{requests_counted}[0] // 0)), '<=', 200,
       "100 strings per leak request: $top->{count} for $r->{requests_counted}[0]");
my @keys = sort $rd->keys_like('memtrack:heap:*');
is(scalar @keys, 4, 'four keys: three snapshots and the result') or diag("@keys");
for my $n (1 .. 3) {
    my ($k) = grep { /:$n$/ } @keys;
    is($rd->cmd('STRLEN', $k // 'none'), $r->{snapshots}[$n - 1]{bytes},
       "snapshot $n: the whole file");
    my $ttl = $rd->cmd('TTL', $k // 'none');
    ok($ttl > 0 && $ttl <= 600, "with a TTL ($ttl s)");
}
my ($rk) = grep { /:result$/ } @keys;
my $doc = eval { decode_json($rd->cmd('GET', $rk // 'none')) } || {};
is($doc->{token}, $token, 'the result document in Redis');
is_deeply([snapshots_in($DIR)], [], 'the snapshot files are removed');

# ---- on demand again within the interval: refused unless forced ----

until_idle();
my ($status, $j) = post("action=start&endpoint=MTTestApp%23leak&pid=$pids[1]");
is($status, 409, 'a second diff of the app within MemTrackHeapDiffInterval: 409')
    or diag(explain($j));
like($j->{message} // '', qr/^app \S+ had a heap diff \d+ s ago; MemTrackHeapDiffInterval is 3600 s \(force=1 starts one anyway\)$/,
     "clearly: $j->{message}");
ok(!heap_diff()->{current}, 'nothing started');

# ---- Redis down: done all the same ----

$rd->stop;
$token = start_on($pids[1]);
$r = until_result($token) || {};
is($r->{outcome}, 'done', 'Redis down: the diff is done');
like($r->{message}, qr{not kept in Redis: Redis at redis://127\.0\.0\.1:\d+/0: connect: Connection refused},
     'and says why the snapshots are not in Redis') or diag($r->{message});
like($h->error_log, qr{snapshot 1 not kept in Redis: Redis at redis://127\.0\.0\.1:\d+/0: connect},
     'the error log too');
is(scalar(my @res = results_in($DIR)), $KEEP, "a second result: still $KEEP files");
ok(-e "$DIR/memtrack-heapdiff-$token.json", 'the newest among them');

# ---- the process killed between snapshots ----

$token = start_on($pids[0]);
ok(until_result($token, sub { my $c = $_[0]{current} || {};
                              ($c->{state} // '') eq 'waiting' && $c->{step} == 1 }),
   'snapshot 1 taken');
ok(-e "$DIR/memtrack-heap-$pids[0]-$token-1.json", 'its file is there');
my $born = MTPassenger::start_time($pids[0]);
kill 'KILL', $pids[0];
MTTest::wait_for(sub { !MTPassenger::_alive($pids[0], $born) }, 10);
# A request Passenger had already given the killed process fails (a 502 of
# Passenger's, whatever the module does): counted apart.
my $bad_before = $bad;
$r = until_result($token) || {};
my $bad_kill = $bad - $bad_before;
$bad = $bad_before;
cmp_ok($bad_kill, '<=', 2, "at most the requests Passenger had given the killed "
       . "process failed ($bad_kill)");
is($r->{outcome}, 'failed', 'the process killed after snapshot 1: failed');
like($r->{message}, qr/process $pids[0] ended before snapshot 2 \(did Passenger replace it\?\): no diff/,
     'clearly') or diag($r->{message});
like($h->error_log, qr/memtrack: process $pids[0] ended before snapshot 2/, 'in the error log');
@pids = MTPassenger::warm($h, procs => 2);
is(scalar @pids, 2, 'Passenger replaced it');

# ---- a directory the app may not write in ----

chmod 0500, $DIR;
$token = start_on($pids[0]);
$r = until_result($token) || {};
is($r->{outcome}, 'failed', 'unwritable directory: failed');
like($r->{message}, qr/could not take snapshot 1: the app's user may not write in MemTrackHeapDiffDir \(heap_error=denied\)/,
     'clearly') or diag($r->{message});
chmod 0700, $DIR;

# ---- a full disk ----

SKIP: {
    skip 'mounting a tmpfs needs root', 4 unless $> == 0;
    my $ok = system('mount', '-t', 'tmpfs', '-o',
                    "size=256k,mode=0700,uid=$APP_USER[0],gid=$APP_USER[1]",
                    'mt-heapdiff-test', $DIR) == 0;
    ok($ok, "a 256 KB tmpfs over $DIR") or skip('mount failed', 3);
    $token = start_on($pids[1]);
    $r = until_result($token) || {};
    system('umount', $DIR);
    is($r->{outcome}, 'failed', 'full disk: failed');
    like($r->{message}, qr/no space left in MemTrackHeapDiffDir.*\(heap_error=nospace\)/,
         'clearly') or diag($r->{message});
    ok(!grep({ m{ mt-heapdiff-test } } `cat /proc/mounts`), 'unmounted again');
}

# ---- cancel ----

$token = start_on($pids[1]);
ok(until_result($token, sub { my $c = $_[0]{current} || {};
                              ($c->{state} // '') eq 'waiting' }),
   'snapshot 1 taken');
($status, $j) = post('action=cancel');
is($status, 200, 'cancel: 200') or diag(explain($j));
$r = until_result($token) || {};
is($r->{outcome}, 'cancelled', 'cancelled');
ok(until_result($token, sub { !$_[0]{current} }), 'the process acknowledged the stop');
is_deeply([snapshots_in($DIR)], [], 'and removed its snapshot');

# ---- bad POSTs ----

($status) = post('action=start&endpoint=MTTestApp%23leak', confirm => '0123456789abcdef');
is($status, 403, 'a wrong confirmation token: 403');
($status) = post('endpoint=MTTestApp%23leak');
is($status, 400, 'no action: 400');
($status, $j) = post('action=start&endpoint=NoSuch%23thing');
is($status, 400, 'an endpoint never seen: 400');
($status, $j) = post("action=start&endpoint=MTTestApp%23leak&pid=" . $h->pid);
is($status, 400, 'the httpd parent is no app process: 400');
like($j->{message} // '', qr/not an app process/, $j->{message} // '');
$token = start_on($pids[0]);
($status, $j) = post("action=start&endpoint=MTTestApp%23hello&pid=$pids[1]");
is($status, 409, 'a second attempt while one runs: 409');
like($j->{message} // '', qr/an attempt runs already/, $j->{message} // '');
post('action=cancel');
my $res = $h->request('POST', '/memtrack-status', { 'Content-Type' => 'text/plain' }, 'x');
is($res->{status}, 400, 'not a form: 400');

is($bad, 0, 'every request of the load answered 200');
unlike($h->error_log, qr/\[memtrack:(error|crit)\]/, 'no error from the module');
MTPassenger::stop($h);
is($h->sanitizer_log, '', 'no sanitizer report');

# ---- the only process of its app ----

($h, $DIR) = server(procs => 1);
@pids = MTPassenger::warm($h, procs => 1);
MTAnalysis::load($h, mix => \%MIX, requests => 40, clients => 1);
($status, $j) = post("action=start&endpoint=MTTestApp%23leak&pid=$pids[0]");
is($status, 409, 'the only process of its app: refused');
like($j->{message} // '', qr/only process of its app/, $j->{message} // '');
($status, $j) = post("action=start&endpoint=MTTestApp%23leak&pid=$pids[0]&force=1");
is($status, 202, 'unless forced');
$r = until_result($j->{token}) || {};
is($r->{outcome}, 'done', 'forced: done');
ok($r->{forced}, 'and says it was forced');
MTPassenger::stop($h);

# ---- directives ----

for my $case (["MemTrackHeapDiff On\n", qr/MemTrackHeapDiff On needs MemTrackHeapDiffDir/],
              ["MemTrackHeapDiffDir relative/dir\n", qr/MemTrackHeapDiffDir: 'relative\/dir' is not an absolute path/],
              ["MemTrackHeapDiffDir /a/../b\n", qr/without \.\./],
              ["MemTrackHeapDiffRequests 0\n", qr/MemTrackHeapDiffRequests: '0' is not a whole number from 1/],
              ["MemTrackHeapDiffMaxSize 10K\n", qr/MemTrackHeapDiffMaxSize: '10K' is not a size of 1M or more/],
              ["MemTrackHeapDiff maybe\n", qr/MemTrackHeapDiff: 'maybe' is neither On nor Off/],
              # where a client could fetch the snapshots
              ["MemTrackHeapDiffDir \"\@DIR\@/htdocs/heap\"\n",
               qr{MemTrackHeapDiffDir \S+/htdocs/heap is inside the DocumentRoot \S+/htdocs of the main server: heap snapshots hold every string of the app and must never be served}],
              ["<VirtualHost 127.0.0.1:\@PORT\@>\nServerName site.test\n"
               . "DocumentRoot \"\@DIR\@/site\"\n</VirtualHost>\n"
               . "MemTrackHeapDiffDir \"\@DIR\@/site/private/heap\"\n",
               qr{MemTrackHeapDiffDir \S+/site/private/heap is inside the DocumentRoot \S+/site of the virtual host site\.test \(\S+httpd\.conf:\d+\)}]) {
    my ($rc, $out) = MTTest::configtest(conf => $case->[0]);
    isnt($rc, 0, "configtest refuses: $case->[0]");
    like($out, $case->[1], 'naming it');
}
my ($rc, $out) = MTTest::configtest(conf => "MemTrackHeapDiff On\nMemTrackHeapDiffDir /var/tmp/x\n");
is($rc, 0, 'On with a directory is fine') or diag($out);
($rc, $out) = MTTest::configtest(conf => "MemTrackHeapDiffDir \"\@DIR\@/htdocs-heap\"\n");
is($rc, 0, 'beside the DocumentRoot, sharing its first letters: fine') or diag($out);

done_testing();

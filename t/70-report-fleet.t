#!/usr/bin/perl
# memtrack-report and the fleet on real servers: three httpds named web-a,
# web-b and web-c by MemTrackServerName, each with a Passenger Rack app of
# two processes and the companion, all writing to one real redis-server
# and each to its own log; web-b serves the leaking /leak (its log is
# rotated and gzipped mid-run). memtrack-report over the three logs, and
# over --redis, names the leak on web-b with the module's own estimate
# (within 10% of web-b's ?json) and nothing else as a leak; its JSON
# parses, its HTML renders in headless Chromium with its charts. A real
# Prometheus scrapes the three, and memtrack_endpoint_leak_suspected names
# the endpoint with web-b's instance label; every query of the Grafana
# dashboard is valid PromQL there.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTPassenger;
use MTAnalysis;
use MTRedis;
use MTProm;
use MTBrowser;
use MTReport;
use JSON::PP;
use File::Copy qw(copy);
use File::Path qw(make_path);
use Time::HiRes qw(sleep);
use Test::More;

plan skip_all => MTPassenger::why_not() if MTPassenger::why_not();
plan skip_all => MTProm::why_not() if MTProm::why_not();
plan skip_all => 'memtrack-report not built (make)' unless -x MTReport::tool();

my $LEAK = 'MTTestApp#leak';
my $tmpdir = "$FindBin::Bin/tmp";
make_path($tmpdir);

# ---- the directive ----
{
    my ($rc, $out) = MTTest::configtest(conf => "MemTrackServerName 'web b'\n");
    isnt($rc, 0, 'a server name with a space fails configtest');
    like($out, qr/MemTrackServerName: 'web b' is not a server name/,
         'and the message names the directive and the value');
    ($rc, $out) = MTTest::configtest(
        conf => "<VirtualHost *:80>\nMemTrackServerName web-9\n</VirtualHost>\n");
    isnt($rc, 0, 'MemTrackServerName inside a VirtualHost fails configtest');
}

my $rd = MTRedis->start;
my %MIX_LEAK = ('/leak' => 35, '/hello' => 45, '/garbage' => 20);
my %MIX_FLAT = ('/hello' => 70, '/garbage' => 30);

sub server {
    my ($name) = @_;
    return MTPassenger->start(app => 'rack', procs => 2, name => "70-$name",
        env => { MEMTRACK_PROBE_BUDGET => '0.25' },
        conf => "MemTrackServerName $name\nMemTrackProbeRate 10\n"
              . "MemTrackProbeMax 20\nMemTrackRedis " . $rd->url . "\n"
              . MTAnalysis::status_location());
}

my %h = map { $_ => server($_) } qw(web-a web-b web-c);
for my $n (sort keys %h) {
    my @pids = MTPassenger::warm($h{$n}, procs => 2);
    is(scalar @pids, 2, "$n: two app processes");
}

my $bad = 0;
$bad += MTAnalysis::load($h{'web-a'}, mix => \%MIX_FLAT, requests => 400,
                         clients => 2, batch => 200, seed => 11);
$bad += MTAnalysis::load($h{'web-c'}, mix => \%MIX_FLAT, requests => 400,
                         clients => 2, batch => 200, seed => 31);
$bad += MTAnalysis::load($h{'web-b'}, mix => \%MIX_LEAK, requests => 800,
                         clients => 3, batch => 200, seed => 21);

# ---- web-b's log rotated mid-run: renamed, a graceful restart, gzipped ----
my $blog = $h{'web-b'}->dir . '/records.jsonl';
ok(rename($blog, "$blog.1"), "web-b's log renamed");
$h{'web-b'}->graceful;
ok(MTTest::wait_for(sub { eval { MTAnalysis::verdicts($h{'web-b'}) } }, 20),
   'web-b answers after the graceful restart');
$bad += MTAnalysis::load($h{'web-b'}, mix => \%MIX_LEAK, requests => 200,
                         clients => 3, batch => 200, seed => 22);
ok(MTTest::wait_for(sub { -s $blog }, 10), 'web-b writes a new log');
sleep 1;                               # the old children are done with .1
is(system('gzip', '-9', "$blog.1"), 0, "the old log gzipped: $blog.1.gz");

# more of web-b until its own ?json names the leak (bounded)
my $more = 0;
while ((MTAnalysis::verdicts($h{'web-b'})->{$LEAK}{verdict} // '') ne 'leak'
       && $more < 1600) {
    $bad += MTAnalysis::load($h{'web-b'}, mix => \%MIX_LEAK, requests => 200,
                             clients => 3, batch => 200, seed => 40 + $more);
    $more += 200;
}
is($bad, 0, 'every request answered');

# ---- what the module says ----
my %status = map { $_ => MTAnalysis::status($h{$_}) } keys %h;
for my $n (sort keys %h) {
    is($status{$n}{server}, $n, "$n: ?json says server $n");
}
my %mod = map { $_->{endpoint} => $_ } @{ $status{'web-b'}{endpoints} };
is($mod{$LEAK}{verdict}, 'leak', "web-b's ?json: $LEAK is a leak")
    or diag(explain($mod{$LEAK}));
my $want = $mod{$LEAK}{leak_bytes_per_request} // 0;
for my $n (sort keys %status) {
    note("?json of $n: " . join ', ', map { "$_->{endpoint} $_->{verdict}"
        . ($_->{verdict} eq 'leak' ? " $_->{leak_bytes_per_request} B" : '') }
        @{ $status{$n}{endpoints} });
}
cmp_ok($want, '>', 20_000, "and keeps $want bytes per request");

# every record names its server
for my $n (sort keys %h) {
    my @recs = grep { $_ } $h{$n}->records;
    ok(@recs > 100, "$n: " . scalar(@recs) . ' records in its log');
    is(scalar(grep { ($_->{server} // '') ne $n } @recs), 0,
       "$n: every record says server $n");
}

# the Redis stream holds everything the three wrote (settled)
my $xlen = 0;
MTTest::wait_for(sub {
    my $n = $rd->cmd('XLEN', 'memtrack:stream');
    my $same = $n == $xlen;
    $xlen = $n;
    sleep 0.3;
    return $same && $n > 0;
}, 20);
cmp_ok($xlen, '>', 1500, "memtrack:stream holds $xlen records");

# ---- the report, over the logs and over Redis ----
sub check_report {
    my ($what, $r) = @_;
    is($r->{rc}, 0, "$what: exit status 0") or diag($r->{err});
    is($r->{asan} // '', '', "$what: no sanitizer report");
    my $j = $r->{json};
    ok($j && $j->{schema} == 1, "$what: the JSON parses") or return;
    my %srv = map { $_->{server} => $_ } @{ $j->{servers} };
    is_deeply([sort keys %srv], [qw(web-a web-b web-c)],
              "$what: three servers, by name");
    my %ep = map { $_->{endpoint} => $_ } @{ $srv{'web-b'}{endpoints} };
    is($ep{$LEAK}{verdict}, 'leak', "$what: $LEAK is a leak on web-b")
        or diag(explain($ep{$LEAK}));
    my $got = $ep{$LEAK}{leak_bytes_per_request} // 0;
    ok(abs($got - $want) <= 0.10 * $want,
       "$what: web-b's estimate $got is within 10% of the module's $want");
    ok($ep{$LEAK}{leak_bytes_per_request_low} <= $got
       && $got <= $ep{$LEAK}{leak_bytes_per_request_high},
       "$what: with its interval");
    my @leaks = map { my $s = $_; map { "$s->{server}: $_->{endpoint}" }
                      grep { $_->{verdict} eq 'leak' } @{ $s->{endpoints} } }
                @{ $j->{servers} };
    is_deeply(\@leaks, ["web-b: $LEAK"], "$what: nothing else is a leak");
    my @fleet = grep { $_->{verdict} eq 'leak' } @{ $j->{fleet}{endpoints} };
    is_deeply([map { $_->{endpoint} } @fleet], [$LEAK],
              "$what: the fleet's only leak is $LEAK");
    is_deeply($fleet[0]{leak_servers}, ['web-b'], "$what: on web-b");
    my %procs;
    $procs{$_->{server}}++ for @{ $j->{fleet}{processes} };
    cmp_ok($procs{$_} // 0, '>=', 2, "$what: the fleet has ${_}'s processes")
        for qw(web-a web-b web-c);
    is($j->{input}{bad_lines}, 0, "$what: no bad line");
    for my $s ({ %{ $j->{fleet} }, server => 'fleet' }, @{ $j->{servers} }) {
        note("$what: $s->{server}: " . join ', ', map {
            "$_->{endpoint} $_->{verdict}"
            . ($_->{verdict} eq 'leak' ? " $_->{leak_bytes_per_request} B"
               . " ($_->{leak_bytes_per_request_low} to $_->{leak_bytes_per_request_high})" : '')
        } @{ $s->{endpoints} });
    }
}

my @logs = ("$blog.1.gz", $blog, $h{'web-a'}->dir . '/records.jsonl',
            $h{'web-c'}->dir . '/records.jsonl');
my $html = "$tmpdir/report.html";
my $r = MTReport::run(['--json', '--html', $html, @logs]);
check_report('the logs', $r);
my @src = @{ $r->{json}{input}{sources} || [] };
ok($src[0]{gzip} && $src[0]{records} > 100, 'the rotated log was read through gzip');

$r = MTReport::run(['--json', '--redis', $rd->url]);
check_report('--redis', $r);
is($r->{json}{input}{records}, $xlen, '--redis read every entry of the stream');

$r = MTReport::run([@logs]);
like($r->{out}, qr/== server web-b =+\nLeak suspects\n  leak  \Q$LEAK\E/,
     'the text names the leak under web-b');
ok(!grep({ length > 80 } split /\n/, $r->{out}), 'the text fits 80 columns');

# ---- the HTML in headless Chromium ----
SKIP: {
    skip MTBrowser::why_not(), 5 if MTBrowser::why_not();
    my $d = MTBrowser::dump_dom("file://$html");
    like($d->{dom}, qr/Server web-b/, 'the HTML renders: a section per server');
    my $charts = () = $d->{dom} =~ /<svg class="chart/g;
    cmp_ok($charts, '>=', 8, "with its charts ($charts)");
    like($d->{dom}, qr/<polyline[^>]+points="[\d.]+,[\d.]+ [\d.]+,/,
         'memory lines with points');
    is(scalar(MTBrowser::console_errors($d->{log})), 0, 'no console errors');
    ok(MTBrowser::screenshot("file://$html", "$tmpdir/report.png", '1400,4200'),
       "screenshot in $tmpdir/report.png");
}

# ---- Prometheus over the three ----
my @targets = map { '127.0.0.1:' . $h{$_}->port } sort keys %h;
my $p = MTProm->start(targets => \@targets, path => $MTAnalysis::STATUS_PATH,
                      params => { prometheus => '1' });
my @series = $p->wait_query('memtrack_endpoint_leak_suspected == 1',
                            sub { @_ >= 1 }, 40);
is(scalar @series, 1, 'PromQL: one endpoint is a leak suspect in the fleet');
is($series[0]{metric}{endpoint}, $LEAK, "it is $LEAK");
is($series[0]{metric}{instance}, '127.0.0.1:' . $h{'web-b'}->port,
   "with web-b's instance label");
my @up = $p->wait_query('count(memtrack_build_info)', sub { @_ && $_[0]{value}[1] == 3 }, 20);
is($up[0]{value}[1], 3, 'all three servers scraped');

# every query of the Grafana dashboard is valid PromQL on real data
my $dash = do { local $/; open my $fh, '<', "$FindBin::Bin/../conf/grafana-memtrack.json" or die; <$fh> };
my $d = JSON::PP->new->decode($dash);
my @exprs = map { $_->{expr} } grep { $_->{expr} } map { @{ $_->{targets} || [] } }
            @{ $d->{panels} };
cmp_ok(scalar @exprs, '>=', 5, scalar(@exprs) . ' dashboard queries');
for my $e (@exprs) {
    (my $q = $e) =~ s/\$instance/.*/g;
    $q =~ s/\$__rate_interval/1m/g;
    $q =~ s/\$__range/5m/g;
    my $res = HTTP::Tiny->new->get($p->url('/api/v1/query?query=' . MTProm::_escape($q)));
    is($res->{status}, 200, "dashboard query runs: $e") or diag($res->{content});
}
$p->stop;

MTPassenger::stop($h{$_}) for sort keys %h;
is($h{$_}->sanitizer_log, '', "$_: no sanitizer report") for sort keys %h;
done_testing();

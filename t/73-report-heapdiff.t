#!/usr/bin/perl
# memtrack-report --heap-diff over real heap diff results: a real Ruby
# keeps 300 strings at a known file:line between three ObjectSpace.dump_all
# snapshots; build/memtrack-heapdiff diffs them; the result document (the
# module's fields around that diff) is read back by memtrack-report from a
# directory and from a real redis-server (memtrack:heap:<process>:result),
# next to a generated record log. The known file:line is ranked first in
# the text, the JSON and the HTML; the result is attached to its endpoint
# (the report's verdict of it); hostile names are escaped in the HTML;
# bad documents (truncated, not JSON, wrong types, a symbolic link, a
# FIFO, a huge Redis value, a Redis key of the wrong type) are each one
# message naming the file or key, and lose nothing else. The HTML renders
# in headless Chromium (t/tmp/report-heapdiff.png).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTReport;
use MTBrowser;
use JSON::PP;
use Encode ();
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use POSIX qw(mkfifo);
use Test::More;

my $ROOT = $MTReport::ROOT;
plan skip_all => 'memtrack-report not built (make)' unless -x MTReport::tool();
plan skip_all => 'build/memtrack-heapdiff not built (make)'
    unless -x "$ROOT/build/memtrack-heapdiff";
plan skip_all => 'no ruby' if system('ruby -e 1 >/dev/null 2>&1') != 0;

my $EP = 'LeakyController#create';
my $dir = tempdir('mt-73-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tmpdir = "$FindBin::Bin/tmp";
make_path($tmpdir);

# ---- three real snapshots with a leak at a known line ----
my $app = "$dir/app";
make_path($app);
open my $rb, '>', "$app/leaky.rb" or die $!;
print {$rb} <<'RUBY';
require 'objspace'
dir = ARGV[0]
ObjectSpace.trace_object_allocations_start
$kept = []
def snapshot(dir, n)
  GC.start
  File.open("#{dir}/snap-#{n}.json", 'w') { |f| ObjectSpace.dump_all(output: f) }
end
snapshot(dir, 1)
300.times { |i| $kept << ("a leaked string %d " % i) * 8 }   # THE LEAK
200.times { |i| ("churn %d" % i) * 8 }
snapshot(dir, 2)
snapshot(dir, 3)
RUBY
close $rb;
my $LINE = 0;
{ open my $f, '<', "$app/leaky.rb"; while (<$f>) { $LINE = $. if /THE LEAK/ } }
my $SITE = "leaky.rb:$LINE";
is(system('ruby', "$app/leaky.rb", $dir), 0, 'ruby wrote three dumps');
my $diff_json = `$ROOT/build/memtrack-heapdiff --root $app $dir/snap-1.json $dir/snap-2.json $dir/snap-3.json`;
my $diff = eval { decode_json($diff_json) };
ok($diff && $diff->{top}[0], 'memtrack-heapdiff diffed them')
    or diag($diff_json);
is($diff->{top}[0]{site}, $SITE, "its first row is $SITE");

sub result_doc {
    my (%o) = @_;
    return JSON::PP->new->canonical->encode({
        schema => 1, token => $o{token}, endpoint => $o{endpoint} // $EP,
        pid => 4711, app_root => $app, trigger => 'verdict', forced => JSON::PP::false,
        started => "2026-11-22T04:0$o{min}:00.000000Z",
        finished => "2026-11-22T04:0$o{min}:30.000000Z",
        requests_between_snapshots => 300, requests_counted => [300, 300],
        snapshots => [map { { snapshot => $_, bytes => -s "$dir/snap-$_.json",
                              pause_seconds => 0.1, gc_count => 10 + $_,
                              time => "2026-11-22T04:0$o{min}:1$_.000000Z" } } 1 .. 3],
        outcome => 'done', message => 'kept what the diff says',
        diff => $o{diff} // $diff });
}

sub put {
    my ($path, $data) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print {$fh} $data;
    close $fh;
}

my $res = "$dir/results";
make_path($res);
put("$res/memtrack-heapdiff-101.json", result_doc(token => 101, min => 5));
# a hostile but valid one: its class and file are HTML
my $hostile = decode_json($diff_json);
$hostile->{top} = [{ %{ $diff->{top}[0] }, class => '<script>alert(1)</script>',
                     file => 'x"><img src=y onerror=alert(2)>.rb',
                     site => 'x', bytes => 1 }];
put("$res/memtrack-heapdiff-102.json",
    result_doc(token => 102, min => 1, endpoint => 'Other#<b>x</b>',
               diff => $hostile));
put("$res/memtrack-heapdiff-103.json", substr(result_doc(token => 103, min => 2), 0, 200));
put("$res/memtrack-heapdiff-104.json", '{"schema":1,"endpoint":["not","a","string"]}');
put("$res/memtrack-heapdiff-105.json", "\x00\x01 not JSON at all");
symlink('/etc/passwd', "$res/memtrack-heapdiff-106.json");
mkfifo("$res/memtrack-heapdiff-107.json", 0600);
put("$res/unrelated.json", 'not read');

system("$ROOT/build/mt-report-gen 40000 1 > $dir/gen.jsonl") == 0 or die;

# ---- from the directory: text, JSON, HTML ----
my $html = "$dir/report.html";
my $r = MTReport::run(['--html', $html, '--heap-diff', $res, "$dir/gen.jsonl"]);
is($r->{rc}, 0, 'the report is made');
is($r->{asan} // '', '', 'no sanitizer report') if $ENV{MT_ASAN};
for my $n (103 .. 107) {
    like($r->{err}, qr/^memtrack-report: heap diff \Q$res\E\/memtrack-heapdiff-$n\.json: skipped: .+$/m,
         "bad document $n: one message naming its file");
}
like($r->{err}, qr/103\.json: skipped: .*cut short/, 'the truncated one says so');
like($r->{err}, qr/104\.json: skipped: .*endpoint: not a string/, 'a wrong type says which');
like($r->{err}, qr/106\.json: skipped: a symbolic link/, 'the link is not followed');
like($r->{err}, qr/107\.json: skipped: not a regular file/, 'the FIFO is not waited on');
unlike($r->{err}, qr/unrelated/, 'other files are not read');
my ($section) = $r->{out} =~ /(== heap diffs.*)\z/s;
ok($section, 'the text has the heap diffs section') or diag($r->{out});
$section //= '';
like($section, qr/\A[^\n]*\n[^\n]*\n  \Q$EP\E\s+verdict \w+\n.*?\n.*?\n    String\s+\Q$SITE\E\s+300 /s,
     "text: the newest result first, $SITE ranked first with 300 objects");
like($section, qr/5 bad documents skipped/, 'text: the bad ones counted');
ok(!grep({ length > 80 } split /\n/, Encode::decode("UTF-8", $r->{out})), 'the text fits 80 columns');

$r = MTReport::run(['--json', '--heap-diff', $res, "$dir/gen.jsonl"]);
my $j = eval { decode_json($r->{out}) };
ok($j, 'the JSON parses') or diag($r->{out});
my $hd = $j->{heap_diffs} // [];
is(scalar(@$hd), 2, 'JSON: the two good documents');
is($hd->[0]{token}, 101, 'JSON: newest first');
is($hd->[0]{diff}{top}[0]{site}, $SITE, "JSON: $SITE ranked first");
is($hd->[0]{diff}{top}[0]{count}, 300, 'JSON: with its 300 objects');
is($hd->[0]{diff}{kept_objects}, $diff->{kept_objects}, 'JSON: kept_objects as diffed');
my ($fleet_ep) = grep { ($_->{endpoint} // "") eq $EP } @{ $j->{fleet}{endpoints} };
ok($fleet_ep, "the records have $EP");
is($hd->[0]{report_verdict}, $fleet_ep->{verdict}, "attached to its endpoint: the report's verdict ($fleet_ep->{verdict})");
is($hd->[1]{report_verdict}, undef, 'an endpoint not in the records: null');
is($j->{heap_diffs_bad}, 5, 'JSON: 5 bad documents');
is($j->{heap_diffs_left_out}, 0, 'JSON: none left out');

open my $hf, '<', $html or die;
my $page = do { local $/; <$hf> };
like($page, qr/id="heapdiffs">Heap diffs</, 'HTML: the section');
like($page, qr/id="heap101".*?<td class="n">1<\/td><td><span class="name">String<\/span>.*?\Q$SITE\E/s,
     "HTML: $SITE ranked first in its table");
unlike($page, qr/<script>alert|<img src=y|<b>x<\/b>/, 'HTML: no hostile markup');
like($page, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'HTML: the class escaped');

# ---- from a real Redis ----
SKIP: {
    eval { require MTRedis; 1 } or skip 'no MTRedis', 9;
    skip 'no redis-server', 9 if system('redis-server --version >/dev/null 2>&1') != 0;
    my $rd = MTRedis->start;
    $rd->cmd('SET', 'memtrack:heap:web-2-4711-98765:result', result_doc(token => 201, min => 7));
    # a server name of MemTrackServerName's longest (64 characters)
    my $long = 'w' x 64;
    $rd->cmd('SET', "memtrack:heap:$long-4712-98766:result", result_doc(token => 150, min => 6));
    $rd->cmd('SET', 'memtrack:heap:web-3-1-2:result', '{"schema":1');
    $rd->cmd('SET', 'memtrack:heap:web-1-5-6:result', '{"schema":1,"endpoint":"' . ('A' x 400000) . '"}');
    $rd->cmd('LPUSH', 'memtrack:heap:web-1-7-8:result', 'a list');
    $rd->cmd('SET', 'memtrack:heap:web-2-4711-98765:1', 'a snapshot, not read');
    $r = MTReport::run(['--json', '--redis', $rd->url, '--heap-diff', $res]);
    is($r->{rc}, 0, 'the report from Redis is made');
    is($r->{asan} // '', '', 'no sanitizer report') if $ENV{MT_ASAN};
    $j = eval { decode_json($r->{out}) } // {};
    $hd = $j->{heap_diffs} // [];
    is(scalar(@$hd), 4, 'the Redis results beside the two files');
    is($hd->[0]{token}, 201, 'the Redis one is the newest');
    is($hd->[0]{server}, 'web-2', 'its server from its key');
    my ($l) = grep { $_->{token} == 150 } @$hd;
    is($l && $l->{server}, $long, 'a server name of 64 characters, whole');
    is($hd->[0]{diff}{top}[0]{site}, $SITE, "Redis: $SITE ranked first");
    like($r->{err}, qr/key memtrack:heap:web-3-1-2:result: skipped: .*cut short/, 'a cut value: its key named');
    like($r->{err}, qr/key memtrack:heap:web-1-5-6:result: skipped: .*(cut short|over)/, 'a huge value: refused unread');
    like($r->{err}, qr/key memtrack:heap:web-1-7-8:result: skipped: WRONGTYPE/, 'a key of another type: named');
    $rd->stop;
}

# ---- the HTML in headless Chromium ----
SKIP: {
    skip MTBrowser::why_not(), 2 if MTBrowser::why_not();
    my $d = MTBrowser::dump_dom("file://$html");
    like($d->{dom}, qr/Heap diffs/, 'the HTML renders with the heap diff section');
    ok(MTBrowser::screenshot("file://$html", "$tmpdir/report-heapdiff.png", '1400,14000'),
       "screenshot in $tmpdir/report-heapdiff.png");
}

done_testing();

#!/usr/bin/perl
# The status page, `SetHandler memtrack-status`, on a real httpd:
#  - HTML, ?json and ?prometheus are served with their content types,
#    Cache-Control no-store; HEAD works, POST is 405; ?refresh=N reloads
#    (N bounded); requests to the page are not recorded and are no endpoint;
#  - a location without the handler, and a server without it, serve no
#    status at all;
#  - `promtool check metrics` passes on what ?prometheus serves;
#  - hostile URLs (quotes, <script>, backslashes, invalid UTF-8) and, under
#    Passenger with the Rack test app, hostile controller names leave the
#    JSON parseable, the metrics clean and the HTML without any script;
#  - a real Prometheus scrapes ?prometheus and answers a query for
#    memtrack_requests_total with the endpoints that had traffic;
#  - headless Chromium renders the page with its SVG charts and no console
#    error; the screenshot stays in t/tmp/status-page.png.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use MTPassenger;
use MTPassCheck;
use MTProm;
use MTBrowser;
use Test::More;
use JSON::PP;
use Encode ();

MTPassCheck::plan_or_skip();
for my $why (MTProm::why_not(), MTBrowser::why_not()) {
    plan skip_all => $why if $why;
}

my $LOC = "<Location /memtrack-status>\n  SetHandler memtrack-status\n"
        . "  Require local\n</Location>\n";
my $SHOT = "$MTTest::ROOT/t/tmp/status-page.png";

sub decode_json_strict {
    my ($bytes) = @_;
    my $text = eval { Encode::decode('UTF-8', my $copy = $bytes, Encode::FB_CROAK) };
    return undef unless defined $text;
    return eval { JSON::PP->new->decode($text) };
}

sub get_form {
    my ($h, $query, $type, $what) = @_;
    my $res = $h->get("/memtrack-status$query");
    is($res->{status}, 200, "$what: 200");
    is($res->{headers}{'content-type'}, $type, "$what: Content-Type $type");
    is($res->{headers}{'cache-control'}, 'no-store', "$what: Cache-Control no-store");
    return $res->{content};
}

# The three forms of one server, each checked by its own reader. Returns
# the decoded JSON.
sub three_forms {
    my ($h, $what) = @_;
    my $json = decode_json_strict(get_form($h, '?json', 'application/json', "$what json"));
    ok($json && $json->{schema} == 1, "$what: ?json parses, schema 1");
    my $prom = get_form($h, '?prometheus', 'text/plain; version=0.0.4; charset=utf-8',
                        "$what prometheus");
    my ($ok, $out) = MTProm::check_metrics($prom);
    ok($ok, "$what: promtool check metrics passes") or diag($out);
    my $res = $h->get('/memtrack-status');
    like($res->{headers}{'content-security-policy'} // '', qr/default-src 'none'/,
         "$what: the HTML says it loads nothing and runs no script (CSP)");
    my $html = get_form($h, '', 'text/html; charset=utf-8', "$what html");
    ok(defined eval { Encode::decode('UTF-8', my $c = $html, Encode::FB_CROAK) },
       "$what: the HTML is valid UTF-8");
    unlike($html, qr/<script/i, "$what: the HTML has no script element");
    return ($json, $prom, $html);
}

sub browse_checks {
    my ($h, $what, $min_svg) = @_;
    my $r = MTBrowser::dump_dom($h->url('/memtrack-status'));
    is($r->{rc}, 0, "$what: chromium loaded the page");
    my $svgs = () = $r->{dom} =~ /<svg\b/g;
    cmp_ok($svgs, '>=', $min_svg, "$what: $svgs SVG charts in the rendered DOM");
    like($r->{dom}, qr/<polyline\b/, "$what: a chart has its line");
    unlike($r->{dom}, qr/<script\b/i, "$what: no script element in the DOM");
    my @err = MTBrowser::console_errors($r->{log});
    is_deeply(\@err, [], "$what: no console error (script or CSP)");
    return $r->{dom};
}

# Every JSON key and every metric the page serves is in README's tables:
# a word inside some `...` of README (x_low and x_high may be written as
# `x`, `_low`, `_high`).
my %README_WORD = do {
    open my $fh, '<', "$MTTest::ROOT/README.md" or die "README.md: $!";
    local $/;
    my $readme = <$fh>;
    $readme =~ s/^```.*?^```//msg;            # code blocks are no table
    map { $_ => 1 } map { split /[^A-Za-z0-9_]+/ } $readme =~ /`([^`\n]+)`/g;
};
sub documented {
    my ($name) = @_;
    return 1 if $README_WORD{$name};
    return $name =~ /^(.*)_(low|high)$/ && $README_WORD{$1} && $README_WORD{"_$2"};
}
sub json_keys {
    my ($v) = @_;
    return map { json_keys($_) } @$v if ref $v eq 'ARRAY';
    return () unless ref $v eq 'HASH';
    return map { ($_, json_keys($v->{$_})) } keys %$v;
}
sub check_documented {
    my ($json, $prom) = @_;
    my %keys = map { $_ => 1 } json_keys($json);
    my @undoc = grep { !documented($_) } sort keys %keys;
    is_deeply(\@undoc, [], 'every ?json field is in README');
    my @metrics = $prom =~ /^# TYPE (\S+)/mg;
    cmp_ok(scalar @metrics, '>=', 20, scalar(@metrics) . ' metric families');
    is_deeply([grep { !documented($_) } @metrics], [], 'every metric is in README');
}

# ---- httpd alone: the forms, methods, no handler, hostile URLs ----

my $h = MTTest->start(mpm => 'event', modules => ['authz_host'],
                      conf => "HttpProtocolOptions Unsafe\n$LOC");
$h->get('/static.txt') for 1 .. 12;
$h->get('/grow?mb=2');
my ($json) = three_forms($h, 'httpd');
my ($static) = grep { $_->{endpoint} =~ m{/static\.txt} } @{ $json->{endpoints} };
ok($static && $static->{requests} >= 12, "json: the static endpoint with its requests")
    or diag(explain([map { $_->{endpoint} } @{ $json->{endpoints} }]));
ok((grep { $_->{kind} eq 'httpd' && $_->{memory_after} > 0 } @{ $json->{processes} }),
   'json: httpd children with their memory');
$h->get('/memtrack-status?json') for 1 .. 3;
$json = decode_json_strict($h->get('/memtrack-status?json')->{content});
is_deeply([grep { $_->{endpoint} =~ /memtrack-status/ } @{ $json->{endpoints} }], [],
          'the status page is no endpoint');
$h->get('/static.txt?after-status');
$h->wait_records(14, 10);
is_deeply([grep { ($_->{url} // '') =~ /memtrack-status/ } $h->records], [],
          'requests to the status page are not recorded');

my $head = $h->request('HEAD', '/memtrack-status');
is($head->{status}, 200, 'HEAD: 200');
is($head->{content} // '', '', 'HEAD: no body');
is($head->{headers}{'content-type'}, 'text/html; charset=utf-8', 'HEAD: content type');
my $post = $h->request('POST', '/memtrack-status?json', {}, 'x=1');
is($post->{status}, 405, 'POST: 405');
like($post->{headers}{allow} // '', qr/\bGET\b/, 'POST: Allow names GET');
like($h->get('/memtrack-status?refresh=5')->{content},
     qr/<meta http-equiv="refresh" content="5">/, '?refresh=5 reloads every 5 s');
like($h->get('/memtrack-status?refresh=999999')->{content},
     qr/content="3600">/, '?refresh is bounded (3600 s)');
unlike($h->get('/memtrack-status')->{content}, qr/http-equiv="refresh"/,
       'no reload unless asked');
is($h->get('/other-status?json')->{status}, 404, 'a location without the handler: 404');
is($h->get('/static.txt?prometheus')->{content}, "static\n",
   '?prometheus elsewhere: the file, no metrics');

my @hostile = (
    qq{/hostile/"><script>alert(1)</script>?x=1},
    qq{/h/back\\slash"quote'apos</svg><svg onload=alert(1)>},
    "/h/\xff\xfe\xc3\x28/caf\xc3\xa9/\xe2\x98\x83",
    '/h/%0a%0d%22%3Cscript%3E',
    '/h/' . ('"<\\' x 100),
);
$h->raw_request("GET $_ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n") for @hostile;
my ($hjson, $hprom) = three_forms($h, 'hostile URLs');
ok((grep { $_->{endpoint} =~ /<script>/ } @{ $hjson->{endpoints} || [] }),
   'a hostile name reached the page (and the JSON holds it as text)');
like($hprom, qr/endpoint="(?:[^"\\\n]|\\.)*<script>/, 'the hostile name is a clean label');
my $dom = browse_checks($h, 'hostile URLs in chromium', 1);
like($dom, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'chromium shows the name as text');
$h->stop;
is($h->sanitizer_log, '', 'no sanitizer report') if $ENV{MT_ASAN};

# A server where no <Location> sets the handler serves no status anywhere.
my $plain = MTTest->start(mpm => 'prefork');
$plain->get('/static.txt');
is($plain->get('/memtrack-status?json')->{status}, 404, 'no handler set: /memtrack-status is 404');
unlike($plain->get('/?prometheus')->{content}, qr/memtrack_/, 'no handler set: no metrics');
$plain->stop;

# ---- Passenger: app processes, hostile controller names, Prometheus, Chromium ----

my $p = MTPassCheck::start(app => 'rack', procs => 2, mpm => 'event',
                           modules => ['authz_host'], conf => $LOC);
my @apps = MTPassenger::warm($p, procs => 2);
is(scalar @apps, 2, "two app processes: @apps");
for my $round (1 .. 25) {
    MTPassCheck::par_get($p, '/leak', '/cache', '/garbage', '/hello');
}
my @names = ('"><script>alert(1)</script>', "new\nline\\back\"slash",
             'A' x 200, "caf\xc3\xa9\xff", "Items</td><td>");
for my $n (@names) {
    (my $enc = $n) =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord $1)/ge;
    MTPassCheck::par_get($p, "/name?c=$enc&a=$enc", "/name?c=X$enc&a=show");
}
my ($pjson, $pprom) = three_forms($p, 'passenger');
check_documented($pjson, $pprom);
my @app_procs = grep { $_->{kind} eq 'app' } @{ $pjson->{processes} || [] };
cmp_ok(scalar @app_procs, '>=', 2, 'json: both app processes');
ok((grep { @{ $_->{history} } >= 2 } @app_procs), 'json: an app process with a history');

my $prom = MTProm->start(targets => ['127.0.0.1:' . $p->port],
                         path => '/memtrack-status', params => { prometheus => '1' });
my $want = sub {
    my %ep = map { ($_->{metric}{endpoint} // '') => 1 } @_;
    return (grep { /leak/ } keys %ep) && (grep { /hello/ } keys %ep);
};
my @series = $prom->wait_query('memtrack_requests_total', $want, 30);
ok($want->(@series), 'Prometheus scraped ?prometheus: memtrack_requests_total has the endpoints')
    or diag(explain([$prom->targets]), $prom->log_text);
my ($leak) = grep { ($_->{metric}{endpoint} // '') =~ /leak/ } @series;
cmp_ok($leak ? $leak->{value}[1] : 0, '>=', 25, 'Prometheus: the leak endpoint has its requests');
my @rss = $prom->query('memtrack_process_resident_memory_bytes{kind="app"}');
cmp_ok(scalar @rss, '>=', 2, 'Prometheus: resident memory of the app processes by slot');
is_deeply([map { $_->{health} } $prom->targets], ['up'], 'Prometheus: the target is up');
$prom->stop;

my $pdom = browse_checks($p, 'passenger page in chromium', 1 + scalar @app_procs);
# only the status page itself replaces the kept screenshot
if (ok($pdom =~ /<h2 id="suspects">Leak suspects/, 'chromium rendered the status page')) {
    ok(MTBrowser::screenshot($p->url('/memtrack-status'), $SHOT, '1400,2600'),
       "screenshot kept: $SHOT");
}
MTPassCheck::finish($p);

done_testing();

#!/usr/bin/perl
# MemTrackTarget with a Passenger app (2 processes, companion on):
# self samples the httpd child even when the app names itself (and the
# app's own numbers are not mixed into it); backend without an app (a
# static file) gives a record with no pid that says why; auto follows the
# app when it answers and stays on the child otherwise. Where requests are
# not recorded (MemTrack Off, or not sampled by MemTrackSampleRate) the
# app's X-MemTrack still never reaches the client.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use MTPassenger;
use MTPassCheck;
use Test::More;

MTPassCheck::plan_or_skip();

my $MiB = 1 << 20;
my $h = MTPassCheck::start(app => 'rack', procs => 2, conf => <<'EOC');
<Location /hello>
  MemTrackTarget self
</Location>
<Location /leak>
  MemTrack Off
</Location>
<Location /cache>
  MemTrackSampleRate 1000000
</Location>
<If "%{QUERY_STRING} =~ /tgt=self/">
  MemTrackTarget self
</If>
<If "%{QUERY_STRING} =~ /tgt=backend/">
  MemTrackTarget backend
</If>
EOC
my @apps = MTPassenger::warm($h, procs => 2);
is(scalar @apps, 2, "two app processes: @apps");
my %is_child = map { $_ => 1 } $h->child_pids;

sub raw_get {
    my ($path) = @_;
    my $raw = $h->raw_request("GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    my ($head, $body) = MTPassCheck::raw_split($raw);
    ok(!MTPassCheck::raw_has_memtrack($raw), "$path: no X-MemTrack to the client")
        or diag($head);
    return ($raw =~ m{\AHTTP/1\.1 (\d{3})} ? $1 : 0, $body);
}

sub self_record {
    my ($what, $rec, $app_pid) = @_;
    is_deeply([MTPassCheck::problems($rec)], [], "$what: record well formed");
    is($rec->{target}, 'self', "$what: target self");
    is($rec->{attribution}, 'self', "$what: attribution self");
    ok($is_child{ $rec->{pid} // 0 }, "$what: pid is an httpd child");
    is($rec->{pid}, $rec->{httpd_pid}, "$what: pid = httpd_pid");
    isnt($rec->{pid}, $app_pid, "$what: not the app that answered");
    is($rec->{before_source}, 'module', "$what: before from the module");
    is($rec->{gc_stats_after}, undef, "$what: no app GC stats on a self record");
    is($rec->{objects_after}, undef, "$what: no app object count on a self record");
}

subtest 'MemTrackTarget self: the httpd child even when the app answers' => sub {
    for my $path ('/pid?tgt=self&' . MTPassCheck::token(),
                  '/hello?' . MTPassCheck::token()) {
        my ($st, $body) = raw_get($path);
        is($st, 200, "$path: 200");
        my %rec = MTPassCheck::records_for($h, $path);
        self_record($path, $rec{$path} || {}, MTPassCheck::body_pid($body));
    }
    my $path = '/retain?mb=10&tgt=self&' . MTPassCheck::token();
    my ($st, $body) = raw_get($path);
    my %rec = MTPassCheck::records_for($h, $path);
    my $rec = $rec{$path} || {};
    self_record($path, $rec, MTPassCheck::body_pid($body));
    cmp_ok(abs($rec->{memory_growth} // 1e12), '<', 8 * $MiB,
           'the app\'s 10 MiB are not in the child\'s record');
};

subtest 'MemTrackTarget backend without an app: no pid, says why' => sub {
    my $path = '/static.txt?tgt=backend&' . MTPassCheck::token();
    my ($st, $body) = raw_get($path);
    is($body, "static\n", 'static file served');
    my %rec = MTPassCheck::records_for($h, $path);
    my $rec = $rec{$path} || {};
    is_deeply([MTPassCheck::problems($rec)], [], 'record well formed');
    is($rec->{target}, 'backend', 'target backend');
    is($rec->{pid}, undef, 'pid null');
    like($rec->{attribution} // '', qr/^unattributed/, "attribution: $rec->{attribution}");
    is($rec->{memory_before}, undef, 'memory_before null');
    is($rec->{memory_after}, undef, 'memory_after null');
    is($rec->{memory_growth}, undef, 'memory_growth null');
    is($rec->{before_source}, 'none', 'before_source none');
    ok(!$rec->{threshold_exceeded}, 'threshold not exceeded');

    $path = '/pid?tgt=backend&' . MTPassCheck::token();
    ($st, $body) = raw_get($path);
    %rec = MTPassCheck::records_for($h, $path);
    $rec = $rec{$path} || {};
    is($rec->{attribution}, 'header', 'backend with an app: attributed by header');
    is($rec->{pid}, MTPassCheck::body_pid($body), 'backend with an app: the serving pid');
};

subtest 'auto: the app when it answers, the child otherwise' => sub {
    my $path = '/static.txt?' . MTPassCheck::token();
    raw_get($path);
    my %rec = MTPassCheck::records_for($h, $path);
    self_record($path, $rec{$path} || {}, 0);
    $path = '/pid?' . MTPassCheck::token();
    my (undef, $body) = raw_get($path);
    %rec = MTPassCheck::records_for($h, $path);
    is($rec{$path}{target}, 'backend', 'app request: backend');
    is($rec{$path}{pid}, MTPassCheck::body_pid($body), 'app request: the serving pid');
};

subtest 'not recorded, still stripped' => sub {
    my @off = map { '/leak?' . MTPassCheck::token() } 1 .. 3;
    my @unsampled = map { '/cache?' . MTPassCheck::token() } 1 .. 10;
    for my $path (@off, @unsampled) {
        my ($st, $body) = raw_get($path);
        is($st, 200, "$path: 200");
        ok(MTPassCheck::body_pid($body), "$path: served by the app");
    }
    my $marker = '/static.txt?' . MTPassCheck::token();
    raw_get($marker);
    my %rec = MTPassCheck::records_for($h, $marker);
    ok($rec{$marker}, 'later request recorded');
    my %url = map { (MTTest::decode_line($_) || {})->{url} // '' => 1 } $h->raw_lines;
    is(scalar(grep { $url{$_} } @off), 0, 'MemTrack Off: no records');
    # counted per httpd child (ServerLimit 4): at most one each
    cmp_ok(scalar(grep { $url{$_} } @unsampled), '<=', 4,
           'MemTrackSampleRate 1000000: at most one request per child recorded');
};

MTPassCheck::finish($h);
undef $h;
done_testing();

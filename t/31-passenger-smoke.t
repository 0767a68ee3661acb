#!/usr/bin/perl
# Passenger plumbing without mod_memtrack: the test apps run under real
# Passenger (event MPM) from t/lib/MTPassenger.pm, in 2 processes, never as
# root; the companion's X-MemTrack reaches the client (no module to strip
# it) with the pid that served the request; the no-code-change preload
# works; the Rails app answers items#index with its query cache; probes
# measure what the test app's endpoints keep.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use MTPassenger;
use Test::More;

my $why = MTPassenger::why_not();
plan skip_all => $why if $why;

my %KNOWN = map { $_ => 1 } qw(v pid rss_before rss_after gc_before gc_after
    minor_before minor_after major_before major_after live_before live_after
    old_before old_after alloc_before alloc_after freed_before freed_after
    uss pss qc_before qc_after controller action probe probe_done probe_bytes
    probe_objects probe_us);

# The companion's header as a hash; undef unless every item is well formed.
sub memtrack_header {
    my ($res) = @_;
    my $v = $res->{headers}{'x-memtrack'};
    return undef if !defined $v || ref $v;
    my %h;
    for my $item (split /;\s*/, $v) {
        my ($k, $val) = split /=/, $item, 2;
        return undef unless $KNOWN{$k} && defined $val && !exists $h{$k};
        return undef unless $val =~ ($k =~ /^(controller|action)$/
            ? qr{^[A-Za-z0-9_:/.#-]{1,128}$}
            : $k =~ /^probe_(bytes|objects)$/ ? qr/^(0|-?[1-9]\d{0,15})$/
            : qr/^\d{1,16}$/);
        $h{$k} = $val;
    }
    return $h{v} && $h{pid} ? \%h : undef;
}

sub uid_of {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return -1;
    while (<$fh>) { return $1 if /^Uid:\s+(\d+)/ }
    return -1;
}

sub body_pid { my ($res) = @_; return ($res->{content} // '') =~ /^(\d+)\n/ ? $1 : 0 }

subtest 'rack app, 2 processes' => sub {
    my $h = MTPassenger->start(app => 'rack', procs => 2, memtrack => 0);
    my @pids = MTPassenger::warm($h, procs => 2);
    is(scalar @pids, 2, "two app processes answered: @pids");
    is_deeply([MTPassenger::app_pids($h)], \@pids, 'app_pids finds the same');
    for my $p (@pids) {
        isnt(uid_of($p), 0, "app $p does not run as root");
    }

    # under concurrent load both processes serve
    my %served;
    for my $round (1 .. 5) {
        $served{ /^(\d+)/ ? $1 : 'bad' }++ for MTPassenger::parallel_get($h, '/sleep?ms=150', 6);
        last if keys %served >= 2;
    }
    is_deeply([sort { $a <=> $b } keys %served], \@pids, 'both pids serve under load');

    for (1 .. 5) {
        my $r = $h->get('/pid');
        my $m = memtrack_header($r);
        ok($m, 'well-formed X-MemTrack') or diag explain $r->{headers};
        is($m && $m->{pid}, body_pid($r), 'header pid is the serving pid');
    }

    is($h->get('/hello')->{content}, "hello\n", '/hello');
    my $st = $h->get('/static.txt');
    is($st->{content}, "static\n", 'static file served by httpd');
    ok(!exists $st->{headers}{'x-memtrack'}, 'no X-MemTrack on static file');

    my $head = $h->request('HEAD', '/hello');
    is($head->{status}, 200, 'HEAD /hello');
    is($head->{content} // '', '', 'HEAD has no body');
    ok(memtrack_header($head), 'HEAD carries X-MemTrack');

    my $nm = $h->get('/status/304');
    is($nm->{status}, 304, 'status 304');
    ok(memtrack_header($nm), '304 carries X-MemTrack');
    my $err = $h->get('/error');
    is($err->{status}, 500, '/error is 500');
    ok(memtrack_header($err), '500 carries X-MemTrack');
    # Passenger answers an exception that escapes the Rack app with 502
    # "Incomplete response received from application"; no X-MemTrack then.
    like($h->get('/raise')->{status}, qr/^50[02]$/, 'an exception is a 5xx');
    my $stream = $h->get('/stream');
    is(scalar(() = $stream->{content} =~ /^chunk \d/mg), 5, 'streamed body');
    ok(memtrack_header($stream), 'stream carries X-MemTrack');

    my $ret = $h->get('/retain?mb=10');
    my $m = memtrack_header($ret);
    cmp_ok($m->{rss_after} - $m->{rss_before}, '>=', 8 << 20,
           'retaining 10 MB shows in the app\'s own rss');

    # Rack 2 joins repeated headers with "\n"; Passenger hands them on and
    # the client gets one comma-joined value.
    my $multi = $h->get('/hostile?kind=multi');
    like($multi->{headers}{'x-memtrack'}, qr/^v=1; pid=1,\s*v=1; pid=\d+$/,
         'a newline-joined header comes out comma-joined');

    my %start = MTPassenger::start_times(MTPassenger::passenger_pids($h));
    ok(keys %start >= 4, 'watchdog, core and apps found');
    my @killed = MTPassenger::stop($h);
    diag("needed KILL: @killed") if @killed;
    is_deeply([grep { MTPassenger::_alive($_, $start{$_}) } sort keys %start], [],
              'no Passenger process left');
};

# Without the module in front a client's X-MemTrack-Want reaches the app,
# which is all a probe needs; one process, so the next request is served by
# the same one. Real GCs and glibc statistics in a real app process.
subtest 'probes in a Passenger app process' => sub {
    my $h = MTPassenger->start(app => 'rack', procs => 1, memtrack => 0,
                               env => { MEMTRACK_PROBE_BUDGET => '1' });
    my ($pid) = MTPassenger::warm($h, procs => 1);
    my $token = 0;
    # The result of probing one request of $path (undef when it failed).
    my $once = sub {
        my ($path) = @_;
        $token++;
        my $m = memtrack_header($h->get($path,
            { 'X-MemTrack-Want' => "probe=$token; ps=1000" }));
        return undef unless $m && ($m->{probe} // 0) == $token;
        my $n = memtrack_header($h->get('/pid'));
        return undef unless $n && ($n->{probe_done} // 0) == $token
            && $n->{pid} == $pid && defined $n->{probe_bytes};
        return $n->{probe_bytes};
    };
    # The median of three, as ruby/test/test_probe.rb does.
    my $probe = sub {
        my @r = map { $once->($_[0]) } 1 .. 3;
        return undef if grep { !defined } @r;
        return (sort { $a <=> $b } @r)[1];
    };
    for my $path (qw(/leak /leak_native /cache_fill /bloat /garbage /hello)) {
        $h->get($path) for 1 .. 3;
    }
    my %got = map { $_ => $probe->($_) }
              qw(/leak /leak_native /cache_fill /bloat /garbage /hello);
    diag(join ', ', map { "$_ $got{$_}" } sort keys %got);
    # /leak keeps 100 strings of 500 bytes: 512-byte buffers and 40-byte slots.
    cmp_ok(abs(($got{'/leak'} // 0) - 55_200), '<', 5_000, '/leak: ~55 KB kept');
    cmp_ok(abs(($got{'/leak_native'} // 0) - 50_000), '<', 5_000,
           '/leak_native: ~50 KB of malloc kept');
    cmp_ok(abs(($got{'/cache_fill'} // 0) - 2_200), '<', 1_000,
           '/cache_fill (under 300 entries): ~2 KB kept');
    for my $path (qw(/bloat /garbage /hello)) {
        ok(defined $got{$path} && abs($got{$path}) < 8192,
           "$path: nothing kept after its first call");
    }
    MTPassenger::stop($h);
};

subtest 'no-code-change preload' => sub {
    my $h = MTPassenger->start(app => 'rack-plain', procs => 1, memtrack => 0,
                               preload => 1);
    MTPassenger::warm($h, procs => 1);
    my $r = $h->get('/pid');
    my $m = memtrack_header($r);
    ok($m, 'RUBYOPT preload puts X-MemTrack on an app without the middleware')
        or diag explain $r->{headers};
    is($m && $m->{pid}, body_pid($r), 'with the serving pid');
    MTPassenger::stop($h);

    $h = MTPassenger->start(app => 'rack-plain', procs => 1, memtrack => 0);
    MTPassenger::warm($h, procs => 1);
    ok(!exists $h->get('/pid')->{headers}{'x-memtrack'}, 'and none without it');
    MTPassenger::stop($h);
};

subtest 'smart spawning: apps forked from a preloader' => sub {
    # Under MT_ASAN the agents run without the ASan runtime (see
    # MTPassenger::passenger_root), so smart spawning works there too.
    my $h = MTPassenger->start(app => 'rack', procs => 2, memtrack => 0,
                               spawn => 'smart');
    my @pids = MTPassenger::warm($h, procs => 2);
    is(scalar @pids, 2, "two forked app processes: @pids");
    my %ok;
    for (1 .. 30) {
        my $r = $h->get('/pid');
        my $m = memtrack_header($r) or next;
        my $pid = body_pid($r);
        next unless $m->{pid} == $pid;
        # the rss is the forked process's own (the unit test covers a statm
        # opened before the fork; the preloader serves no request)
        my $rss = MTTest::rss_bytes($pid) // 0;
        $ok{$pid}++ if abs($m->{rss_after} - $rss) < (4 << 20);
        last if keys %ok >= 2;
        MTPassenger::parallel_get($h, '/sleep?ms=50', 3) if $_ % 5 == 0;
    }
    ok(scalar(keys %ok) >= 1, 'header pid and rss belong to the forked process: '
       . join(',', sort keys %ok));
    MTPassenger::stop($h);
};

subtest 'rails app' => sub {
    my $h = MTPassenger->start(app => 'rails', procs => 2, memtrack => 0);
    my @pids = MTPassenger::warm($h, procs => 2);
    is(scalar @pids, 2, "two Rails processes: @pids");
    my $r = $h->get('/items');
    is($r->{status}, 200, 'items#index');
    like($r->{content}, qr/^\d+\nqc=3\nitems=50 /, 'index ran its queries');
    my $m = memtrack_header($r) || {};
    is($m->{pid}, body_pid($r), 'header pid is the serving pid');
    is($m->{controller}, 'ItemsController', 'controller');
    is($m->{action}, 'index', 'action');
    is($m->{qc_before}, 0, 'query cache empty before');
    is($m->{qc_after}, 3, 'query cache as the app saw it');
    my $s = memtrack_header($h->get('/items/3')) || {};
    is($s->{action}, 'show', 'items#show');
    is($s->{qc_after}, 1, 'show: one cached query');
    my $head = $h->request('HEAD', '/items');
    is($head->{status}, 200, 'HEAD /items');
    is($head->{content} // '', '', 'HEAD has no body');
    is($h->get('/nope')->{status}, 404, 'unknown route 404');
    ok(-s $h->dir . '/appdata/rails.sqlite3', 'database made in the temp dir');
    MTPassenger::stop($h);
};

subtest 'rails app, middleware only through the preload' => sub {
    my $h = MTPassenger->start(app => 'rails', procs => 1, memtrack => 0,
                               preload => 1, env => { MT_NO_MIDDLEWARE => 1 });
    MTPassenger::warm($h, procs => 1);
    my $r = $h->get('/items');
    my $m = memtrack_header($r) || {};
    is($m->{pid}, body_pid($r), 'preloaded companion reports the serving pid');
    is($m->{controller}, 'ItemsController', 'controller');
    is($m->{action}, 'index', 'action');
    is($m->{qc_after}, 3, 'query cache');
    MTPassenger::stop($h);
};

done_testing();

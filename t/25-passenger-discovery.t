#!/usr/bin/perl
# Passenger without the companion (t/apps/rack-plain): with one app process
# the module finds it by itself (attribution "single", the app's pid, its
# memory, "before" from the module's previous sample of that pid); when the
# process is replaced the new one is found and the dead one never named;
# with two processes it does not guess (auto: the httpd child, saying why;
# backend: no pid, saying why); with an app root that has no process it
# says so; two servers running the same app root each find their own.
#
# The app runs from a private copy (its own app root, so that another test
# server running rack-plain at the same time cannot make the host-wide
# discovery ambiguous), named by MemTrackAppRoot: the harness serves the app
# from its own DocumentRoot, whose parent is not the app root.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use MTPassenger;
use MTPassCheck;
use Time::HiRes qw(sleep);
use MTClock qw(time);
use Test::More;

MTPassCheck::plan_or_skip();

my $MiB = 1 << 20;
my $root = MTPassCheck::private_app('rack-plain');
my $conf = <<"EOC";
MemTrackAppRoot "$root"
<If "%{QUERY_STRING} =~ /tgt=backend/">
  MemTrackTarget backend
</If>
<If "%{QUERY_STRING} =~ /root=elsewhere/">
  MemTrackAppRoot /nonexistent/app
</If>
EOC

sub get_rec {
    my ($h, $path) = @_;
    my $res = $h->get($path);
    my %rec = MTPassCheck::records_for($h, $path);
    return ($res, $rec{$path} || {});
}

subtest 'one process: found without the companion' => sub {
    my $h = MTPassCheck::start(app => $root, procs => 1, conf => $conf);
    my ($app) = MTPassenger::warm($h, procs => 1);
    ok($app, "one app process: $app");
    is_deeply([MTPassenger::app_pids($h)], [$app], 'and only one');
    my %is_child = map { $_ => 1 } $h->child_pids;

    for my $i (1 .. 4) {
        my $mode = $i % 2 ? 'auto' : 'backend';
        my ($res, $rec) = get_rec($h, "/pid?tgt=$mode&" . MTPassCheck::token());
        my $what = "request $i ($mode)";
        ok(!exists $res->{headers}{'x-memtrack'}, "$what: the app sends no header");
        is_deeply([MTPassCheck::problems($rec)], [], "$what: record well formed");
        is($rec->{target}, 'backend', "$what: target backend");
        is($rec->{attribution}, 'single', "$what: attribution single");
        is($rec->{pid}, $app, "$what: the app's pid");
        is($rec->{pid}, MTPassCheck::body_pid($res), "$what: the serving pid");
        is($rec->{before_source}, 'previous', "$what: before from the previous sample");
        ok(MTTest::_is_int($rec->{memory_after})
           && abs($rec->{memory_after} - MTTest::rss_bytes($app)) < 4 * $MiB,
           "$what: memory_after is the app's rss");
        is($rec->{gc_stats_after}, undef, "$what: no GC stats without the companion");
        is($rec->{objects_after}, undef, "$what: no object count invented");
        is($rec->{controller}, undef, "$what: no controller invented");
        ok($is_child{ $rec->{httpd_pid} // 0 }, "$what: httpd_pid is a child");
    }

    my ($res, $rec) = get_rec($h, '/retain?mb=10&' . MTPassCheck::token());
    is($rec->{attribution}, 'single', 'retain: single');
    my $g = $rec->{memory_growth} // 0;
    ok($g >= 8 * $MiB && $g <= 14 * $MiB,
       sprintf('retain: growth %.2f MiB near 10 MiB (before: %s)', $g / $MiB,
               $rec->{before_source} // 'null'));

    ($res, $rec) = get_rec($h, '/pid?root=elsewhere&' . MTPassCheck::token());
    is($rec->{target}, 'self', 'app root without a process: target self');
    is($rec->{attribution}, 'self (backend unattributed: no app process found)',
       'and the record says why');
    ($res, $rec) = get_rec($h, '/pid?root=elsewhere&tgt=backend&' . MTPassCheck::token());
    is($rec->{pid}, undef, 'backend: no pid');
    is($rec->{attribution}, 'unattributed: no app process found', 'backend: why');

    ($res, $rec) = get_rec($h, '/static.txt?' . MTPassCheck::token());
    is($rec->{target}, 'self', 'static file: self');
    is($rec->{attribution}, 'self', 'static file: attribution self');

    # The process is replaced: the dead pid is never named, the new one is
    # found (the module caches the answer for about a second).
    my $born = MTPassenger::start_time($app);
    kill 'KILL', $app;
    my $until = time + 5;
    sleep 0.1 while MTPassenger::_alive($app, $born) && time < $until;
    ok(!MTPassenger::_alive($app, $born), "app $app killed");
    my ($new, @recs);
    $until = time + 20;
    while (time < $until) {
        my ($r2, $x) = get_rec($h, '/pid?' . MTPassCheck::token());
        push @recs, $x if $r2->{status} == 200;
        $new = MTPassCheck::body_pid($r2) if $r2->{status} == 200;
        last if $new && ($x->{pid} // 0) == $new && ($x->{attribution} // '') eq 'single';
        sleep 0.3;
    }
    ok($new && $new != $app, "a new app process: " . ($new // 'none'));
    is(scalar(grep { ($_->{pid} // 0) == $app } @recs), 0, 'the dead pid is never named');
    is_deeply([MTPassCheck::problems($recs[-1])], [], 'records well formed');
    is($recs[-1]{pid}, $new, 'the new process is found');
    MTPassCheck::finish($h);
};

subtest 'two processes: no guess' => sub {
    my $h = MTPassCheck::start(app => $root, procs => 2, conf => $conf);
    my @apps = MTPassenger::warm($h, procs => 2);
    is(scalar @apps, 2, "two app processes: @apps");
    my %is_app = map { $_ => 1 } @apps;
    my %is_child = map { $_ => 1 } $h->child_pids;
    # Passenger spawns the second process while the first already serves;
    # each httpd child caches its discovery answer for a second, so a child
    # that looked while there was one process still says "single" for up
    # to a second (a known window, reported; not what this test is about).
    sleep 1.5;
    for my $mode (qw(auto backend auto backend)) {
        my @paths = map { "/sleep?ms=100&tgt=$mode&" . MTPassCheck::token() } 1 .. 2;
        my @res = MTPassCheck::par_get($h, @paths);
        my %rec = MTPassCheck::records_for($h, @paths);
        for my $p (@paths) {
            my $rec = $rec{$p} || {};
            is_deeply([MTPassCheck::problems($rec)], [], "$p: record well formed");
            ok(!$is_app{ $rec->{pid} // 0 }, "$p: not attributed to an app process");
            if ($mode eq 'auto') {
                is($rec->{attribution}, 'self (backend unattributed: several app processes)',
                   "$p: says why");
                is($rec->{target}, 'self', "$p: target self");
                ok($is_child{ $rec->{pid} // 0 }, "$p: the httpd child");
            } else {
                is($rec->{attribution}, 'unattributed: several app processes', "$p: says why");
                is($rec->{target}, 'backend', "$p: target backend");
                is($rec->{pid}, undef, "$p: pid null");
                is($rec->{memory_after}, undef, "$p: no memory");
            }
        }
    }
    MTPassCheck::finish($h);
};

subtest 'two servers, one app root: each finds its own process' => sub {
    # The same app root under two httpd instances: by title alone that is
    # two processes (ambiguous); by descent from the httpd parent each
    # server has one.
    my @h = map { MTPassCheck::start(app => $root, procs => 1, conf => $conf) } 1 .. 2;
    my @app = map { (MTPassenger::warm($_, procs => 1))[0] } @h;
    ok($app[0] && $app[1] && $app[0] != $app[1], "one app process each: @app");
    for my $i (0, 1) {
        for my $n (1 .. 3) {
            my ($res, $rec) = get_rec($h[$i], '/pid?' . MTPassCheck::token());
            my $what = "server $i, request $n";
            is_deeply([MTPassCheck::problems($rec)], [], "$what: record well formed");
            is($rec->{attribution}, 'single', "$what: single, not ambiguous");
            is($rec->{pid}, $app[$i], "$what: this server's app process");
            is($rec->{pid}, MTPassCheck::body_pid($res), "$what: the serving pid");
        }
    }
    MTPassCheck::finish($_) for @h;
};

done_testing();

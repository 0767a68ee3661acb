#!/usr/bin/perl
# The no-code-change route: an app without the companion in its code gets
# it from "SetEnv RUBYOPT -r.../ruby/lib/memtrack/preload" alone, and the
# module then attributes by header with GC and object counts, in a pool of
# two processes (t/apps/rack-plain), and in Rails with controller, action
# and query cache (t/apps/rails with MT_NO_MIDDLEWARE=1, which leaves the
# middleware out of its config).
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

subtest 'Rack app without the companion, 2 processes, RUBYOPT preload' => sub {
    my $h = MTPassCheck::start(app => 'rack-plain', procs => 2, preload => 1);
    my @apps = MTPassenger::warm($h, procs => 2);
    is(scalar @apps, 2, "two app processes: @apps");
    my %rubyopt = MTPassCheck::app_env($h, 'RUBYOPT', @apps);
    like($rubyopt{$_} // '', qr{memtrack/preload}, "app $_ got RUBYOPT") for @apps;
    my %served;
    for my $round (1 .. 5) {
        my @paths = map { '/sleep?ms=100&' . MTPassCheck::token() } 1 .. 3;
        my @res = MTPassCheck::par_get($h, @paths);
        my %rec = MTPassCheck::records_for($h, @paths);
        for my $res (@res) {
            my $p = $res->{path};
            my $rec = $rec{$p} || {};
            ok(!exists $res->{headers}{'x-memtrack'}, "$p: no X-MemTrack to the client");
            is_deeply([MTPassCheck::problems($rec)], [], "$p: record well formed");
            is($rec->{attribution}, 'header', "$p: attributed by the preloaded companion");
            is($rec->{target}, 'backend', "$p: target backend");
            is($rec->{pid}, MTPassCheck::body_pid($res), "$p: the serving pid");
            is($rec->{before_source}, 'app', "$p: before from the app");
            is(ref $rec->{gc_stats_before}, 'HASH', "$p: GC stats before");
            is(ref $rec->{gc_stats_after}, 'HASH', "$p: GC stats after");
            ok(MTTest::_is_int($rec->{objects_before}) && MTTest::_is_int($rec->{objects_after}),
               "$p: object counts");
            is($rec->{action}, 'sleep', "$p: action named by the app (env)");
            $served{ MTPassCheck::body_pid($res) }++;
        }
        last if keys %served >= 2;
    }
    is_deeply([sort { $a <=> $b } keys %served], \@apps, 'both processes served');

    my $p = '/retain?mb=10&' . MTPassCheck::token();
    $h->get($p);
    my %rec = MTPassCheck::records_for($h, $p);
    my $g = $rec{$p}{memory_growth} // 0;
    ok($g >= 8 * $MiB && $g <= 14 * $MiB, sprintf('retain: %.2f MiB', $g / $MiB));
    $p = '/garbage?' . MTPassCheck::token();
    $h->get($p);
    %rec = MTPassCheck::records_for($h, $p);
    my $r = $rec{$p} || {};
    cmp_ok(($r->{gc_stats_after}{total_allocated_objects} // 0)
           - ($r->{gc_stats_before}{total_allocated_objects} // 0), '>=', 200_000,
           'garbage: 200k allocations counted');
    MTPassCheck::finish($h);
};

subtest 'Rails without the middleware in its config, RUBYOPT preload' => sub {
    my $h = MTPassCheck::start(app => 'rails', procs => 1, preload => 1,
                               env => { MT_NO_MIDDLEWARE => 1 });
    my ($app) = MTPassenger::warm($h, procs => 1);
    my $p = '/items?' . MTPassCheck::token();
    my $res = $h->get($p);
    is($res->{status}, 200, 'items#index');
    ok(!exists $res->{headers}{'x-memtrack'}, 'no X-MemTrack to the client');
    my ($qc) = $res->{content} =~ /^qc=(\d+)$/m;
    my %rec = MTPassCheck::records_for($h, $p);
    my $rec = $rec{$p} || {};
    is_deeply([MTPassCheck::problems($rec)], [], 'record well formed');
    is($rec->{attribution}, 'header', 'attributed by the preloaded companion');
    is($rec->{pid}, $app, 'the app pid');
    is($rec->{pid}, MTPassCheck::body_pid($res), 'the serving pid');
    is($rec->{controller}, 'ItemsController', 'controller');
    is($rec->{action}, 'index', 'action');
    is($qc, 3, 'the action saw 3 cache entries');
    is($rec->{query_cache_after}, $qc, 'query_cache_after as the app saw it');
    is($rec->{query_cache_before}, 0, 'query_cache_before 0');
    is(ref $rec->{gc_stats_after}, 'HASH', 'GC stats');
    MTPassCheck::finish($h);
};

done_testing();

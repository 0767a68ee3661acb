#!/usr/bin/perl
# A real Rails 6.1 app (t/apps/rails, sqlite3) under Passenger in 2
# processes, event MPM, companion as the outermost middleware: records carry
# the controller and action Rails routed to, the query cache entries the
# action left (compared with what the action itself saw, printed in its
# body), the serving pid request by request, and a 10 MiB retention in the
# process that did it.
#
# What the app does (t/apps/rails/app/controllers/items_controller.rb):
# index runs four queries, three distinct (one repeated: a cache hit), so 3
# cache entries; show runs one query twice: 1 entry; pid, retain: none. The
# cache is empty when a request starts (Rails clears it after each one).
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
my $h = MTPassCheck::start(app => 'rails', procs => 2);
my @apps = MTPassenger::warm($h, procs => 2);
is(scalar @apps, 2, "two Rails processes: @apps");
my %is_app = map { $_ => 1 } @apps;

# qc=N on the body's second line: the cache as the action saw it at its end
sub body_qc {
    my ($res) = @_;
    my ($qc) = ($res->{content} // '') =~ /^qc=(\d+|nil)$/m;
    return (!defined $qc || $qc eq 'nil') ? undef : $qc + 0;
}

sub check_rails {
    my ($what, $rec, $res, $controller, $action) = @_;
    ok($rec, "$what: record") or return;
    is_deeply([MTPassCheck::problems($rec)], [], "$what: record well formed");
    is($rec->{target}, 'backend', "$what: target backend");
    is($rec->{attribution}, 'header', "$what: attributed by the app");
    is($rec->{pid}, MTPassCheck::body_pid($res), "$what: pid is the serving process");
    ok($is_app{ $rec->{pid} // 0 }, "$what: an app pid");
    is($rec->{controller}, $controller, "$what: controller $controller");
    is($rec->{action}, $action, "$what: action $action");
    is($rec->{before_source}, 'app', "$what: before from the app");
    is(ref $rec->{gc_stats_after}, 'HASH', "$what: GC stats");
    ok(MTTest::_is_int($rec->{objects_after}), "$what: object count");
}

subtest 'items#index under concurrency: controller, action, query cache, pid' => sub {
    my %served;
    for my $round (1 .. 4) {
        my @paths = map { '/items?' . MTPassCheck::token() } 1 .. 3;
        my @res = MTPassCheck::par_get($h, @paths);
        my %rec = MTPassCheck::records_for($h, @paths);
        for my $res (@res) {
            my $p = $res->{path};
            is($res->{status}, 200, "$p: 200");
            like($res->{content}, qr/^items=50 cheap=9 first=1,2,3,4,5$/m, "$p: the index ran");
            my $rec = $rec{$p} || {};
            check_rails($p, $rec, $res, 'ItemsController', 'index');
            is(body_qc($res), 3, "$p: the action saw 3 cache entries");
            is($rec->{query_cache_after}, body_qc($res), "$p: query_cache_after as the app saw it");
            is($rec->{query_cache_before}, 0, "$p: query cache empty before");
            $served{ MTPassCheck::body_pid($res) }++;
        }
        last if keys %served >= 2;
    }
    is_deeply([sort { $a <=> $b } keys %served], \@apps, 'both Rails processes served');
};

subtest 'show, pid, HEAD, 404' => sub {
    my $p = '/items/3?' . MTPassCheck::token();
    my $res = $h->get($p);
    like($res->{content}, qr/^item=item3$/m, 'items#show');
    my %rec = MTPassCheck::records_for($h, $p);
    check_rails($p, $rec{$p}, $res, 'ItemsController', 'show');
    is(body_qc($res), 1, 'show: the action saw 1 entry');
    is($rec{$p}{query_cache_after}, 1, 'show: query_cache_after 1');
    is($rec{$p}{query_cache_before}, 0, 'show: query_cache_before 0');

    $p = '/pid?' . MTPassCheck::token();
    $res = $h->get($p);
    %rec = MTPassCheck::records_for($h, $p);
    check_rails($p, $rec{$p}, $res, 'ItemsController', 'pid');
    is($rec{$p}{query_cache_after}, body_qc($res), 'pid: query cache as the app saw it');
    is($rec{$p}{query_cache_after}, 0, 'pid: no queries, no entries');

    $p = '/items?' . MTPassCheck::token();
    my $raw = $h->raw_request("HEAD $p HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    like($raw, qr{\AHTTP/1\.1 200 }, 'HEAD /items 200');
    ok(!MTPassCheck::raw_has_memtrack($raw), 'HEAD: no X-MemTrack to the client');
    %rec = MTPassCheck::records_for($h, $p);
    my $r = $rec{$p} || {};
    is($r->{method}, 'HEAD', 'HEAD recorded');
    is($r->{controller}, 'ItemsController', 'HEAD: controller');
    is($r->{action}, 'index', 'HEAD: action');
    is($r->{query_cache_after}, 3, 'HEAD: the index ran its queries');

    $p = '/nope?' . MTPassCheck::token();
    $raw = $h->raw_request("GET $p HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    like($raw, qr{\AHTTP/1\.1 404 }, 'unknown route 404');
    ok(!MTPassCheck::raw_has_memtrack($raw), '404: no X-MemTrack to the client');
    %rec = MTPassCheck::records_for($h, $p);
    $r = $rec{$p} || {};
    is_deeply([MTPassCheck::problems($r)], [], '404: record well formed');
    is($r->{status}, 404, '404 recorded');
    is($r->{attribution}, 'header', '404: attributed by the app');
    isnt($r->{controller}, 'ItemsController', '404: no controller invented');

    $p = '/items/999?' . MTPassCheck::token();
    $res = $h->get($p);
    is($res->{status}, 404, 'missing record: 404');
    %rec = MTPassCheck::records_for($h, $p);
    $r = $rec{$p} || {};
    is($r->{controller}, 'ItemsController', 'RecordNotFound: controller');
    is($r->{action}, 'show', 'RecordNotFound: action');
    is($r->{status}, 404, 'RecordNotFound: status 404');
    ok(!exists $res->{headers}{'x-memtrack'}, 'RecordNotFound: no X-MemTrack to the client');
};

subtest 'retaining 10 MiB in Rails' => sub {
    my $p = '/retain?mb=10&' . MTPassCheck::token();
    my $res = $h->get($p);
    like($res->{content}, qr/^retained=10$/m, 'retained');
    my %rec = MTPassCheck::records_for($h, $p);
    my $r = $rec{$p} || {};
    check_rails($p, $r, $res, 'ItemsController', 'retain');
    my $g = $r->{memory_growth} // 0;
    ok($g >= 8 * $MiB && $g <= 14 * $MiB, sprintf('growth %.2f MiB near 10 MiB', $g / $MiB));
    my $me = MTPassCheck::body_pid($res);
    my @other;
    for (1 .. 15) {
        my @paths = map { '/pid?' . MTPassCheck::token() } 1 .. 2;
        my @res = MTPassCheck::par_get($h, @paths);
        my %rr = MTPassCheck::records_for($h, @paths);
        push @other, grep { $_ && ($_->{pid} // 0) != $me } map { $rr{ $_->{path} } } @res;
        last if @other >= 2;
    }
    cmp_ok(scalar @other, '>=', 2, 'the other Rails process served');
    for my $o (@other) {
        cmp_ok(abs($o->{memory_growth} // 1e12), '<', 2 * $MiB,
               "other process $o->{pid}: no such growth");
    }
};

ok(-s $h->dir . '/appdata/rails.sqlite3', 'the database is in the temp dir');
MTPassCheck::finish($h);
undef $h;
done_testing();

#!/usr/bin/perl
# Passenger, event MPM, a Rack app with the companion in 2 processes: every
# record names the process that served its request (the app echoes its pid;
# compared request by request, under concurrency), the X-Request-Id the app
# saw is the record's request_id, memory and GC/object deltas are those of
# that process: a request retaining 10 MiB shows ~10 MiB growth in the
# process that served it and none in the other.
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
my $h = MTPassCheck::start(app => 'rack', procs => 2, mpm => 'event',
                           conf => "MemTrackThreshold 5M\n");
my @apps = MTPassenger::warm($h, procs => 2);
is(scalar @apps, 2, "two app processes: @apps");
my %is_app = map { $_ => 1 } @apps;
my %is_child = map { $_ => 1 } $h->child_pids;

my %preload = MTPassCheck::app_env($h, 'LD_PRELOAD', @apps);
for my $p (@apps) {
    isnt(MTPassCheck::uid_of($p), 0, "app $p is not root's");
    ok(exists $preload{$p}, "app $p answered /getenv");
    is($preload{$p} // '', '', "app $p runs without LD_PRELOAD");
}

sub check_backend {
    my ($rec, $res, $what) = @_;
    ok($rec, "$what: record written") or return;
    is_deeply([MTPassCheck::problems($rec)], [], "$what: record well formed");
    is($rec->{target}, 'backend', "$what: target backend");
    is($rec->{attribution}, 'header', "$what: attributed by the app's header");
    is($rec->{pid}, MTPassCheck::body_pid($res), "$what: pid is the serving process");
    ok($is_app{ $rec->{pid} // 0 }, "$what: pid is one of the app processes");
    is($rec->{before_source}, 'app', "$what: before from the app");
    ok($is_child{ $rec->{httpd_pid} // 0 }, "$what: httpd_pid is an httpd child");
}

subtest 'pid of every record is the process that served it' => sub {
    my %served;
    for my $round (1 .. 6) {
        my @paths = map { '/sleep?ms=120&' . MTPassCheck::token() } 1 .. 4;
        my @res = MTPassCheck::par_get($h, @paths);
        my %rec = MTPassCheck::records_for($h, @paths);
        for my $res (@res) {
            is($res->{status}, 200, "$res->{path} answered");
            ok(!exists $res->{headers}{'x-memtrack'}, "$res->{path}: no X-MemTrack to the client");
            check_backend($rec{ $res->{path} }, $res, $res->{path});
            $served{ MTPassCheck::body_pid($res) }++;
        }
        last if $round >= 3 && keys %served >= 2;
    }
    is_deeply([sort { $a <=> $b } keys %served], \@apps,
              'both app processes served, each record matched: '
              . join(', ', map { "$_ x$served{$_}" } sort keys %served));
};

subtest 'the request id the app saw is the record\'s' => sub {
    for (1 .. 3) {
        my $path = '/env?' . MTPassCheck::token();
        my $res = $h->get($path);
        my ($seen) = $res->{content} =~ /^HTTP_X_REQUEST_ID=(.*)$/m;
        my ($pid) = $res->{content} =~ /^pid=(\d+)$/m;
        my %rec = MTPassCheck::records_for($h, $path);
        my $rec = $rec{$path} || {};
        ok(defined $seen && length $seen, "app got X-Request-Id");
        is($rec->{request_id}, $seen, 'record request_id is what the app saw');
        is($rec->{pid}, $pid, 'and the pid is the one that saw it');
    }
};

subtest 'memory_after is the sampled process\'s resident set' => sub {
    my $path = '/pid?' . MTPassCheck::token();
    my $res = $h->get($path);
    my $pid = MTPassCheck::body_pid($res);
    my $now = MTTest::rss_bytes($pid);
    my %rec = MTPassCheck::records_for($h, $path);
    my $rec = $rec{$path} || {};
    check_backend($rec, $res, $path);
    ok(defined $rec->{memory_after} && abs($rec->{memory_after} - $now) < 2 * $MiB,
       "memory_after ($rec->{memory_after}) is pid ${pid}'s rss ($now)");
    cmp_ok(abs($rec->{memory_growth} // 1e12), '<', $MiB, '/pid grows less than 1 MiB');
    ok(!$rec->{threshold_exceeded}, 'no threshold hit');
};

subtest 'retaining 10 MiB shows in that process only' => sub {
    my $path = '/retain?mb=10&' . MTPassCheck::token();
    my $res = $h->get($path);
    my $p = MTPassCheck::body_pid($res);
    my ($o) = grep { $_ != $p } @apps;
    my %rec = MTPassCheck::records_for($h, $path);
    my $r = $rec{$path} || {};
    check_backend($r, $res, $path);
    my $g = $r->{memory_growth} // 0;
    ok($g >= 8 * $MiB && $g <= 14 * $MiB,
       sprintf('growth %.2f MiB is near 10 MiB', $g / $MiB));
    ok($r->{threshold_exceeded}, 'over the 5M threshold');
    is($r->{threshold}, 5 * $MiB, 'threshold in the record');
    my $rid = quotemeta($r->{request_id} // 'none');
    like($h->error_log, qr/threshold exceeded: request_id=$rid .*pid=$p\b/,
         'threshold warning names the app pid');
    ok($r->{memory_after} >= $r->{memory_before} + 8 * $MiB, 'after > before + 8 MiB');
    # Notable growth: the app process's status is read too (kept descriptor).
    ok(MTTest::_is_int($r->{peak_rss_after}) && $r->{peak_rss_after} >= $r->{memory_after},
       'peak_rss_after (VmHWM of the app process) at least memory_after');
    ok(MTTest::_is_int($r->{swap_after}) && $r->{swap_after} >= 0, 'swap_after read');
    ok(defined $r->{objects_after} && defined $r->{objects_before},
       'object counts present');
    my $d = ($r->{gc_stats_after}{total_allocated_objects} // 0)
          - ($r->{gc_stats_before}{total_allocated_objects} // 0);
    cmp_ok($d, '>=', 160, "at least the 160 retained strings allocated ($d)");

    # Requests of both processes afterwards: the other one never shows the
    # 10 MiB, the retaining one keeps it (no new growth, before stays high).
    my (@other, @same);
    for my $round (1 .. 15) {
        my @paths = map { '/sleep?ms=150&' . MTPassCheck::token() } 1 .. 2;
        my @res = MTPassCheck::par_get($h, @paths);
        my %rr = MTPassCheck::records_for($h, @paths);
        for my $x (@res) {
            my $rec = $rr{ $x->{path} } or next;
            check_backend($rec, $x, $x->{path});
            push @{ MTPassCheck::body_pid($x) == $p ? \@same : \@other }, $rec;
        }
        last if @other >= 3 && @same >= 1;
    }
    cmp_ok(scalar @other, '>=', 3, "the other process $o served requests");
    for my $x (@other) {
        is($x->{pid}, $o, 'other process record');
        cmp_ok(abs($x->{memory_growth} // 1e12), '<', 2 * $MiB,
               "other process: no such growth ($x->{memory_growth})");
        cmp_ok($x->{memory_after}, '<', $r->{memory_after} - 6 * $MiB,
               'other process is smaller than the retaining one');
        ok(!$x->{threshold_exceeded}, 'no threshold hit');
        ok(!defined $x->{peak_rss_after}, 'little growth: status not read');
    }
    for my $x (@same) {
        cmp_ok(abs($x->{memory_growth} // 1e12), '<', 2 * $MiB,
               'retaining process: no new growth');
        cmp_ok($x->{memory_before}, '>=', $r->{memory_after} - 2 * $MiB,
               'retaining process keeps the 10 MiB');
    }
};

subtest 'GC and object deltas' => sub {
    my $path = '/garbage?' . MTPassCheck::token();
    my $res = $h->get($path);
    my %rec = MTPassCheck::records_for($h, $path);
    my $r = $rec{$path} || {};
    check_backend($r, $res, $path);
    my @keys = qw(count minor_gc_count major_gc_count heap_live_slots
                  old_objects total_allocated_objects total_freed_objects);
    for my $side (qw(gc_stats_before gc_stats_after)) {
        is(ref $r->{$side}, 'HASH', "$side is an object") or next;
        is_deeply([sort keys %{ $r->{$side} }], [sort @keys], "$side keys");
        for my $k (@keys) {
            ok(MTTest::_is_int($r->{$side}{$k}) && $r->{$side}{$k} >= 0,
               "$side.$k is a count");
        }
    }
    my ($b, $a) = ($r->{gc_stats_before} || {}, $r->{gc_stats_after} || {});
    is($r->{objects_before}, $b->{heap_live_slots}, 'objects_before = heap_live_slots');
    is($r->{objects_after}, $a->{heap_live_slots}, 'objects_after = heap_live_slots');
    cmp_ok(($a->{total_allocated_objects} // 0) - ($b->{total_allocated_objects} // 0),
           '>=', 200_000, '200k strings allocated');
    cmp_ok($a->{count} // 0, '>', $b->{count} // 0, 'garbage triggered GC runs');
    cmp_ok($a->{total_freed_objects} // 0, '>', $b->{total_freed_objects} // 0,
           'and objects were freed');
    cmp_ok(($a->{minor_gc_count} // 0) + ($a->{major_gc_count} // 0), '==',
           $a->{count} // -1, 'minor + major = count');

    # a trivial request allocates little
    my $p2 = '/hello?' . MTPassCheck::token();
    $h->get($p2);
    my %r2 = MTPassCheck::records_for($h, $p2);
    my $q = $r2{$p2} || {};
    my $alloc = ($q->{gc_stats_after}{total_allocated_objects} // -1)
              - ($q->{gc_stats_before}{total_allocated_objects} // 0);
    ok($alloc >= 0 && $alloc < 5000, "/hello allocates little ($alloc objects)");
};

MTPassCheck::finish($h);
undef $h;
done_testing();

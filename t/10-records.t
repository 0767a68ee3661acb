#!/usr/bin/perl
# One valid record per tracked request, with every required field and sane
# types and values, under both MPMs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;
use Time::HiRes qw(sleep time);

for my $mpm (qw(event prefork)) {
    my $h = MTTest->start(mpm => $mpm);
    my @sent = (
        [GET  => '/static.txt',       200],
        [GET  => '/static.txt?a=1&b=2', 200],
        [GET  => '/index.html',       200],
        [GET  => '/missing.txt',      404],
        [HEAD => '/static.txt',       200],
        [POST => "/static.txt",       405],
        [GET  => '/grow?mb=0',        200],
    );
    my %want;    # url => [method, status]
    my @children_seen;
    for my $s (@sent) {
        my ($m, $path) = @$s;
        my $res = $h->request($m, $path, {}, $m eq 'POST' ? 'x=1' : undef);
        $s->[2] = $res->{status};            # what httpd really answered
        $want{"$m $path"} = $res->{status};
        push @children_seen, $h->child_pids;
    }
    my %kids = map { $_ => 1 } @children_seen, $h->child_pids;

    my @recs  = $h->wait_records(scalar @sent, 10);
    my @lines = $h->raw_lines;
    is(scalar @lines, scalar @sent, "$mpm: one line per request")
        or diag(join '', @lines), diag($h->error_log);

    my %ids;
    for my $i (0 .. $#lines) {
        my $r = $recs[$i];
        my @p = MTTest::record_problems($r, $lines[$i]);
        ok(!@p, "$mpm: line $i is a valid record") or diag("@p\n$lines[$i]");
        next unless $r;
        my $key = "$r->{method} $r->{url}";
        ok(exists $want{$key}, "$mpm: record for a request we sent ($key)");
        is($r->{status}, $want{$key}, "$mpm: status of $key") if exists $want{$key};
        is($r->{target}, 'self', "$mpm: target self");
        ok($kids{ $r->{pid} }, "$mpm: pid $r->{pid} is an httpd child of "
           . $h->pid) or diag("children seen: @{[sort keys %kids]}");
        isnt($r->{pid}, $h->pid, "$mpm: pid is not the parent");
        ok(defined $r->{memory_before} && $r->{memory_before} > 0,
           "$mpm: memory_before > 0");
        ok(defined $r->{memory_after} && $r->{memory_after} > 0,
           "$mpm: memory_after > 0");
        ok(defined $r->{memory_growth}, "$mpm: memory_growth known for self");
        ok($r->{request_time} >= 0 && $r->{request_time} < 10,
           "$mpm: request_time in [0, 10) s: $r->{request_time}");
        ok(!$r->{threshold_exceeded}, "$mpm: no threshold, not exceeded");
        is($r->{host}, '127.0.0.1', "$mpm: host");
        is($r->{controller}, undef, "$mpm: controller null for a static file");
        is($r->{action}, undef, "$mpm: action null");
        ok(!$ids{ $r->{request_id} }++, "$mpm: request_id unique");
        # the memory numbers are of that pid: plausible for an httpd child
        ok($r->{memory_before} < 1 << 34, "$mpm: memory_before plausible");
        # time is the request start, close to now
        my ($y, $mo, $d, $hh, $mi, $ss) =
            $r->{time} =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)/;
        require Time::Local;
        my $t = Time::Local::timegm($ss, $mi, $hh, $d, $mo - 1, $y);
        ok(abs($t - time) < 120, "$mpm: time is now-ish (UTC): $r->{time}");
    }
    my %got = map { ("$_->{method} $_->{url}" => 1) } grep { $_ } @recs;
    for my $k (sort keys %want) {
        ok($got{$k}, "$mpm: a record for $k");
    }
    # extras documented in DESIGN.md
    my ($r) = grep { $_ && $_->{url} eq '/static.txt' } @recs;
    if ($r) {
        # httpd_pid: the httpd child that served; for target self, the pid
        is($r->{httpd_pid}, $r->{pid}, "$mpm: httpd_pid is the serving child")
            if exists $r->{httpd_pid};
        is($r->{before_source}, 'module', "$mpm: before_source module")
            if exists $r->{before_source};
        is($r->{threshold}, undef, "$mpm: threshold null when none set")
            if exists $r->{threshold};
    }
    like($h->error_log, qr/resuming normal operations/, "$mpm: server ran");
    $h->stop;
    is($h->sanitizer_log, "", "$mpm: no sanitizer report");
}

# Untracked server: MemTrack not on means no records at all.
{
    my $h = MTTest->start(track => 0);
    $h->get('/static.txt') for 1 .. 5;
    sleep 0.5;
    is(scalar($h->raw_lines), 0, 'MemTrack off by default: no records');
}

done_testing();

#!/usr/bin/perl
# Malformed, oversized and hostile X-MemTrack headers from the app (every
# kind /hostile?kind=... of the test app offers, read from the app's source
# so a new kind is covered by itself): each record stays valid JSON in one
# line of at most 4096 bytes, the server keeps answering (also under a burst
# of all kinds at once), and the record trusts nothing out of bounds: no pid
# from a refused header, no name with quotes or spaces, no number above
# 2^50, no app "before" that was invalid. Under MemTrackTarget auto a
# refused header leaves the record on the httpd child; under backend the
# record has no pid and says why.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use MTPassenger;
use MTPassCheck;
use Test::More;

MTPassCheck::plan_or_skip();

my $h = MTPassCheck::start(app => 'rack', procs => 2, conf => <<'EOC');
<If "%{QUERY_STRING} =~ /tgt=backend/">
  MemTrackTarget backend
</If>
EOC
my @apps = MTPassenger::warm($h, procs => 2);
is(scalar @apps, 2, "two app processes: @apps");
my %is_app = map { $_ => 1 } @apps;
my %is_child = map { $_ => 1 } $h->child_pids;
my $core = MTPassenger::core_pid($h);
my %never = map { $_ => 1 } grep { defined } 1, $h->pid, $core;

my @kinds = MTPassCheck::hostile_kinds();
ok(@kinds >= 10, 'hostile kinds found in the app: ' . join(' ', @kinds));

# Headers the parser must refuse whole (no valid pid, or too long): the
# record must not be attributed through them, and says "refused".
my %refused = map { $_ => 1 } qw(oversized badpid nopid pid1 root zero
    garbage spaces multi pid);
# An empty header value never reaches httpd (Passenger drops it): as if the
# app had sent nothing.
my %absent = map { $_ => 1 } qw(empty);
# Headers with a valid pid (the serving process's) and bad items: attributed,
# the bad items dropped.
my %accepted = map { $_ => 1 } qw(long_ok highbytes dup huge negative names
    unknown other);
my $NAME = qr{\A[A-Za-z0-9_:/.#-]{1,128}\z};
my $MAX = 2**50;

sub numbers_of {
    my ($rec) = @_;
    my @n = map { $rec->{$_} } qw(objects_before objects_after query_cache_before
        query_cache_after uss pss);
    for my $g (qw(gc_stats_before gc_stats_after)) {
        push @n, values %{ $rec->{$g} } if ref $rec->{$g} eq 'HASH';
    }
    return grep { defined } @n;
}

sub check_generic {
    my ($what, $rec, $line, $me, $mode) = @_;
    ok($rec, "$what: record is valid UTF-8 JSON") or return;
    cmp_ok(length($line), '<=', 4096, "$what: line within 4096 bytes");
    is_deeply([MTPassCheck::problems($rec, $line)], [], "$what: record well formed");
    my $attr = $rec->{attribution} // '';
    if ($attr eq 'header') {
        is($rec->{pid}, $me, "$what: attributed to the serving process only");
        is($rec->{target}, 'backend', "$what: target backend");
    } elsif ($mode eq 'backend') {
        is($rec->{target}, 'backend', "$what: target backend (forced)");
        is($rec->{pid}, undef, "$what: no pid when not attributed ($attr)");
        is($rec->{memory_after}, undef, "$what: no memory reported");
        like($attr, qr/^(unattributed|refused)/, "$what: attribution says why");
    } else {
        is($rec->{target}, 'self', "$what: left on the httpd child ($attr)");
        ok($is_child{ $rec->{pid} // 0 } && $rec->{pid} == $rec->{httpd_pid},
           "$what: pid is the httpd child");
        like($attr, qr/^self \(backend /, "$what: attribution says why");
    }
    ok(!$never{ $rec->{pid} // 0 }, "$what: never pid 1, the core or the httpd parent");
    for my $k (qw(controller action)) {
        ok(!defined $rec->{$k} || $rec->{$k} =~ $NAME, "$what: $k is a safe name or null");
    }
    is_deeply([grep { $_ < 0 || $_ > $MAX } numbers_of($rec)], [],
              "$what: app numbers within 0..2^50");
}

sub check_specific {
    my ($what, $kind, $rec, $line, $me) = @_;
    my $attr = $rec->{attribution} // '';
    if ($refused{$kind}) {
        isnt($attr, 'header', "$what: not attributed through the header");
        like($attr, qr/refused/, "$what: attribution says the header was refused");
        is($rec->{controller}, undef, "$what: no controller from it");
        is($rec->{gc_stats_after}, undef, "$what: no GC stats from it");
    }
    if ($absent{$kind}) {
        like($attr, qr/unattributed: several app processes/,
             "$what: no header, two processes: not attributed, never a guess");
    }
    if ($accepted{$kind}) {
        is($attr, 'header', "$what: the valid pid is taken");
    }
    if ($kind eq 'long_ok') {
        is($rec->{action}, undef, "$what: a 1900-byte name is not taken");
    } elsif ($kind eq 'highbytes') {
        is($rec->{controller}, undef, "$what: a name with high bytes is not taken");
    } elsif ($kind eq 'huge') {
        is($rec->{objects_after}, undef, "$what: live_after 2^62 not taken");
        is($rec->{gc_stats_after}, undef, "$what: gc_after 2^50+1 not taken");
    } elsif ($kind eq 'negative') {
        isnt($rec->{before_source}, 'app', "$what: rss_before=-5 is no app before");
        is($rec->{gc_stats_after}, undef, "$what: gc_after=-1 not taken");
    } elsif ($kind eq 'names') {
        is($rec->{controller}, undef, "$what: controller with quotes not taken");
        is($rec->{action}, undef, "$what: action with a space not taken");
        unlike($line, qr/a\\?"b|'c|<d>|x y/, "$what: the names never appear raw");
    } elsif ($kind eq 'other') {
        is($rec->{controller}, 'Hostile', "$what: valid controller");
        is($rec->{action}, 'valid', "$what: valid action");
        # no rss_before in this header: "before" is the module's last sample
        is($rec->{before_source}, 'previous', "$what: before from shared state");
    }
    if ($kind eq 'root' || $kind eq 'pid1') {
        ok(!defined $rec->{pid} || $is_child{ $rec->{pid} },
           "$what: the root process is not sampled");
    }
}

subtest 'every hostile kind, one at a time' => sub {
    for my $kind (@kinds, 'other') {
        for my $mode (qw(auto backend)) {
            my $what = "$kind/$mode";
            my $path = "/hostile?kind=$kind&tgt=$mode&" . MTPassCheck::token();
            my $res = $h->get($path);
            is($res->{status}, 200, "$what: answered");
            ok(!exists $res->{headers}{'x-memtrack'}, "$what: no X-MemTrack to the client");
            my $me = MTPassCheck::body_pid($res);
            ok($is_app{$me}, "$what: served by an app process");
            my %line = MTPassCheck::record_lines_for($h, $path);
            my $line = $line{$path} // '';
            my $rec = MTTest::decode_line($line);
            check_generic($what, $rec, $line, $me, $mode);
            check_specific($what, $kind, $rec || {}, $line, $me);
            is($h->get('/pid')->{status}, 200, "$what: the server still answers");
        }
    }
};

subtest 'all kinds at once, three rounds' => sub {
    my @paths;
    for my $round (1 .. 3) {
        my @p = map { "/hostile?kind=$_&tgt=" . ($round == 2 ? 'backend' : 'auto')
                      . '&' . MTPassCheck::token() } (@kinds, 'other');
        my @res = MTPassCheck::par_get($h, @p);
        is(scalar(grep { $_->{status} == 200 } @res), scalar @p,
           "round $round: every request answered 200");
        is(scalar(grep { exists $_->{headers}{'x-memtrack'} } @res), 0,
           "round $round: no X-MemTrack reached a client");
        push @paths, @p;
    }
    my %line = MTPassCheck::record_lines_for($h, @paths);
    is(scalar(keys %line), scalar @paths, 'a record for every request');
    my @bad;
    for my $p (@paths) {
        my $l = $line{$p} // '';
        my $rec = MTTest::decode_line($l);
        my @pr = $rec ? MTPassCheck::problems($rec, $l) : ('not valid JSON');
        push @pr, 'pid 1, core or parent' if $rec && $never{ $rec->{pid} // 0 };
        push @bad, "$p: @pr" if @pr;
    }
    is_deeply(\@bad, [], 'every record valid');
    is($h->get('/pid')->{status}, 200, 'the server still answers');
};

MTPassCheck::finish($h);
undef $h;
done_testing();

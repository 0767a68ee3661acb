#!/usr/bin/perl
# An app that names a process it may not be attributed to is refused: pid
# 1, other root processes (the Passenger core and watchdog, this test), the
# httpd parent and children, a process of the app's user that is not a
# Passenger app, a pid that does not exist or is out of range. The record
# says "refused" (auto: "self (backend refused: ...)", staying on the httpd
# child; backend: "refused: ..." with no pid), and the named process's
# memory is never reported.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use MTPassenger;
use MTPassCheck;
use POSIX ();
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
my @children = $h->child_pids;
my %is_child = map { $_ => 1 } @children;

# a process of the app user that is not a Passenger app
my $sleeper;
if ($> == 0) {
    my (undef, undef, $uid, $gid) = getpwnam('www-data');
    $sleeper = fork // die "fork: $!";
    if (!$sleeper) {
        POSIX::setgid($gid);
        POSIX::setuid($uid);
        exec 'sleep', '60' or POSIX::_exit(127);
    }
    sleep 0.2 for 1 .. 5;
    is(MTPassCheck::uid_of($sleeper), $uid, "a www-data process: $sleeper");
}

sub free_pid {
    my $max = do { open my $f, '<', '/proc/sys/kernel/pid_max'; <$f> // 32768 };
    chomp $max;
    for (my $p = $max - 1; $p > 2; $p--) {
        return $p unless -e "/proc/$p";
    }
    return;
}

my ($watchdog) = map { $_->[0] } grep { $_->[1] =~ /^Passenger watchdog/ }
                 MTPassenger::descendants($h->pid);
my %targets = (
    'pid 1 (init)'         => 1,
    'Passenger core'       => MTPassenger::core_pid($h),
    'Passenger watchdog'   => $watchdog,
    'httpd parent'         => $h->pid,
    'this test (root)'     => $$,
    'no such process'      => free_pid(),
    'out of range'         => 4194305,
    (map { ("httpd child $_" => $children[$_]) } 0 .. $#children),
    $sleeper ? ('www-data, not an app' => $sleeper) : (),
);

for my $name (sort keys %targets) {
    my $x = $targets{$name};
    ok(defined $x, "$name: pid known") or next;
    ok(!$is_app{$x}, "$name ($x) is not an app process");
    for my $mode (qw(auto backend)) {
        my $what = "$name ($x), $mode";
        my $path = "/hostile?kind=pid&pid=$x&tgt=$mode&" . MTPassCheck::token();
        my $res = $h->get($path);
        is($res->{status}, 200, "$what: answered");
        ok($is_app{ MTPassCheck::body_pid($res) }, "$what: served by an app");
        my %line = MTPassCheck::record_lines_for($h, $path);
        my $rec = MTTest::decode_line($line{$path} // '') || {};
        is_deeply([MTPassCheck::problems($rec, $line{$path})], [], "$what: record well formed");
        my $attr = $rec->{attribution} // '';
        # (auto: the httpd child named may be the one that served: sampled
        # as itself, target self, which is right)
        ok(!defined $rec->{pid} || $rec->{pid} != $x
           || ($mode eq 'auto' && $rec->{pid} == ($rec->{httpd_pid} // 0)),
           "$what: pid $x not taken from the header");
        is($rec->{controller}, undef, "$what: nothing taken from the header");
        if ($mode eq 'auto') {
            like($attr, qr/^self \(backend refused/, "$what: attribution '$attr'");
            is($rec->{target}, 'self', "$what: stays on the httpd child");
            ok($is_child{ $rec->{pid} // 0 } && $rec->{pid} == $rec->{httpd_pid},
               "$what: the pid sampled is the child that served");
        } else {
            like($attr, qr/^refused/, "$what: attribution '$attr'");
            is($rec->{target}, 'backend', "$what: target backend");
            is($rec->{pid}, undef, "$what: no pid");
            is($rec->{memory_before}, undef, "$what: no memory_before");
            is($rec->{memory_after}, undef, "$what: no memory_after");
            is($rec->{rss_anon_after}, undef, "$what: no rss_anon_after");
        }
    }
}

is($h->get('/pid')->{status}, 200, 'the server still answers');

if ($sleeper) {
    kill 'KILL', $sleeper;
    waitpid($sleeper, 0);
}
MTPassCheck::finish($h);
undef $h;
done_testing();

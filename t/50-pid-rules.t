#!/usr/bin/perl
# A pid named in X-MemTrack is read only under the rule of the request that
# named it, every time (issue 9, items 1 and 2):
#
# - the verified-pid cache remembers what a pid was checked for: a www-data
#   process without the Passenger title, accepted for a plain (non-Passenger)
#   response, is still refused for a Passenger response right after, on the
#   same connection (so the same httpd child and its cache);
# - under Passenger a named pid must descend from this server's httpd parent,
#   like a discovered one: a process titled "Passenger RubyApp: ..." that is
#   not (another server's app, a fake) is refused;
# - for any backend, another httpd child of this server is refused.
#
# The plain backend is mod_headers on a static file: any response that is
# not Passenger's can name a pid.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use MTPassenger;
use MTPassCheck;
use HTTP::Tiny;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);

MTPassCheck::plan_or_skip();
plan skip_all => 'needs root (processes of www-data)' unless $> == 0;

my $h = MTPassCheck::start(app => 'rack', procs => 1, modules => ['headers'],
                           conf => <<'EOC');
<Location /static.txt>
  Header always set X-MemTrack "expr=v=1; pid=%{req:X-Test-Pid}"
</Location>
<If "%{QUERY_STRING} =~ /tgt=backend/">
  MemTrackTarget backend
</If>
EOC
my ($app) = MTPassenger::warm($h, procs => 1);
ok($app, "the app process: $app");
my @children = $h->child_pids;
cmp_ok(scalar @children, '>=', 2, "two httpd children: @children");

# A www-data process, titled as given (argv[0]), that is not ours.
my @mine;
sub www_process {
    my ($title) = @_;
    my (undef, undef, $uid, $gid) = getpwnam('www-data');
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        POSIX::setgid($gid);
        POSIX::setuid($uid);
        exec { '/bin/sleep' } $title, '120' or POSIX::_exit(127);
    }
    push @mine, $pid;
    MTTest::wait_for(sub { MTPassCheck::uid_of($pid) == $uid
                           && MTTest::_slurp("/proc/$pid/cmdline") =~ /^\Q$title\E/ }, 5);
    return $pid;
}

# One keep-alive connection: every request on it goes to the same child.
my $conn = HTTP::Tiny->new(keep_alive => 1, timeout => 30, max_redirect => 0);
sub rec_of {
    my ($path, $pid) = @_;
    my $res = $conn->get($h->url($path),
                         { headers => { defined $pid ? ('X-Test-Pid' => $pid) : () } });
    my %rec = MTPassCheck::records_for($h, $path);
    return ($res, $rec{$path} || {});
}

subtest 'the cache keeps the rule a pid was checked under (item 1)' => sub {
    my $plain = www_process('sleep');
    for my $round (1 .. 3) {
        my $t = MTPassCheck::token();
        my ($res, $rec) = rec_of("/hostile?kind=pid&pid=$plain&$t&a");
        is(MTPassCheck::body_pid($res), $app, "round $round: Passenger answered");
        like($rec->{attribution} // '', qr/^self \(backend refused: not a Passenger app process\)/,
             "round $round: Passenger response naming $plain: refused");
        my $child = $rec->{httpd_pid};

        ($res, $rec) = rec_of("/static.txt?$t", $plain);
        is($res->{status}, 200, "round $round: plain response");
        is($rec->{attribution}, 'header', "round $round: plain response naming $plain: accepted");
        is($rec->{pid}, $plain, "round $round: and sampled");
        is($rec->{httpd_pid}, $child, "round $round: same httpd child");

        for my $mode (qw(auto backend)) {
            ($res, $rec) = rec_of("/hostile?kind=pid&pid=$plain&tgt=$mode&$t&b");
            is($rec->{httpd_pid}, $child, "round $round/$mode: same httpd child again");
            like($rec->{attribution} // '',
                 qr/^(self \(backend )?refused: not a Passenger app process/,
                 "round $round/$mode: Passenger response naming $plain right after: "
                 . "still refused ($rec->{attribution})");
            isnt($rec->{pid} // 0, $plain, "round $round/$mode: $plain not sampled");
        }
    }
};

subtest 'Passenger pids must be this server\'s (item 2)' => sub {
    my $root = $h->{mt_passenger}{root};
    my %fake = (
        'titled www-data process, not ours' =>
            www_process("Passenger RubyApp: $root (production)"),
        'titled as another app, not ours' =>
            www_process('Passenger RubyApp: /srv/other (production)'),
    );
    for my $name (sort keys %fake) {
        my $x = $fake{$name};
        for my $mode (qw(auto backend)) {
            my ($res, $rec) = rec_of("/hostile?kind=pid&pid=$x&tgt=$mode&"
                                     . MTPassCheck::token());
            is(MTPassCheck::body_pid($res), $app, "$name/$mode: served by the app");
            like($rec->{attribution} // '',
                 qr/^(self \(backend )?refused: not a process of this server/,
                 "$name ($x)/$mode: refused ($rec->{attribution})");
            isnt($rec->{pid} // 0, $x, "$name/$mode: not sampled");
        }
    }
    my ($res, $rec) = rec_of('/pid?' . MTPassCheck::token());
    is($rec->{attribution}, 'header', 'the real app process is still accepted');
    is($rec->{pid}, $app, 'and sampled');
};

subtest 'another httpd child is never a backend (item 2)' => sub {
    # One keep-alive connection stays with one child: learn which, then
    # name another one on the same connection (which child accepts a new
    # connection is up to the MPM, so naming at random may never miss).
    my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 30);
    my $first = "/static.txt?tgt=backend&" . MTPassCheck::token();
    $http->get($h->url($first));
    my %seen = MTPassCheck::records_for($h, $first);
    my $serving = ($seen{$first} || {})->{httpd_pid} // 0;
    my ($other) = grep { $_ != $serving } @children;
    ok($serving && $other, "the connection is served by child $serving; "
       . "another child: " . ($other // 'none'));
    for my $round (1 .. 3) {
        my $path = "/static.txt?tgt=backend&" . MTPassCheck::token();
        $http->get($h->url($path), { headers => { 'X-Test-Pid' => $other } });
        my %rec = MTPassCheck::records_for($h, $path);
        my $rec = $rec{$path} || {};
        is($rec->{httpd_pid}, $serving, 'the same child served it');
        like($rec->{attribution} // '', qr/^refused: httpd child/,
             "httpd child $other named by a plain response served by "
             . "$serving: refused (" . ($rec->{attribution} // 'no record') . ')');
        is($rec->{pid}, undef, 'no pid sampled');
    }
};

kill 'KILL', @mine;
waitpid($_, 0) for @mine;
MTPassCheck::finish($h);
undef $h;
done_testing();

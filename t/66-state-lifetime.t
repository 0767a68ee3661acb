#!/usr/bin/perl
# How long the shared state lives, with the httpd child as target (prefork,
# the test module of t/62 leaking 50 KiB per request in one <Location>):
# it outlives the httpd children. With MaxConnectionsPerChild 20 the
# children are replaced several times during the run; every endpoint's
# request count is what was sent to it in all, more than any one child
# served, and the leak is named and stays named while children come and
# go. Each child's own state ends with it and a new child's starts empty.
# A full stop ends the state: started again (same directory, config and
# port), httpd shows no requests and no process from before, and counts
# from zero. (t/61 checks a graceful restart.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTAnalysis;
use POSIX ();
use Time::HiRes ();
use Test::More;

my $LOCS = "<Location /leaky>\n  SetHandler memtrack-test-grow\n"
         . "  MemTrackEndpoint leaky\n</Location>\n"
         . "<Location /churn>\n  SetHandler memtrack-test-grow\n"
         . "  MemTrackEndpoint churn\n</Location>\n";
my %MIX = ('/leaky?kb=50' => 10, '/churn?garbage_kb=4000' => 20,
           '/static.txt' => 40, '/' => 30);
my %ENDPOINT = ('/leaky?kb=50' => 'leaky', '/churn?garbage_kb=4000' => 'churn',
                '/static.txt' => 'GET /static.txt', '/' => 'GET /');
# A child ends after 20 connections, a connection after 26 requests (below):
# no child serves more than 520 (the status pages' are not recorded).
my ($CONNS, $PER_CONN) = (20, 25);
# A kept-alive connection serves its first request and MaxKeepAliveRequests
# more (httpd's ap_set_keepalive keeps it open while requests served - 1 <
# the max): 26 here, so a child serves at most 20 x 26 (the last CI: 505).
my $CHILD_MAX = $CONNS * ($PER_CONN + 1);
my $BATCH = 250;

my $h = MTTest->start(mpm => 'prefork', mpm_conf =>
    "StartServers 2\nMinSpareServers 2\nMaxSpareServers 2\n"
    . "ServerLimit 2\nMaxRequestWorkers 2\nMaxConnectionsPerChild $CONNS\n",
    conf => "MaxKeepAliveRequests $PER_CONN\nMemTrackProbeRate 10\n$LOCS"
          # not recorded: a status request served last by a child that then
          # ends would move that child's figures past the last look at them
          . (MTAnalysis::status_location() =~ s{</Location>}{  MemTrack Off\n</Location>}r));
my @first = $h->child_pids;

sub httpd_procs {
    my ($st) = @_;
    return grep { $_->{kind} eq 'httpd' } @{ $st->{processes} || [] };
}

# The endpoints' counts once the last requests' log phase is behind.
sub settled {
    my ($sent) = @_;
    my $st;
    MTTest::wait_for(sub {
        $st = MTAnalysis::status($h);
        my %v = map { $_->{endpoint} => $_ } @{ $st->{endpoints} || [] };
        !grep { ($v{ $ENDPOINT{$_} }{requests} // 0) < $sent->{$_} } keys %$sent;
    }, 5);
    return $st;
}

my (%sent, %last, @went_back, %proc_seen, @forgot, $leak_at);
my $check = sub {
    my ($done) = @_;
    my $st = settled(\%sent);
    my %v = map { $_->{endpoint} => $_ } @{ $st->{endpoints} || [] };
    for my $e (values %ENDPOINT) {
        for my $k (qw(requests probes)) {
            my $now = $v{$e}{$k} // 0;
            push @went_back, "$e $k $last{$e}{$k} -> $now after $done"
                if $now < ($last{$e}{$k} // 0);
            $last{$e}{$k} = $now;
        }
    }
    my $leaky = $v{leaky}{verdict} // 'none';
    $leak_at //= $done if $leaky eq 'leak';
    push @forgot, "leaky: $leaky after $done" if $leak_at && $leaky ne 'leak';
    for my $p (httpd_procs($st)) {
        my $key = "$p->{pid} $p->{first_seen}";
        $proc_seen{$key}{first} //= $p->{requests};
        $proc_seen{$key}{last} = $p->{requests};
        $proc_seen{$key}{pid} = $p->{pid};
    }
};
my $bad = MTAnalysis::load($h, mix => \%MIX, requests => 4000, clients => 2,
                           batch => $BATCH, after_batch => $check, sent => \%sent);
is($bad, 0, 'every request answered');

my $st = settled(\%sent);
my %v = map { $_->{endpoint} => $_ } @{ $st->{endpoints} || [] };
my @procs = httpd_procs($st);
my %now_live = map { $_ => 1 } $h->child_pids;
ok(!grep({ $now_live{$_} } @first), 'the first children were replaced: '
   . "@first, now " . join(' ', sort keys %now_live));
cmp_ok(scalar @procs, '>=', 6, 'and the state saw ' . scalar(@procs)
       . ' children in all');
my $most = 0;
for (@procs) { $most = $_->{requests} if $_->{requests} > $most }
cmp_ok($most, '<=', $CHILD_MAX, "no child served more than $CHILD_MAX ($most)");

my $skipped = $st->{counters}{updates_skipped} // 0;
for my $path (sort keys %MIX) {
    my $e = $ENDPOINT{$path};
    my $n = $v{$e}{requests} // 0;
    ok($n <= $sent{$path} && $n >= $sent{$path} - $skipped,
       "$e: $n requests counted of $sent{$path} sent ($skipped updates "
       . 'skipped), across the children');
}
cmp_ok($v{leaky}{requests} // 0, '>', 0, 'leaky was counted');
is_deeply(\@went_back, [], "no endpoint's requests or probes ever went back");

my $l = $v{leaky} || {};
is($l->{verdict}, 'leak', 'the leaking location is a leak') or diag(explain($l));
ok(abs(($l->{leak_bytes_per_request} // 0) - 51200) <= 0.25 * 51200,
   'about 50 KiB per request (' . ($l->{leak_bytes_per_request} // 'none') . ')');
cmp_ok($l->{probe_processes} // 0, '>=', 2,
       'its probes come from several children (' . ($l->{probe_processes} // 0) . ')');
ok(defined $leak_at, 'named a leak during the run (after '
   . ($leak_at // 'never') . ' requests)');
is_deeply(\@forgot, [], 'and never forgotten while children were replaced');
for my $e ('churn', 'GET /static.txt', 'GET /') {
    isnt($v{$e}{verdict} // 'none', 'leak', "$e is not a leak");
}

# Each child's own figures: a child first seen after a later batch has
# served that batch's requests at most (and the status pages'), not an
# earlier child's; one that ended keeps its last.
my @inherited = map { "pid $_->{pid}: $_->{first}" }
                grep { $_->{first} > $BATCH + 5 } values %proc_seen;
is_deeply(\@inherited, [], "no child started with another's requests");
my @ended = grep { !$now_live{ $_->{pid} } } values %proc_seen;
my %final = map { ("$_->{pid} $_->{first_seen}" => $_->{requests}) } @procs;
cmp_ok(scalar @ended, '>=', 4, scalar(@ended) . ' children ended during the run');
my @moved;
for my $k (grep { !$now_live{ $proc_seen{$_}{pid} } } sort keys %proc_seen) {
    push @moved, "$k: $proc_seen{$k}{last} -> " . ($final{$k} // 'gone')
        if ($final{$k} // -1) != $proc_seen{$k}{last};
}
is_deeply(\@moved, [], "an ended child's figures stay as it left them");

# A full stop: the state ends with the httpd parent.
my $started_before = $st->{state_started};
my %before = map { ("$_->{pid} $_->{first_seen}" => 1) } @{ $st->{processes} || [] };
$h->stop;
my $restart = Time::HiRes::time();
$h->start_again;
my $fresh = MTAnalysis::status($h);
my @counted = map { "$_->{endpoint}: $_->{requests}" }
              grep { ($_->{requests} // 0) > 0 } @{ $fresh->{endpoints} || [] };
is_deeply(\@counted, [], 'after a full stop and a start no endpoint has requests');
my @old = grep { $before{"$_->{pid} $_->{first_seen}"} } @{ $fresh->{processes} || [] };
is_deeply(\@old, [], 'and no process from before');
my $restart_iso = POSIX::strftime('%Y-%m-%dT%H:%M:%S', gmtime int $restart);
cmp_ok($fresh->{state_started} // '', 'ge', $restart_iso,
       "the state was laid out anew ($started_before, now "
       . ($fresh->{state_started} // 'none') . ')');
my @said = $h->error_log =~ /memtrack: shared state (\w+)/g;
is($said[-1], 'started', 'the error log says it started, not kept');
for (1 .. 20) {
    $h->get('/leaky?kb=50')->{success} or fail('a request after the start');
}
my $n = 0;
MTTest::wait_for(sub {
    my $e = MTAnalysis::verdicts($h)->{leaky};
    $n = $e ? $e->{requests} : 0;
    $n >= 20;
}, 5);
is($n, 20, 'leaky counts from zero: 20 requests after the start');

$h->stop;
is($h->sanitizer_log, '', 'no sanitizer report');
done_testing();

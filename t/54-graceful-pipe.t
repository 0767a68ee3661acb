#!/usr/bin/perl
# A piped logger keeps every record across graceful restarts (issue 9,
# item 6). The pipe and its logger belong to the httpd parent's process,
# not to one configuration: while the MemTrackLog spec stays the same, the
# old generation's children and the new one write into the same pipe, read
# by the same logger, so nothing is lost; at stop the logger reads to the
# end before httpd exits. Whatever does get lost is told as dropped: sent =
# received + told, always.
#
# Light load (one client, back to back) during 60 graceful restarts. httpd's
# own piped CustomLog runs beside it for comparison (its losses are shown,
# not asserted: they are httpd's).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use HTTP::Tiny;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);
use MTClock qw(time);

my $RESTARTS = $ENV{MT_RESTARTS} || 60;

# Busy: four clients without pauses, so each child's writer thread has
# records waiting in its buffer whenever a restart comes; they are written
# when the old child exits.
my @LOADS = ([light => 1, 0.005, $RESTARTS],
             [busy => 4, 0, $ENV{MT_RESTARTS} || 10]);

for my $mpm (qw(event prefork)) {
  for my $load (@LOADS) {
    my ($what, $clients, $pause, $restarts) = @$load;
    subtest "$mpm: $restarts graceful restarts under $what load" => sub {
        my $h = MTTest->start(mpm => $mpm, log => 'pipe',
                              conf => <<'EOC');
LogFormat "%U%q" mtseq
CustomLog "|/bin/sh -c 'exec cat >>@DIR@/access.log'" mtseq
EOC
        ok(MTTest::wait_for(sub { $h->logger_pid }, 10), 'piped logger started');
        my $logger = $h->logger_pid;

        # The clients: GET /static.txt?seq=N back to back; each prints every
        # N it was served (client c serves c, c + clients, ...). They stop
        # between requests when the stop file appears: a signal could end a
        # request the server had served before the client counted it.
        my $stopfile = $h->dir . '/clients-stop';
        pipe(my $rd, my $wr) or die "pipe: $!";
        my @client;
        for my $c (1 .. $clients) {
            my $pid = fork // die "fork: $!";
            if (!$pid) {
                close $rd;
                my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
                for (my $i = $c; !-e $stopfile; $i += $clients) {
                    my $res = $http->get($h->url("/static.txt?seq=$i"));
                    syswrite($wr, "$i\n") if $res->{status} == 200;
                    sleep $pause if $pause;
                }
                close $wr;
                POSIX::_exit(0);
            }
            push @client, $pid;
        }
        close $wr;
        sleep 0.5;
        for my $i (1 .. $restarts) {
            $h->graceful;
            sleep 0.3;
        }
        sleep 0.5;
        open my $stopfh, '>', $stopfile or die "$stopfile: $!";
        close $stopfh;
        my @served = map { /^(\d+)$/ ? $1 : () } <$rd>;
        waitpid($_, 0) for @client;
        close $rd;
        cmp_ok(scalar @served, '>', 100, scalar(@served) . ' requests served');
        my $same_logger = ($h->logger_pid // 0) == $logger;
        $h->records;
        $h->stop;

        my @lines = $h->raw_lines;
        my @bad = grep { !MTTest::decode_line($_) } @lines;
        is(scalar @bad, 0, 'every line is a whole record');
        my %got;
        $got{$_}++ for map { /"url":"\/static\.txt\?seq=(\d+)"/ ? $1 : () } @lines;
        my @dups = grep { $got{$_} > 1 } keys %got;
        is(scalar @dups, 0, 'no record written twice');
        my @lost = grep { !$got{$_} } @served;
        my ($told, $el) = (0, $h->error_log);
        $told += $1 while $el =~ /memtrack: MemTrackLog \|\S+ \S+ \S+: dropped (\d+) records since the last report/g;
        my $access = () = MTTest::_slurp($h->dir . '/access.log') =~ /seq=\d+/g;
        diag(sprintf "%s, %s load: %d restarts, %d served, %d received, %d lost, %d told "
             . "as dropped; httpd's own piped CustomLog: %d lines, %d lost",
             $mpm, $what, $restarts, scalar @served, scalar keys %got, scalar @lost,
             $told, $access, @served - $access);
        is(scalar(keys %got) + $told, scalar @served,
           'served = received + told as dropped: nothing vanished uncounted');
        is(scalar @lost, 0, 'nothing lost across graceful restarts')
            or diag("lost: @lost[0 .. ($#lost < 20 ? $#lost : 20)]");
        ok($same_logger, "one logger ($logger) for every generation");
        # The records went through each child's writer thread, in batches
        # (mod_memtrack_log.c): children of many generations started one.
        my %writers;
        $writers{$1}++ while $el =~ /\[pid (\d+)[^\]]*\][^\n]* memtrack: MemTrackLog \|[^\n]*: writer thread started \(records written in batches\)/g;
        cmp_ok(scalar keys %writers, '>', $restarts / 2,
               scalar(keys %writers) . ' children of the generations wrote through a batching writer');
        is($h->sanitizer_log, '', 'no sanitizer reports');
    };
  }
}

subtest 'a changed MemTrackLog: the old logger reads to the end, then exits' => sub {
    my $h = MTTest->start(mpm => 'event', log => 'pipe');
    ok(MTTest::wait_for(sub { $h->logger_pid }, 10), 'piped logger started');
    my $old = $h->logger_pid;
    my $conf = MTTest::_slurp($h->dir . '/httpd.conf');
    ok($conf =~ s/^(MemTrackLog "\|.*?)"$/$1 second"/m, 'config changed');
    open my $fh, '>', $h->dir . '/httpd.conf' or die;
    print {$fh} $conf;
    close $fh;
    my $sent = 0;
    for my $i (1 .. 50) {
        $sent++ if $h->get("/static.txt?before=$i")->{status} == 200;
    }
    $h->graceful;
    ok(MTTest::wait_for(sub { my $p = $h->logger_pid; $p && $p != $old }, 10),
       'a logger for the new spec started');
    for my $i (1 .. 50) {
        $sent++ if $h->get("/static.txt?after=$i")->{status} == 200;
    }
    ok(MTTest::wait_for(sub { !kill 0, $old }, 15),
       "the old logger $old ended (and was reaped) once the old children were gone");
    my @recs = grep { $_ && $_->{url} =~ /(before|after)=/ } $h->records;
    is(scalar @recs, $sent, "all $sent records arrived");
    $h->stop;
};

done_testing();

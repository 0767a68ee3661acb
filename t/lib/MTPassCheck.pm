package MTPassCheck;

=head1 NAME

MTPassCheck - shared checks of the Passenger integration tests (t/2x)

=head1 SYNOPSIS

    use MTTest ':noskip';  use MTPassenger;  use MTPassCheck;
    MTPassCheck::plan_or_skip();                  # skip_all without Passenger/module
    my $h = MTPassCheck::start(app => 'rack', procs => 2);
    my @apps = MTPassenger::warm($h, procs => 2);
    my @res = MTPassCheck::par_get($h, '/pid?u=1', '/pid?u=2');   # concurrent
    my %rec = MTPassCheck::records_for($h, map { $_->{path} } @res);
    is($rec{'/pid?u=1'}{pid}, MTPassCheck::body_pid($res[0]), ...);
    MTPassCheck::finish($h);                      # stop by pid, check leftovers, ASan

=head1 FUNCTIONS

    plan_or_skip()            skip_all unless the module is built and
                              Passenger is installed
    start(%o)                 MTPassenger->start(%o); under MT_ASAN the
                              Passenger agents run without the ASan runtime
                              (see AGENTS WITHOUT ASAN below)
    token()                   a fresh unique "u=..." query value
    private_app($name)        a copy of t/apps/$name (and t/apps/lib) under
                              MTTmp's directory (BASE/apps-PID/), removed
                              at exit unless kept: an app root
                              no other test server uses, so host-wide
                              process discovery by app root is unambiguous
                              even when tests run in parallel
    par_get($h, @paths)       GET every path at once (forked clients);
                              returns [{path, status, content, headers}] in
                              the order of @paths
    body_pid($res|$content)   the pid on the first line of a body, or 0
    records_for($h, @urls)    waits (10 s) until a record exists for each
                              url; returns url => record (the last one per url)
    record_lines_for($h, @urls)  url => raw line (for byte-level checks)
    raw_split($raw)           (header block, body) of a raw HTTP response;
                              several responses on one connection: every
                              header block joined
    raw_has_memtrack($raw)    1 when any header line of the raw response(s)
                              starts with X-MemTrack (any case)
    hostile_kinds()           every kind /hostile?kind=... of the Rack test
                              app offers, read from t/apps/lib/mt_test_app.rb
    uid_of($pid)              real uid from /proc/PID/status (-1 if gone)
    app_env($h, $name, @pids) pid => the value of environment variable
                              $name as each app process sees it (undef:
                              unset), asked of the apps (/getenv)
    problems($rec, $line)     MTTest::record_problems, except that pid null
                              is accepted when attribution says why
                              (unattributed/refused)
    finish($h)                MTPassenger::stop; checks that no Passenger
                              process of the server is left and that ASan
                              reported nothing

=head1 AGENTS WITHOUT ASAN

Under C<MT_ASAN> httpd runs with C<LD_PRELOAD> of the ASan runtime, and
mod_passenger starts its watchdog and core agents from httpd, so they
inherit it (MTPassenger's C<SetEnv LD_PRELOAD ""> only reaches the apps).
With the runtime preloaded, the Passenger core now and then never finishes
its graceful shutdown (seen in about 1 run of 10: the core sits in
nanosleep after "Checking whether to disconnect long-running connections"
until stop() KILLs it 10 s later). MTPassenger therefore points PassengerRoot
at a copy of Passenger's F<locations.ini> whose C<support_binaries_dir>
holds a F<PassengerAgent> shell wrapper that unsets C<LD_PRELOAD>,
C<ASAN_OPTIONS> and C<UBSAN_OPTIONS> and execs the real agent. The agents
and the apps (spawned by the core) then carry no ASan runtime; httpd and
the module under test still do.

=cut

use strict;
use warnings;
use Carp qw(croak);
use File::Path qw(make_path remove_tree);
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep);
use MTClock qw(time);
use Test::More;
use MTTest ':noskip';
use MTPassenger;
use MTTmp;

my $SEQ = 0;

sub plan_or_skip {
    my $why = MTPassenger::why_not() // MTTest::_why_not_runnable();
    plan skip_all => $why if $why;
}

# MTPassenger keeps the ASan runtime out of Passenger's agents and apps
# (see MTPassenger::passenger_root).
sub start {
    my (%o) = @_;
    return MTPassenger->start(%o);
}

my $APPS_DIR;

sub private_app {
    my ($name) = @_;
    croak "bad app name $name" unless $name =~ /^[a-z0-9_-]+$/;
    my $src = "$MTTest::ROOT/t/apps";
    $APPS_DIR //= MTTmp::fresh_dir("apps-$$");
    my $dst = "$APPS_DIR/$name";
    return $dst if -f "$dst/config.ru";
    system('cp', '-R', "$src/$name", "$src/lib", "$APPS_DIR/") == 0
        or croak "cp $src/$name: $?";
    system('chmod', '-R', 'a+rX', $APPS_DIR) == 0 or croak "chmod: $?";
    return $dst;
}

my $OWNER = $$;
END {
    remove_tree($APPS_DIR) if $APPS_DIR && $$ == $OWNER && !$ENV{MT_KEEP_TMP};
}

sub token { return sprintf 'u=%d-%d-%d', $$, int(time * 1000) % 1000000, ++$SEQ }

sub par_get {
    my ($h, @paths) = @_;
    my @kids;
    for my $path (@paths) {
        my $pid = open(my $fh, '-|') // croak "fork: $!";
        if (!$pid) {
            my $r = HTTP::Tiny->new(timeout => 60, max_redirect => 0)
                              ->get($h->url($path));
            my $xm = exists $r->{headers}{'x-memtrack'} ? 1 : 0;
            print "$r->{status} $xm\n", ($r->{content} // '');
            close STDOUT;
            POSIX::_exit(0);
        }
        push @kids, [$path, $fh];
    }
    my @out;
    for my $k (@kids) {
        my $fh = $k->[1];
        local $/;
        my $t = <$fh> // '';
        close $fh;
        my ($st, $xm, $body) = $t =~ /\A(\d+) (\d)\n(.*)\z/s ? ($1, $2, $3) : (0, 0, $t);
        push @out, { path => $k->[0], status => $st, content => $body,
                     headers => $xm ? { 'x-memtrack' => 'present' } : {} };
    }
    return @out;
}

sub body_pid {
    my ($x) = @_;
    my $c = ref $x ? ($x->{content} // '') : ($x // '');
    return $c =~ /\A(\d+)\n/ ? $1 : 0;
}

sub _wait_urls {
    my ($h, @urls) = @_;
    my $until = time + 10;
    my %want = map { $_ => 1 } @urls;
    my %line;
    while (1) {
        %line = ();
        for my $l ($h->raw_lines) {
            my $r = MTTest::decode_line($l);
            my $url = $r ? $r->{url} : ($l =~ /"url":"((?:[^"\\]|\\.)*)"/ ? $1 : undef);
            $line{$url} = $l if defined $url && $want{$url};
        }
        last if keys(%line) >= keys(%want) || time > $until;
        sleep 0.05;
    }
    return %line;
}

sub record_lines_for { my ($h, @urls) = @_; return _wait_urls($h, @urls) }

sub records_for {
    my ($h, @urls) = @_;
    my %line = _wait_urls($h, @urls);
    return map { $_ => MTTest::decode_line($line{$_}) } keys %line;
}

sub raw_split {
    my ($raw) = @_;
    my @heads;
    my $rest = $raw // '';
    my $body = '';
    # responses on one connection: header block, body, next status line ...
    while ($rest =~ s/\A(HTTP\/\d\.\d [^\r\n]*\r\n(?:[^\r\n]+\r\n)*)\r\n//) {
        push @heads, $1;
        if ($rest =~ /^HTTP\/\d\.\d \d{3}/m) {
            my $at = $-[0];
            $body .= substr($rest, 0, $at);
            $rest = substr($rest, $at);
        } else {
            $body .= $rest;
            $rest = '';
        }
    }
    return (join('', @heads), $body . $rest);
}

sub raw_has_memtrack {
    my ($raw) = @_;
    my ($heads) = raw_split($raw);
    return $heads =~ /^x-memtrack/im ? 1 : 0;
}

sub hostile_kinds {
    my $file = "$MTTest::ROOT/t/apps/lib/mt_test_app.rb";
    open my $fh, '<', $file or croak "$file: $!";
    my ($in, @kinds) = (0);
    while (my $l = <$fh>) {
        $in = 1 if $l =~ /^\s*def hostile\b/;
        next unless $in;
        last if $in && $l =~ /^  end\b/;
        push @kinds, $1 while $l =~ /\bwhen "([a-z0-9_]+)" then/g;
    }
    croak "no hostile kinds found in $file" unless @kinds;
    return @kinds;
}

sub uid_of {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return -1;
    while (<$fh>) { return $1 if /^Uid:\s+(\d+)/ }
    return -1;
}

# pid => the value of environment variable $name in each of @pids (undef
# when unset there), asked of the app processes themselves through /getenv
# with concurrent calls until each pid has answered (30 s at most; a pid
# that never answered is left out). Not /proc/PID/environ: Passenger's
# process title ("Passenger RubyApp: <app root> (<env>)") is longer than
# the original argv when the app root is long, and is written over the
# start of the environment block that file shows.
sub app_env {
    my ($h, $name, @pids) = @_;
    my %want = map { $_ => 1 } @pids;
    my %val;
    my $until = time + 30;
    while (grep({ !exists $val{$_} } @pids) && time < $until) {
        my @res = par_get($h, ("/getenv?name=$name&ms=150&" . token()) x @pids);
        for my $r (@res) {
            next unless $r->{content} =~ /\A(\d+)\n(?:unset|set=(.*))\n\z/s;
            $val{$1} = $2 if $want{$1};
        }
    }
    return %val;
}

sub problems {
    my ($rec, $line) = @_;
    my @p = MTTest::record_problems($rec, $line);
    if (ref $rec eq 'HASH' && !defined $rec->{pid}
        && ($rec->{attribution} // '') =~ /^(unattributed|refused)/) {
        @p = grep { $_ ne 'pid not an integer > 1' } @p;
    }
    return @p;
}

sub finish {
    my ($h) = @_;
    my %start = MTPassenger::start_times(MTPassenger::passenger_pids($h));
    my @killed = MTPassenger::stop($h);
    diag("needed KILL: @killed") if @killed;
    is_deeply([grep { MTPassenger::_alive($_, $start{$_}) } sort keys %start], [],
              'no Passenger process of this server is left');
    is($h->sanitizer_log, '', 'no sanitizer reports');
    unlike($h->error_log, qr/exit signal|AddressSanitizer|Segmentation/,
           'no httpd child crashed');
}

1;

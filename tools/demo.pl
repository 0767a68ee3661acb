#!/usr/bin/perl
# make demo: mod_memtrack on a throwaway httpd, then in front of a Passenger
# Rack app, with a short load; prints what the records say. Every answer and
# record it shows is checked first: a wrong one (a 403 from a server that
# cannot read its files, a missing record, ...) stops the demo with a
# message naming the cause, and the exit status is not 0.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest;
use MTPassenger;

$| = 1;
my $MiB = 1048576;
my $CHECKED = 0;     # answers and records checked

# Stop the demo: what was wrong, what the server's error log says about it,
# and where its files are.
sub stop_demo {
    my ($h, $what) = @_;
    my $msg = "\ndemo stopped: $what\n";
    if ($h) {
        my @why = grep { /\[[a-z_]*:?(error|crit|alert|emerg)\]|\[memtrack:warn\]|denied|permission/i }
                  split /\n/, $h->error_log;
        @why = @why[-4 .. -1] if @why > 4;
        $msg .= "  the server's error log says:\n" . join('', map { "    $_\n" } @why) if @why;
        $msg .= "  403: httpd's children (www-data, when run as root) or the app cannot read "
              . "a file they serve or load (see above)\n" if $what =~ /answered 403/;
        $msg .= "  the server's files (httpd.conf, error.log, records.jsonl): " . $h->dir . "\n";
        eval { MTPassenger::stop($h); 1 } or $h->stop;
    }
    print STDERR $msg;
    exit 1;
}

# GET $path: status $want and a body matching $body, or stop.
sub checked_get {
    my ($h, $path, $want, $body) = @_;
    my $r = $h->get($path);
    my $got = $r->{content} // '';
    my ($line) = $got =~ m{<title>([^<]*)</title>} ? $1 : $got =~ /\A([^\n]{0,100})/;
    stop_demo($h, "GET $path answered $r->{status} (expected $want): $line")
        unless $r->{status} == $want;
    stop_demo($h, "GET $path: unexpected body '" . substr($got, 0, 200) . "'")
        unless $got =~ $body;
    $CHECKED++;
    return $r;
}

# A record that says what it must: field => expected value, or a code ref
# that returns true for a good value.
sub check_record {
    my ($h, $r, $what, %want) = @_;
    stop_demo($h, "$what: no record in records.jsonl") unless $r;
    for my $k (sort keys %want) {
        my ($v, $w) = ($r->{$k}, $want{$k});
        my $ok = ref $w eq 'CODE' ? $w->($v) : defined $v && $v eq $w;
        stop_demo($h, "$what: record field $k is " . ($v // 'null')
                  . (ref $w ? '' : " (expected $w)")) unless $ok;
    }
    $CHECKED++;
}
sub mib { my ($b) = @_; return defined $b ? sprintf('%+.2f MiB', $b / 1048576) : 'n/a' }

sub show_records {
    my (@recs) = @_;
    printf "  %-18s %-7s %6s %-8s %8s %14s %s\n",
        'url', 'status', 'pid', 'target', 'before', 'growth', 'flag';
    for my $r (@recs) {
        printf "  %-18s %-7s %6s %-8s %8s %14s %s\n", substr($r->{url}, 0, 18),
            $r->{status}, $r->{pid} // '-', $r->{target},
            sprintf('%.1fM', ($r->{memory_before} // 0) / 1048576),
            mib($r->{memory_growth}),
            $r->{threshold_exceeded} ? 'THRESHOLD' : '';
    }
}

print "== 1. The httpd child: MemTrack On, MemTrackThreshold 8M\n\n";
my $h = MTTest->start(mpm => 'prefork', name => 'demo-self',
                      mpm_conf => "StartServers 1\nMinSpareServers 1\nMaxSpareServers 1\nMaxRequestWorkers 1\n",
                      conf => "MemTrackThreshold 8M\n");
my %body = ('/' => qr/memtrack test/, '/static.txt' => qr/\Astatic\n\z/,
            '/static.txt?q=1' => qr/\Astatic\n\z/, '/grow?mb=16' => qr/\Apid=\d+ mb=16\n\z/);
my @urls = ('/', '/static.txt', '/static.txt?q=1', '/grow?mb=16', '/static.txt');
checked_get($h, $_, 200, $body{$_}) for @urls;
my @self = $h->wait_records(5, 10);
stop_demo($h, scalar(@self) . " records in records.jsonl for 5 requests") unless @self == 5;
my ($child) = $h->child_pids;
for my $i (0 .. $#urls) {
    my $grow = $urls[$i] =~ /grow/;
    check_record($h, $self[$i], "record " . ($i + 1) . " ($urls[$i])",
                 url => $urls[$i], status => 200, target => 'self', pid => $child,
                 threshold_exceeded => sub { ($_[0] ? 1 : 0) == ($grow ? 1 : 0) },
                 $grow ? (memory_growth => sub { ($_[0] // 0) >= 15 * $MiB }) : ());
}
show_records(@self);
my @warn = grep { /memtrack/ } split /\n/, $h->error_log;
stop_demo($h, "no threshold warning in the error log for /grow?mb=16")
    unless grep { /threshold exceeded: request_id=\Q$self[3]{request_id}\E\b/ } @warn;
print "\n  error log:\n";
print map { "    $_\n" } @warn;
print "\n  one record as written (records.jsonl):\n    ", ($h->raw_lines)[3];
print "\n  this server's files: ", $h->dir, "\n";
$h->stop;

my $why = MTPassenger::why_not();
if ($why) {
    print "\n== 2. skipped: $why\n\ndemo: all $CHECKED answers and records were as expected (part 2 skipped)\n";
    exit 0;
}
print "\n== 2. A Passenger Rack app (2 processes, memtrack-rack companion)\n\n";
$h = MTPassenger->start(app => 'rack', procs => 2, name => 'demo-app',
                        conf => "MemTrackThreshold 8M\n");
my @pids = eval { MTPassenger::warm($h, procs => 2) };
stop_demo($h, "the Passenger app did not answer: " . ($@ =~ s/\n.*//sr)) unless @pids;
my %app = map { $_ => 1 } @pids;
my @load = ('/leak', '/cache', '/garbage', '/hello');
print "  app processes: @pids\n  load: 150 x /leak, /cache, /garbage, /hello at concurrency 4",
      " (after one checked request each) ...\n";
for my $path (@load) {
    # /hello says hello; the others answer the pid of the app process
    my $r = checked_get($h, $path, 200, $path eq '/hello' ? qr/\Ahello\n\z/ : qr/\A\d+\n\z/);
    my ($pid) = $r->{content} =~ /\A(\d+)/;
    stop_demo($h, "GET $path was answered by pid $pid, not an app process (@pids)")
        if defined $pid && !$app{$pid};
    my ($rc, $out) = $h->ab(n => 150, c => 4, path => $path);
    my ($done) = $out =~ /Complete requests:\s+(\d+)/;
    my ($non2xx) = $out =~ /Non-2xx responses:\s+(\d+)/;
    stop_demo($h, "ab $path: " . ($non2xx ? "$non2xx answers were not 2xx"
                                          : "exit $rc, " . ($done // 0) . " of 150 requests done")
              . "\n" . join('', map { "    $_\n" } grep { /\S/ } (split /\n/, $out)[-8 .. -1]))
        if $rc != 0 || ($done // 0) != 150 || $non2xx;
    $CHECKED += 150;
}
my @all = $h->wait_records(151 * @load, 30);
for my $path (@load) {
    my @r = grep { $_ && $_->{url} eq $path } @all;
    stop_demo($h, scalar(@r) . " records for $path in records.jsonl (expected 151)")
        unless @r == 151;
    check_record($h, $_, "a record of $path", status => 200, target => 'backend',
                 pid => sub { defined $_[0] && $app{$_[0]} }) for @r;
}
my @recs = grep { $_->{target} eq 'backend' } @all;
my %ep;
for my $r (@recs) {
    my $e = $ep{$r->{url}} //= { n => 0, sum => 0, grew => 0, g => [], pids => {} };
    my $g = $r->{memory_growth} // 0;
    $e->{n}++; $e->{sum} += $g; $e->{grew}++ if $g > 0;
    push @{ $e->{g} }, $g; $e->{pids}{$r->{pid}}++;
    my ($gb, $ga) = ($r->{gc_stats_before}, $r->{gc_stats_after});
    $e->{alloc} += $ga->{total_allocated_objects} - $gb->{total_allocated_objects}
        if $ga && $gb && defined $ga->{total_allocated_objects}
        && defined $gb->{total_allocated_objects};
}
# A first reading of the shape, from these numbers alone: a leak adds a
# little on most of its requests, bloat comes from a few requests and then
# stops, churn allocates a lot and keeps little. "few" is how many of the
# largest requests make 80% of the growth. (The module's own leak detector,
# per process and with a confidence, is a later release.)
sub few {
    my (@g) = sort { $b <=> $a } grep { $_ > 0 } @_;
    my $total = 0;
    $total += $_ for @g;
    my ($sum, $k) = (0, 0);
    for (@g) { last if $sum >= 0.8 * $total; $sum += $_; $k++ }
    return $k;
}

sub shape {
    my ($e, $k) = @_;
    my $allocs = ($e->{alloc} // 0) / $e->{n};
    return 'churn: allocates a lot, keeps little' if $allocs > 10_000;
    return 'flat' if $e->{sum} < 1048576;
    return 'bloat: grew in a few requests, then stopped' if $k <= 5;
    return 'leak? grows a little on most requests';
}
printf "\n  %-9s %5s %13s %11s %12s  %s\n", 'endpoint', 'reqs', 'total growth',
    'few (80%)', 'allocs/req', 'shape';
for my $url (sort { $ep{$b}{sum} <=> $ep{$a}{sum} } keys %ep) {
    my $e = $ep{$url};
    my $k = few(@{ $e->{g} });
    printf "  %-9s %5d %13s %11d %12d  %s\n", $url, $e->{n}, mib($e->{sum}), $k,
        ($e->{alloc} // 0) / $e->{n}, shape($e, $k);
}
print <<'TXT';

  Every record names the app process that served it (pid) and carries the
  app's GC and object counts; records.jsonl holds them all.
TXT
print "\n  one backend record:\n    ", (grep { /"target":"backend"/ } $h->raw_lines)[-1];
print "\n  this server's files: ", $h->dir, "\n";
MTPassenger::stop($h);
print "\ndemo: all $CHECKED answers and records were as expected\n";

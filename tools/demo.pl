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
use MTAnalysis;

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
# What the status page's ?json says (MTAnalysis croaks on a bad answer),
# or stop.
sub status_of {
    my ($h, $what) = @_;
    my $got = eval { $what eq 'verdicts' ? MTAnalysis::verdicts($h) : MTAnalysis::status($h) };
    stop_demo($h, "the status page's ?json failed: " . ($@ =~ s/\s+\z//r)) unless $got;
    return $got;
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
print "\n== 2. A Passenger Rack app (2 processes, memtrack-rack companion): the module's verdicts\n\n";
# The demo probes 1 request in 10 and lets the companion's GCs use up to a
# quarter of the app's time, so that a minute of traffic is enough; the
# defaults (1 in 100, 2%) take longer to reach the same verdicts.
$h = MTPassenger->start(app => 'rack', procs => 2, name => 'demo-app',
                        env => { MEMTRACK_PROBE_BUDGET => '0.25' },
                        conf => "MemTrackThreshold 8M\nMemTrackProbeRate 10\n"
                              . "MemTrackProbeMax 20\n" . MTAnalysis::status_location());
my @pids = eval { MTPassenger::warm($h, procs => 2) };
stop_demo($h, "the Passenger app did not answer: " . ($@ =~ s/\n.*//sr)) unless @pids;
my %app = map { $_ => 1 } @pids;
# endpoint => [path, share, the verdict it must get, what it does]
my %EP = (
    'MTTestApp#leak'    => ['/leak',    12, 'leak',  'keeps 100 strings of 500 bytes a call'],
    'MTTestApp#cache'   => ['/cache',   12, 'bloat', 'fills a 5 MB cache on its first call'],
    'MTTestApp#garbage' => ['/garbage',  6, 'churn', 'allocates 200,000 strings and keeps none'],
    'MTTestApp#hello'   => ['/hello',   70, 'flat',  'says hello'],
);
for my $e (sort keys %EP) {
    my $path = $EP{$e}[0];
    my $r = checked_get($h, $path, 200, $path eq '/hello' ? qr/\Ahello\n\z/ : qr/\A\d+\n\z/);
    my ($pid) = $r->{content} =~ /\A(\d+)/;
    stop_demo($h, "GET $path was answered by pid $pid, not an app process (@pids)")
        if defined $pid && !$app{$pid};
}
print "  app processes: @pids\n";
print "  the status page, while the demo runs: ", $h->url($MTAnalysis::STATUS_PATH), "\n";
print "  load: ", join(', ', map { "$EP{$_}[1]% $EP{$_}[0]" } sort keys %EP),
      ", 4 clients, until every endpoint has its verdict ...\n";
my ($done, $v) = (0, {});
my $reached = sub {
    !grep { ($v->{$_}{verdict} // '') ne $EP{$_}[2] } keys %EP;
};
while ($done < 8000 && ($done < 1200 || !$reached->())) {
    my $bad = MTAnalysis::load($h, mix => { map { $EP{$_}[0] => $EP{$_}[1] } keys %EP },
                               requests => 400, clients => 4, seed => $done + 1);
    stop_demo($h, "$bad of 400 requests were not answered 2xx") if $bad;
    $CHECKED += 400;
    $done += 400;
    $v = status_of($h, 'verdicts');
    printf "  %5d requests: %s\n", $done,
        join(', ', map { "$EP{$_}[0] " . ($v->{$_}{verdict} // '-') } sort keys %EP);
}
my @all = $h->wait_records($done, 30);
for my $e (sort keys %EP) {
    my @r = grep { $_ && ($_->{endpoint} // '') eq $e } @all;
    stop_demo($h, "no records of $e in records.jsonl") unless @r;
    check_record($h, $_, "a record of $EP{$e}[0]", status => 200, target => 'backend',
                 endpoint => $e, pid => sub { defined $_[0] && $app{$_[0]} }) for @r;
}
printf "\n  %-18s %-7s %-9s %-32s %s\n", 'endpoint', 'reqs', 'verdict', 'figures', 'what it does';
for my $e (sort { ($EP{$b}[2] eq 'leak') <=> ($EP{$a}[2] eq 'leak') || $a cmp $b } keys %EP) {
    my $x = $v->{$e} || {};
    my $fig = $x->{verdict} && $x->{verdict} eq 'leak'
        ? sprintf('%.1f KB/request (%.1f to %.1f), %s', $x->{leak_bytes_per_request} / 1000,
                  $x->{leak_bytes_per_request_low} / 1000,
                  $x->{leak_bytes_per_request_high} / 1000, $x->{confidence} // '')
        : $x->{verdict} && $x->{verdict} eq 'bloat' ? sprintf('%.1f MB once', ($x->{bloat_bytes} // 0) / 1e6)
        : defined $x->{alloc_objects_per_request} && $x->{alloc_objects_per_request} >= 0
        ? sprintf('%.0f objects allocated/request', $x->{alloc_objects_per_request}) : '';
    printf "  %-18s %-7s %-9s %-32s %s\n", $e, $x->{requests} // 0, $x->{verdict} // '-',
        $fig, $EP{$e}[3];
}
my @wrong = grep { ($v->{$_}{verdict} // '') ne $EP{$_}[2] } sort keys %EP;
stop_demo($h, "after $done requests: " . join('; ', map {
    "$_ is " . ($v->{$_}{verdict} // 'not judged') . " (expected $EP{$_}[2]): "
    . ($v->{$_}{evidence} // '') . ($v->{$_}{needs} ? "; needs $v->{$_}{needs}" : '') } @wrong))
    if @wrong;
$CHECKED += keys %EP;
my $st = status_of($h, 'status');
print "\n  app processes:\n";
for my $p (grep { $_->{kind} eq 'app' } @{ $st->{processes} || [] }) {
    printf "    slot %-3s pid %-7s %5.1f MB now, peak %5.1f MB, %-6s %s\n", $p->{slot},
        $p->{pid}, ($p->{memory_after} // 0) / 1e6, ($p->{memory_peak_bytes} // 0) / 1e6,
        $p->{verdict}, $p->{evidence} // '';
}
print <<'TXT';

  The verdicts are the module's own (the status page's ?json): it probes a
  sample of requests, asking the companion to measure what one request kept
  (a full GC before it and before the process's next request), and judges
  each endpoint on those probes. Summing per-request RSS growth would have
  blamed the garbage-making endpoint (docs/analysis.md says why).
TXT
print "\n  one record of a probe's result:\n    ",
    (grep { /"probe_endpoint":"/ } $h->raw_lines)[-1] // "(none)\n";
print "\n  this server's files: ", $h->dir, "\n";
MTPassenger::stop($h);
print "\ndemo: all $CHECKED answers and records were as expected\n";

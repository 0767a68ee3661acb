#!/usr/bin/perl
# make demo: mod_memtrack on a throwaway httpd, then in front of a Passenger
# Rack app, with a short load; prints what the records say.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use MTTest;
use MTPassenger;

$| = 1;
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
$h->get($_) for ('/', '/static.txt', '/static.txt?q=1', '/grow?mb=16', '/static.txt');
show_records($h->wait_records(5, 10));
print "\n  error log:\n";
print map { "    $_\n" } grep { /memtrack/ } split /\n/, $h->error_log;
print "\n  one record as written (records.jsonl):\n    ", ($h->raw_lines)[3];
$h->stop;

my $why = MTPassenger::why_not();
if ($why) {
    print "\n== 2. skipped: $why\n";
    exit 0;
}
print "\n== 2. A Passenger Rack app (2 processes, memtrack-rack companion)\n\n";
$h = MTPassenger->start(app => 'rack', procs => 2, name => 'demo-app',
                        conf => "MemTrackThreshold 8M\n");
my @pids = MTPassenger::warm($h, procs => 2);
print "  app processes: @pids\n  load: 150 x /leak, /cache, /garbage, /hello at concurrency 4 ...\n";
for my $path ('/leak', '/cache', '/garbage', '/hello') {
    $h->ab(n => 150, c => 4, path => $path);
}
my @recs = grep { $_->{target} eq 'backend' } $h->wait_records(600, 30);
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
MTPassenger::stop($h);

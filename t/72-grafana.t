#!/usr/bin/perl
# conf/grafana-memtrack.json against a real ?prometheus: every metric its
# queries (panels and variables) name is one the module serves; it has a
# `datasource` variable that every panel and query uses and no __inputs,
# so it can be provisioned from a file as well as imported; and it has the
# panels the fleet needs (leak suspects, bytes per request by endpoint,
# memory per process, peak blames, dropped records).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use MTAnalysis;
use JSON::PP;
use Test::More;

my $file = "$FindBin::Bin/../conf/grafana-memtrack.json";
my $dash = do { local $/; open my $fh, '<', $file or die "$file: $!"; <$fh> };
my $d = eval { JSON::PP->new->decode($dash) };
ok($d, 'the dashboard is JSON') or BAIL_OUT('not JSON');
ok(!exists $d->{__inputs}, 'no __inputs');
my @vars = @{ $d->{templating}{list} || [] };
my ($ds) = grep { $_->{name} eq 'datasource' } @vars;
ok($ds && $ds->{type} eq 'datasource' && $ds->{query} eq 'prometheus',
   'a datasource variable over Prometheus data sources');

# every query: [where, expression]
my @q;
for my $p (@{ $d->{panels} }) {
    is($p->{datasource}{uid} // '', '${datasource}', "panel '$p->{title}' uses \$datasource");
    for my $t (@{ $p->{targets} || [] }) {
        is($t->{datasource}{uid} // '', '${datasource}', "and its query $t->{refId}");
        push @q, ["panel '$p->{title}'", $t->{expr}];
    }
}
for my $v (grep { $_->{type} eq 'query' } @vars) {
    is($v->{datasource}{uid} // '', '${datasource}', "variable $v->{name} uses \$datasource");
    push @q, ["variable $v->{name}", ref $v->{query} ? $v->{query}{query} : $v->{query}];
}
cmp_ok(scalar @q, '>=', 8, scalar(@q) . ' queries');

my %titles = map { lc $_->{title} => 1 } @{ $d->{panels} };
for my $want (qr/leak suspects/, qr/bytes .*per request/, qr/memory per process/,
              qr/peak blame/, qr/dropped records/) {
    ok(grep({ $_ =~ $want } keys %titles), "a panel for $want");
}

# what a real server serves (a few requests so that every family has samples)
my $h = MTTest->start(conf => MTAnalysis::status_location());
$h->get($_) for ('/static.txt', '/', '/index.html', '/nothing-here');
$h->wait_records(4);
my $res = MTAnalysis::status($h, 'prometheus');
is($res->{status}, 200, '?prometheus answers');
my %served;
for (split /\n/, $res->{content}) {
    $served{$1} = 1 if /^# TYPE (\S+) /;
    $served{$1} = 1 if /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/;
}
cmp_ok(scalar(grep { /^memtrack_/ } keys %served), '>=', 20, 'the module serves its metrics');

sub unknown_metrics {
    my ($expr) = @_;
    my %seen;
    return grep { !$served{$_} && !$seen{$_}++ } $expr =~ /\b(memtrack_[a-z0-9_]+)\b/g;
}
ok(scalar(unknown_metrics('rate(memtrack_no_such_metric[5m])')) == 1,
   'the check finds a metric the module does not serve');
for my $x (@q) {
    my ($where, $e) = @$x;
    my @names = $e =~ /\b(memtrack_[a-z0-9_]+)\b/g;
    ok(@names, "$where names a memtrack metric");
    my @bad = unknown_metrics($e);
    ok(!@bad, "$where: every metric it names is served") or diag("not served: @bad");
}
$h->stop;
is($h->sanitizer_log, '', 'no sanitizer report');
done_testing();

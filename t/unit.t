#!/usr/bin/perl
# Runs every C unit test binary (build/unit/test_*) and relays its TAP.
use strict;
use warnings;
use Test::More;
use FindBin;

my @bins = sort glob("$FindBin::Bin/../build/unit/test_*");
plan skip_all => 'unit tests not built (make unit)' unless @bins;
for my $bin (@bins) {
    my $name = $bin =~ s{.*/}{}r;
    my @out = `$bin 2>&1`;
    my $rc = $? >> 8;
    my @notok = grep { /^not ok/ } @out;
    my ($plan) = grep { /^1\.\.\d+/ } @out;
    ok($rc == 0 && !@notok && $plan, "$name") or diag(join '', @out);
    note(join '', @out) if $ENV{TEST_VERBOSE};
}
done_testing();

#!/usr/bin/perl
# The include graph of the glue has no cycle, and the core includes no glue
# header. Needs no server and no build.
#
# A glue file and its header are one node (src/mod_memtrack_X.c and
# include/mod_memtrack_X.h: "X"); an edge is an #include "mod_memtrack_Y.h"
# in either. A cycle (config -> heapdiff -> config, before this test) means
# two files that cannot be read, tested or split apart: the fix is a type
# forward-declared, a directive's values in a file of their own
# (mod_memtrack_redis_conf.c, mod_memtrack_heapdiff_conf.c), or a shared
# name in the core's header.
use strict;
use warnings;
use FindBin;
use Test::More;

my $root = "$FindBin::Bin/..";

sub includes {
    my ($path) = @_;
    open(my $fh, '<', $path) or die "$path: $!";
    my @inc;
    while (<$fh>) {
        push @inc, $1 if /^\s*#\s*include\s+"([^"]+)\.h"/;
    }
    return @inc;
}

my %edges;
my @glue = (glob("$root/src/mod_memtrack_*.c"),
            glob("$root/include/mod_memtrack_*.h"));
cmp_ok(scalar @glue, '>=', 20, scalar(@glue) . ' glue files');
for my $path (@glue) {
    my ($node) = $path =~ m{/(mod_memtrack_\w+)\.[ch]$};
    for my $inc (includes($path)) {
        next unless $inc =~ /^mod_memtrack_\w+$/ && $inc ne $node;
        $edges{$node}{$inc} = 1;
    }
}

# Every cycle shows as a path back to its start; report each node's first.
my @cycles;
for my $start (sort keys %edges) {
    my @stack = ([$start]);
    my %seen;
    while (my $path = shift @stack) {
        my $at = $path->[-1];
        for my $next (sort keys %{ $edges{$at} || {} }) {
            if ($next eq $start) {
                push @cycles, join(' -> ', @$path, $start);
                @stack = ();
                last;
            }
            next if $seen{$next}++;
            push @stack, [@$path, $next];
        }
    }
}
ok(!@cycles, 'no include cycle among the glue files')
    or diag(join "\n", @cycles);

my @core = (glob("$root/src/mt_*.c"), glob("$root/include/mt_*.h"));
my @bad;
for my $path (@core) {
    push @bad, map { "$path: $_.h" } grep { /^mod_memtrack_/ } includes($path);
}
ok(!@bad, 'no core file includes a glue header') or diag(join "\n", @bad);

done_testing();

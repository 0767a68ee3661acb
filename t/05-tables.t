#!/usr/bin/perl
# README's tables held to the code, so that a record field or a directive
# cannot be added, renamed or dropped in one place only. Needs no server.
#
# - The record's fields: README's table under "## The record" lists them
#   in record order, exactly the table the writer is generated from
#   (MT_RECORD_FIELDS, as build/mt-record-bench --fields prints it from the
#   linked core), and names gc_stats_*'s keys in their order; DESIGN.md's
#   fixed fields (@MTTest::REQUIRED_FIELDS) are all in it.
# - The directives: README's table under "## Directives" names exactly the
#   directives of the command tables (every AP_INIT_* in the C sources).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest ':noskip';
use Test::More;

my $root = "$FindBin::Bin/..";

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# The rows of the first table after heading $h: lists of cells, header and
# separator rows left out.
sub table_rows {
    my ($text, $h) = @_;
    my ($section) = $text =~ /^\Q$h\E\n(.*?)(?=^#{1,3} )/ms
        or return;
    my @lines = grep { /^\|/ } split /\n/, $section;
    my @rows;
    for my $line (@lines[2 .. $#lines]) {
        my @cells = map { s/^\s+|\s+$//gr }
                    split /(?<!\\)\|/, $line =~ s/^\||\|$//gr;
        push @rows, \@cells;
    }
    return @rows;
}

sub ticked { my ($cell) = @_; return $cell =~ /`([^`]+)`/g }

my $readme = slurp("$root/README.md");

# ---- record fields ----
my $bench = "$root/build/mt-record-bench";
ok(-x $bench, "$bench is built (make)") or BAIL_OUT('make first');
my @lines = `$bench --fields`;
is($?, 0, 'the writer lists its fields');
my (@fields, %type, @gc);
for (@lines) {
    chomp;
    my @c = split /\t/;
    if ($c[0] eq 'gc') { push @gc, $c[1] }
    else { push @fields, $c[0]; $type{$c[0]} = $c[1] }
}
cmp_ok(scalar @fields, '>=', 30, scalar(@fields) . ' fields in the table');

my @rows = table_rows($readme, '## The record');
my @documented = map { ticked($_->[0]) } @rows;
is_deeply(\@documented, \@fields,
          "README's record table lists the writer's fields in record order")
    or diag("README: @documented\nwriter: @fields");
my @bare = grep { @$_ < 3 || $_->[1] eq '' || $_->[2] eq '' } @rows;
ok(!@bare, 'every README field row has a unit or type and a meaning')
    or diag(join "\n", map { join ' | ', @$_ } @bare);

my ($gc_row) = grep { $_->[0] =~ /gc_stats_before/ } @rows;
my @gc_doc = $gc_row && $gc_row->[2] =~ /:(.*)/ ? ticked($1) : ();
is_deeply(\@gc_doc, \@gc, "README names gc_stats' keys in the writer's order")
    or diag("README: @gc_doc\nwriter: @gc");

my %in_table = map { $_ => 1 } @fields;
my @missing = grep { !$in_table{$_} } @MTTest::REQUIRED_FIELDS;
ok(!@missing, "DESIGN.md's fixed fields are all in the writer's table")
    or diag("missing: @missing");
my %dup;
my @twice = grep { $dup{$_}++ } @fields;
ok(!@twice, 'no field twice') or diag("@twice");

# ---- directives ----
my %code;
for my $file (glob("$root/src/*.c"), glob("$root/include/*.h"),
              "$root/mod_memtrack.c") {
    my $c = slurp($file);
    $c =~ s{/\*.*?\*/}{ }gs;          # comments out
    $c =~ s{//[^\n]*}{}g;
    $code{$1}++ while $c =~ /\bAP_INIT_\w+\s*\(\s*"(\w+)"/g;
}
cmp_ok(scalar keys %code, '>=', 10, scalar(keys %code) . ' directives in the code');
my @twice_code = grep { $code{$_} > 1 } sort keys %code;
ok(!@twice_code, 'no directive defined twice') or diag("@twice_code");

my @drows = table_rows($readme, '## Directives');
my @dnames = grep { $_ ne 'SetHandler' }
             map { my ($t) = ticked($_->[0]); defined $t ? $t =~ /^(\S+)/ : () }
             @drows;
my %dup_doc;
my @twice_doc = grep { $dup_doc{$_}++ } @dnames;
ok(!@twice_doc, 'no directive twice in README') or diag("@twice_doc");
is_deeply([sort @dnames], [sort keys %code],
          "README's directive table names exactly the code's directives")
    or diag("README only: @{[grep { !$code{$_} } @dnames]}\n"
          . "code only: @{[grep { !$dup_doc{$_} } sort keys %code]}");
my @dbare = grep { @$_ < 4 || grep { $_ eq '' } @$_[1, 3] } @drows;
ok(!@dbare, 'every README directive row has a context and a meaning')
    or diag(join "\n", map { join ' | ', @$_ } @dbare);

done_testing();

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
# - The defaults: every constant of include/mt_limits.h has a unit; each
#   directive's Default column in README is the value of its constant there
#   (%DEFAULTS below maps every directive to its constants, or says why it
#   has none), in the unit README shows for it, and so is the "(default X)"
#   of its help string; the ranges README states are the MT_MIN_*/MT_MAX_*
#   the handlers check (%RANGES).
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

# ---- defaults and limits: README against include/mt_limits.h ----

# The constants: name => { value (a number or a string), unit }. A value is
# a number (a fraction too: the analysis's ratios), a string, an arithmetic
# expression of them, another constant or apr_time_from_sec/msec (µs); the
# unit is the first word of the comment on the #define line.
my %UNITS = map { $_ => 1 }
    qw(bytes ms seconds µs records requests count characters flag pid port
       header ratio);
my %limit;
{
    my $h = slurp("$root/include/mt_limits.h");
    $h =~ s/\\\n/ /g;
    while ($h =~ m{^\#define[ \t]+(MT_\w+)[ \t]+(.*?)[ \t]*(?:/\*[ \t]*(\S+?)[:;, \t]|$)}mg) {
        my ($name, $expr, $unit) = ($1, $2, $3);
        next if $name eq 'MT_LIMITS_H';
        $limit{$name} = { expr => $expr, unit => $unit };
    }
}
sub limit_value {
    my ($name, $depth) = @_;
    my $l = $limit{$name} or return;
    return $l->{value} if exists $l->{value};
    my $e = $l->{expr};
    return $l->{value} = $1 if $e =~ /^"(.*)"$/;
    $e =~ s/\(apr_int64_t\)//g;
    $e =~ s/apr_time_from_sec\(([^()]+)\)/(($1) * 1000000)/g;
    $e =~ s/apr_time_from_msec\(([^()]+)\)/(($1) * 1000)/g;
    $e =~ s/\b(\d+)(?:LL|ULL|u|U|L)\b/$1/g;
    $e =~ s/\b(MT_\w+)\b/ ($depth || 0) < 5 ? (limit_value($1, ($depth || 0) + 1) \/\/ 'undef') : 'undef' /ge;
    return $l->{value} = undef unless $e =~ m{^[\d\s()*+/<.-]+$};
    return $l->{value} = eval $e;
}

cmp_ok(scalar keys %limit, '>=', 60, scalar(keys %limit) . ' constants in mt_limits.h');
my @no_unit = grep { !defined $limit{$_}{unit} || !$UNITS{$limit{$_}{unit}} }
              sort keys %limit;
ok(!@no_unit, 'every constant of mt_limits.h says its unit first in its comment')
    or diag("no unit: @no_unit");
my @no_value = grep { !defined limit_value($_) } sort keys %limit;
ok(!@no_value, 'every constant of mt_limits.h has a value this test can read')
    or diag("unread: @no_value");

# Each directive: [unit, constant...] or [undef, why there is none].
# flag: README says On or Off; bytes: a size (4K, 1G); header: a name.
my %DEFAULTS = (
    MemTrack                   => [flag    => 'MT_DEFAULT_ENABLED'],
    MemTrackThreshold          => [bytes   => 'MT_DEFAULT_THRESHOLD_BYTES'],
    MemTrackLog                => [undef, 'no sink unless configured'],
    MemTrackDropReportInterval => [seconds => 'MT_DEFAULT_DROP_REPORT_SECS'],
    MemTrackTarget             => [undef, 'a word (auto): mt_config_target'],
    MemTrackSampleRate         => [count   => 'MT_DEFAULT_SAMPLE_RATE'],
    MemTrackTrustRequestId     => [flag    => 'MT_DEFAULT_TRUST_REQUEST_ID'],
    MemTrackRequestIdHeader    => [header  => 'MT_DEFAULT_REQUEST_ID_HEADER'],
    MemTrackAppRoot            => [undef, 'found from DocumentRoot'],
    MemTrackRedis              => [undef, 'no sink unless configured'],
    MemTrackRedisTTL           => [seconds => 'MT_REDIS_DEFAULT_TTL_SEC'],
    MemTrackRedisStreamMaxLen  => [records => 'MT_REDIS_DEFAULT_STREAM_MAXLEN'],
    MemTrackRedisQueue         => [records => 'MT_REDIS_DEFAULT_QUEUE_MAX'],
    MemTrackRedisTimeout       => [ms      => 'MT_REDIS_DEFAULT_CONNECT_MS',
                                              'MT_REDIS_DEFAULT_COMMAND_MS'],
    MemTrackEndpoint           => [undef, 'from the request'],
    MemTrackEndpoints          => [count   => 'MT_DEFAULT_ENDPOINTS'],
    MemTrackProbeRate          => [count   => 'MT_DEFAULT_PROBE_RATE'],
    MemTrackProbeMax           => [count   => 'MT_DEFAULT_PROBE_MAX'],
    MemTrackLeakMin            => [bytes   => 'MT_DEFAULT_LEAK_MIN_BYTES'],
    MemTrackServerName         => [undef, 'the host name'],
    MemTrackAnalysis           => [flag    => 'MT_DEFAULT_ANALYSIS'],
    MemTrackHeapDiff           => [flag    => 'MT_DEFAULT_HEAPDIFF'],
    MemTrackHeapDiffDir        => [undef, 'no snapshots unless configured'],
    MemTrackHeapDiffRequests   => [requests => 'MT_HEAPCTL_DEFAULT_REQUESTS'],
    MemTrackHeapDiffInterval   => [seconds => 'MT_HEAPCTL_DEFAULT_INTERVAL'],
    MemTrackHeapDiffTimeout    => [seconds => 'MT_HEAPCTL_DEFAULT_TIMEOUT'],
    MemTrackHeapDiffMaxSize    => [bytes   => 'MT_HEAPCTL_DEFAULT_MAX_BYTES'],
    MemTrackHeapDiffRedisTTL   => [seconds => 'MT_DEFAULT_HEAPDIFF_REDIS_TTL_SEC'],
);
# The ranges README states, as "MIN to MAX" or "MIN..MAX" (bytes: sizes).
my %RANGES = (
    MemTrackDropReportInterval => ['MT_MIN_DROP_REPORT_SECS', 'MT_MAX_DROP_REPORT_SECS'],
    MemTrackSampleRate         => ['MT_MIN_SAMPLE_RATE', 'MT_MAX_SAMPLE_RATE'],
    MemTrackEndpoint           => [1, 'MT_ENDPOINT_MAX'],
    MemTrackEndpoints          => ['MT_MIN_ENDPOINTS', 'MT_EP_LIMIT'],
    MemTrackProbeMax           => ['MT_MIN_PROBE_MAX', 'MT_MAX_PROBE_MAX'],
    MemTrackServerName         => [1, 'MT_MAX_SERVER_NAME'],
    MemTrackHeapDiffRequests   => ['MT_MIN_HEAPDIFF_REQUESTS', 'MT_MAX_HEAPDIFF_REQUESTS'],
);
# How README shows each unit: in the syntax cell, or in the meaning.
my %SHOWN = (
    flag     => qr/On\\?\|Off/,
    bytes    => qr/\bSIZE\b/,
    seconds  => qr/\bSECONDS\b/,
    ms       => qr/\b[A-Z_]*MS\b.*\bmilliseconds\b/,
    count    => qr/\bN\b/,
    records  => qr/\bN\b.*\b(?:entries|records)\b/,
    requests => qr/\bN\b.*\brequests\b/,
    header   => qr/\bNAME\b.*\bheader\b/,
);

# A README or help text default: numbers, sizes (K/M/G, 1024-based),
# On/Off, a quoted name; "none (0)" is 0.
sub default_values {
    my ($unit, $text) = @_;
    $text =~ s/`//g;
    $text =~ s/^none \((\d+)\)$/$1/;
    return ($text eq 'On' ? 1 : $text eq 'Off' ? 0 : undef) if $unit eq 'flag';
    return ($text) if $unit eq 'header';
    my %mult = (K => 1024, M => 1024 ** 2, G => 1024 ** 3);
    my @v;
    for my $w (split ' ', $text) {
        return unless $w =~ /^(\d+)([KMG]?)$/;
        push @v, $1 * ($2 ? $mult{$2} : 1);
    }
    return @v;
}

# The help string of each directive in the code (its string literals
# joined; the directive's name and cmd->info words come first).
my %help;
for my $file (glob("$root/src/*.c"), glob("$root/include/*.h")) {
    my $c = slurp($file);
    $c =~ s{/\*.*?\*/}{ }gs;
    $c =~ s{\\\n}{ }g;
    while ($c =~ /\bAP_INIT_\w+\s*\(\s*"(\w+)"(.*?)(?=\bAP_INIT_|\bMT_HEAPDIFF_CMDS\b|\{\s*NULL|\z)/gs) {
        my ($name, $rest) = ($1, $2);
        $help{$name} = join '', $rest =~ /"((?:[^"\\]|\\.)*)"/g;
    }
}

my %drow = map { my ($t) = ticked($_->[0]); defined $t && $t =~ /^(\S+)/ ? ($1 => $_) : () }
           @drows;
my @unmapped = grep { !$DEFAULTS{$_} } sort keys %code;
ok(!@unmapped, 'every directive is in %DEFAULTS (a constant, or why none)')
    or diag("not in %DEFAULTS: @unmapped");
for my $d (sort keys %DEFAULTS) {
    my ($unit, @names) = @{ $DEFAULTS{$d} };
    my $row = $drow{$d};
    ok($code{$d}, "$d (in %DEFAULTS) is a directive of the code") or next;
    next unless defined $unit && $row;
    my @want = map { limit_value($_) } @names;
    my @bad = grep { !defined limit_value($_) } @names;
    ok(!@bad, "$d: @names in mt_limits.h") or next;
    my @units = map { $limit{$_}{unit} } @names;
    ok(!grep({ $_ ne $unit } @units),
       "$d: mt_limits.h gives @names the unit $unit") or diag("there: @units");
    my @readme = default_values($unit, $row->[2]);
    is_deeply(\@readme, \@want,
              "$d: README's default '$row->[2]' is @names (@want $unit)");
    like("$row->[0] $row->[3]", $SHOWN{$unit}, "$d: README shows the unit ($unit)");
    my ($hd) = ($help{$d} // '') =~ /\bdefault:? ([^;:)]+?)\s*(?:[;:)]|$)/;
    if (defined $hd) {
        is_deeply([default_values($unit, $hd)], \@want,
                  "$d: its help string's default '$hd' is @names");
    }
}
for my $d (sort keys %RANGES) {
    my ($lo, $hi) = map { /^MT_/ ? limit_value($_) : $_ } @{ $RANGES{$d} };
    my $row = $drow{$d} or next;
    like("$row->[0] $row->[3]", qr/\b\Q$lo\E(?: to |\.\.)\Q$hi\E\b/,
         "$d: README's range is $lo to $hi (@{ $RANGES{$d} })");
}

done_testing();

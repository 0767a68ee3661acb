package MTReport;

=head1 NAME

MTReport - run memtrack-report (the plain build, or the ASan build under
MT_ASAN) for the report tests

=head1 SYNOPSIS

    use MTReport;
    my $r = MTReport::run(['--json', 'a.jsonl'], stdin => $bytes);
    # {rc, out, err, json (decoded when the output is JSON), asan (reports)}
    MTReport::tool();     # the binary under test

Under C<MT_ASAN> the tool is C<build/asan/memtrack-report>, run with
C<ASAN_OPTIONS=detect_leaks=1:halt_on_error=1> and its sanitizer reports
written to a file of their own (returned as C<asan>, '' when none).

=cut

use strict;
use warnings;
use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use JSON::PP;

our $ROOT = abs_path(dirname(__FILE__) . '/../..');

sub tool {
    return $ENV{MT_ASAN} ? "$ROOT/build/asan/memtrack-report"
                         : "$ROOT/build/memtrack-report";
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    binmode $fh;
    local $/;
    my $t = <$fh>;
    return $t // '';
}

sub run {
    my ($args, %o) = @_;
    my $tmp = tempdir('mt-report-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $in = "$tmp/stdin";
    open my $fh, '>', $in or croak "$in: $!";
    binmode $fh;
    print {$fh} $o{stdin} // '';
    close $fh;
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        if ($ENV{MT_ASAN}) {
            $ENV{ASAN_OPTIONS} = "detect_leaks=1:halt_on_error=1:log_path=$tmp/asan";
            $ENV{UBSAN_OPTIONS} = "print_stacktrace=1:halt_on_error=1:log_path=$tmp/asan";
        }
        open STDIN, '<', $in;
        open STDOUT, '>', "$tmp/out";
        open STDERR, '>', "$tmp/err";
        exec tool(), @$args or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my %r = (rc => $? >> 8, signal => $? & 127, out => _slurp("$tmp/out"),
             err => _slurp("$tmp/err"));
    $r{asan} = join '', map { _slurp($_) } sort glob("$tmp/asan*");
    $r{json} = eval { JSON::PP->new->utf8->decode($r{out}) } if $r{out} =~ /^\{/;
    return \%r;
}

1;

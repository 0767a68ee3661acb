package MTClock;

=head1 NAME

MTClock - a C<time> for deadlines, on the monotonic clock

=head1 SYNOPSIS

    use Time::HiRes qw(sleep);
    use MTClock qw(time);           # overrides the builtin in this package
    my $until = time + 10;
    sleep 0.05 while !$done->() && time < $until;

=head1 WHY

The tests wait for things with deadlines. On the wall clock a step (NTP,
or a virtual machine restored from a snapshot setting its clock right)
makes a deadline pass at once or never: a test then fails, or hangs, for
no fault of the code under test. C<CLOCK_MONOTONIC> never steps. Its
seconds count from boot, so use it only for intervals and deadlines; a
record's C<time> field is compared with C<CORE::time>.

=cut

use strict;
use warnings;
use Exporter 'import';
use Time::HiRes ();

our @EXPORT_OK = qw(time);

## no critic (ProhibitBuiltinHomonyms)
sub time () { return Time::HiRes::clock_gettime(Time::HiRes::CLOCK_MONOTONIC()) }

1;

package MTAnalysis;

=head1 NAME

MTAnalysis - mixed concurrent load and the module's own verdicts, for the
analysis tests (t/6x-analysis-*.t) and make hunt

=head1 SYNOPSIS

    my $loc = MTAnalysis::status_location();         # conf text
    MTAnalysis::load($h, mix => { '/leak' => 10, '/hello' => 90 },
                     requests => 3000, clients => 4, batch => 200,
                     after_batch => sub { my ($done) = @_; ... },
                     sent => \my %sent);       # path => requests sent
    my $v = MTAnalysis::verdicts($h);   # endpoint => hash from ?json
    my $j = MTAnalysis::status($h);     # the whole ?json document

=cut

use strict;
use warnings;
use Carp qw(croak);
use JSON::PP;
use POSIX ();
use HTTP::Tiny;

our $STATUS_PATH = '/memtrack-status';

sub status_location {
    return "<Location $STATUS_PATH>\n  SetHandler memtrack-status\n"
         . "  <IfModule authz_host_module>\n    Require local\n"
         . "  </IfModule>\n</Location>\n";
}

sub status {
    my ($h, $query) = @_;
    my $res = HTTP::Tiny->new(timeout => 30)
        ->get($h->url("$STATUS_PATH?" . ($query // 'json')));
    croak "status page: $res->{status} $res->{content}" unless $res->{success};
    return $res if defined $query && $query ne 'json';
    return JSON::PP->new->decode($res->{content});
}

sub verdicts {
    my ($h) = @_;
    my %v = map { $_->{endpoint} => $_ } @{ status($h)->{endpoints} || [] };
    return \%v;
}

# A shuffled list of $n paths drawn with the mix's weights.
sub _draw {
    my ($mix, $n, $seed) = @_;
    my @paths = sort keys %$mix;
    my $total = 0;
    $total += $mix->{$_} for @paths;
    srand($seed);
    my @out;
    for (1 .. $n) {
        my $u = rand($total);
        for my $p (@paths) {
            if (($u -= $mix->{$p}) < 0) { push @out, $p; last }
        }
        push @out, $paths[-1] if @out < $_;
    }
    return @out;
}

# Requests in batches, each batch spread over `clients` forked clients;
# after_batch($done) is called between batches; sent, a hash, counts the
# requests sent by path. Returns the number of answers that were not 2xx.
sub load {
    my ($h, %o) = @_;
    my $n = $o{requests} // 1000;
    my $clients = $o{clients} // 4;
    my $batch = $o{batch} // 200;
    my ($done, $bad, $seed) = (0, 0, $o{seed} // 1);
    while ($done < $n) {
        my $k = $n - $done < $batch ? $n - $done : $batch;
        my @paths = _draw($o{mix}, $k, $seed++);
        $o{sent}{$_}++ for $o{sent} ? @paths : ();
        my @kids;
        for my $c (0 .. $clients - 1) {
            my @mine = @paths[grep { $_ % $clients == $c } 0 .. $#paths];
            pipe(my $r, my $w) or croak "pipe: $!";
            my $pid = fork // croak "fork: $!";
            if (!$pid) {
                close $r;
                my $http = HTTP::Tiny->new(timeout => 60, keep_alive => 1);
                my $fails = 0;
                for my $p (@mine) {
                    my $res = $http->get($h->url($p));
                    $fails++ unless $res->{success};
                }
                print {$w} "$fails\n";
                close $w;
                POSIX::_exit(0);      # never the harness's DESTROY
            }
            close $w;
            push @kids, [$pid, $r];
        }
        for my $kid (@kids) {
            my $fails = readline($kid->[1]) // 1;
            chomp $fails;
            $bad += $fails;
            waitpid $kid->[0], 0;
        }
        $done += $k;
        $o{after_batch}->($done) if $o{after_batch};
    }
    return $bad;
}

1;

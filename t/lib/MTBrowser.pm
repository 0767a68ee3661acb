package MTBrowser;

=head1 NAME

MTBrowser - load a page in Debian's headless Chromium: its rendered DOM,
its console messages, a screenshot

=head1 SYNOPSIS

    use MTBrowser;
    plan skip_all => MTBrowser::why_not() if MTBrowser::why_not();
    my $r = MTBrowser::dump_dom($url);        # {dom, log, rc}
    my @bad = MTBrowser::console_errors($r->{log});
    MTBrowser::screenshot($url, "$ROOT/t/tmp/status-page.png", '1400,2400');

=head1 HOW

Each call starts C</usr/bin/chromium> with the flags known to work on
this machine (env/machines/c.md): C<--headless --no-sandbox --disable-gpu
--disable-quic --no-first-run --disable-background-networking
--disable-component-update --disable-sync> (without the networking ones
Chromium tries hosts this machine cannot reach), a new empty
C<--user-data-dir> that is removed afterwards, and
C<--enable-logging=stderr --v=0>, which puts the page's console messages
(script errors, Content-Security-Policy refusals) on stderr as lines with
C<CONSOLE> in them. Chromium runs in a session of its own, is given
C<timeout> seconds (default 60), and is then killed with its helpers by its
process group, which is ours.

=cut

use strict;
use warnings;
use Carp qw(croak);
use File::Temp qw(tempdir);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);
use MTClock qw(time);

our $CHROMIUM = '/usr/bin/chromium';
our @FLAGS = qw(--headless --no-sandbox --disable-gpu --disable-quic
    --no-first-run --disable-background-networking --disable-component-update
    --disable-sync --enable-logging=stderr --v=0 --hide-scrollbars);

sub why_not {
    return "$CHROMIUM not installed (Debian package chromium)" unless -x $CHROMIUM;
    return;
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    my $t = <$fh>;
    return $t // '';
}

# Run chromium with @args; {rc, out, log}.
sub run {
    my ($args, %o) = @_;
    my $tmp = tempdir('mt-chromium-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$tmp/out";
        open STDERR, '>', "$tmp/log";
        exec $CHROMIUM, @FLAGS, "--user-data-dir=$tmp/profile", @$args
            or POSIX::_exit(127);
    }
    my $until = time + ($o{timeout} // 60);
    my $rc;
    while (time < $until) {
        if (waitpid($pid, WNOHANG) == $pid) { $rc = $? >> 8; last }
        sleep 0.1;
    }
    if (!defined $rc) {
        kill 'KILL', -$pid;        # its process group: chromium and helpers
        waitpid($pid, 0);
        $rc = -1;
    }
    return { rc => $rc, out => _slurp("$tmp/out"), log => _slurp("$tmp/log") };
}

# The DOM after the page loaded and rendered.
sub dump_dom {
    my ($url, %o) = @_;
    my $r = run(['--dump-dom', $url], %o);
    $r->{dom} = $r->{out};
    return $r;
}

# A PNG of the page at the window size ("W,H"); true when it was written.
sub screenshot {
    my ($url, $png, $size, %o) = @_;
    unlink $png;
    my $r = run(["--screenshot=$png", "--window-size=" . ($size // '1400,2000'),
                 $url], %o);
    return (-s $png) ? $r : undef;
}

# The console lines of a log that say something went wrong in the page.
sub console_errors {
    my ($log) = @_;
    return grep { /CONSOLE|Uncaught|Refused to|SyntaxError|ReferenceError/ }
           split /\n/, $log;
}

1;

package MTTest;

=head1 NAME

MTTest - start a throwaway httpd with mod_memtrack for integration tests

=head1 SYNOPSIS

    use FindBin; use lib "$FindBin::Bin/lib";
    use MTTest;                     # skip_all when build/mod_memtrack.so is missing
    use Test::More;

    my $h = MTTest->start(mpm => 'prefork', conf => "MemTrackThreshold 8M\n");
    my $res = $h->get('/static.txt');          # HTTP::Tiny response hash
    my @recs = $h->wait_records(1, 5);         # decoded records.jsonl lines
    $h->stop;                                  # also done at DESTROY / END

=head1 WHAT start() BUILDS

A temp dir C<BASE/NAME-PID-N/> (mode 0755, so www-data children can read it;
BASE is MTTmp's directory outside the checkout, C</tmp/mod_memtrack-USER>
by default: see MTTmp) holding C<httpd.conf>, C<htdocs/> (C<index.html>, C<static.txt>),
C<error.log>, C<stderr.log> (httpd's own stdout/stderr, where ASan reports
go), C<httpd.pid> and C<records.jsonl>. httpd listens on a free 127.0.0.1
port, runs C<-DFOREGROUND> as our child, and is stopped by its pid.

The config loads the MPM, authz_core, mime, dir, (a copy under BASE of)
the freshly built F<build/mod_memtrack.so> (F<build/asan/mod_memtrack.so> plus
C<LD_PRELOAD> of the ASan runtime and C<ASAN_OPTIONS=detect_leaks=0:halt_on_error=0>
when C<$ENV{MT_ASAN}>; see sanitizer_log for the reports that are
Passenger's own) and F<build/mod_mt_grow.so> when built, which serves
C<< <Location /grow> >> (C<GET /grow?mb=N> grows the child by N MiB and
answers C<pid=P mb=N>; C<&status=404> makes it answer 404 after growing).
C<MemTrack On> is set in the main server unless C<< track => 0 >>.
C<LogLevel info memtrack:debug>; C<User>/C<Group www-data> when root.

C<$ENV{MT_MODULE}> overrides the path of the module under test (for
example an installed one); C<$ENV{MT_KEEP_TMP}> keeps every temp dir. A
temp dir that is kept (a test failed, or MT_KEEP_TMP) is named in the
test's diagnostics; a passing test's are removed at its end, also those of
servers it stopped itself. Outside a test (a benchmark, the demo) a
server's directory is kept unless the tool calls C<< $h->discard >>
(stop, then remove it), as the benchmark tools do. No server reads the checkout: the modules are loaded
from copies (MTTmp::readable), so a checkout in a home of mode 0700 works.

A server that dies at start fails the test, its directory kept (and listed
in C<@MTTest::CRASHED>), with one exception: mod_passenger has a start-up
crash of its own (a NULL write in a boost thread's exit, in the httpd
parent, a few times in some thousand starts), so a server with
mod_passenger loaded that dies by SIGSEGV or SIGBUS before it answers is
started once more, and the diagnostics say so, when there is evidence:
the kernel's fault line since that start (dmesg), or under ASan the
faulting frame, names F<mod_passenger.so>. No line (dmesg unreadable, a
rate-limited kernel), SIGABRT, a fault anywhere else or a second crash
fails the test (t/07-harness-crash.t).

=head1 OPTIONS of start() (all optional)

    mpm      => 'event' | 'prefork'     default 'event'
    mpm_conf => "StartServers 1 ..."    replaces the MPM defaults below
    modules  => ['unique_id', ...]      extra modules from /usr/lib/apache2/modules
    prelude  => "..."                   text placed before the main config
    conf     => "..."                   extra text for the main server (end of file)
    log      => 'file' | 'pipe' | 'none'  default 'file'
                file: MemTrackLog DIR/records.jsonl
                pipe: MemTrackLog "|perl DIR/logger.pl DIR" - appends its stdin
                      to DIR/records.jsonl, writes its pid to DIR/logger.pid
    track    => 1                       0: no "MemTrack On" in the main server
    memtrack => 1                       0: do not load mod_memtrack at all
                                        (baselines; no MemTrack* lines written)
    name     => 'basename of $0'        prefix of the temp dir
    single   => 0                       1: httpd -X (one process serves)
    wrap     => ['valgrind', ...]       a command httpd runs under
    up_secs  => 20                      how long to wait for it to answer

In C<conf>, C<prelude> and C<mpm_conf>, C<@DIR@> stands for the temp dir and
C<@PORT@> for the port (e.g. C<CustomLog @DIR@/access.log mt>).

MPM defaults: event C<StartServers 2, ServerLimit 4, ThreadsPerChild 25,
MaxRequestWorkers 100>; prefork C<StartServers 2, MinSpareServers 1,
MaxSpareServers 4, ServerLimit 64, MaxRequestWorkers 64>.

=head1 METHODS

    $h->port  $h->dir  $h->pid (httpd parent)  $h->mpm
    $h->url($path)                  http://127.0.0.1:PORT$path
    $h->get($path, \%headers)       HTTP::Tiny response hash (also ->request:
    $h->request($method, $path, \%headers, $body)
    $h->raw_request($bytes)         send raw bytes, return the raw response
    $h->raw_lines                   complete lines of records.jsonl (with "\n")
    $h->records                     decoded records (undef for a line that is
                                    not valid JSON), after waiting until the
                                    file stops growing (at most ~2 s)
    $h->wait_records($n, $timeout)  wait until >= $n lines (default 10 s), then
                                    return ->records
    $h->error_log                   contents of error.log
    $h->sanitizer_log               ASan/UBSan reports ('' when none; test
                                    it after ->stop, which catches exit-time errors)
    $h->child_pids                  live httpd children (not piped loggers)
    $h->logger_pid                  pid of the current piped logger (log=>'pipe')
    $h->ab(n => 2000, c => 50, path => '/', args => [...])
                                    runs ab, returns (exit code, output)
    $h->graceful                    USR1 to the parent
    $h->start_again                 after ->stop: httpd once more in the same
                                    directory, with the same httpd.conf and port
    $h->stop                        TERM the parent, KILL after 10 s
                                    (DESTROY and END stop too; DESTROY removes
                                    the temp dir unless a test failed or
                                    MT_KEEP_TMP is set, and says where a
                                    kept one is)

    MTTest::wait_for(sub { ... }, $secs)  poll every 50 ms; the last answer
    MTTest::configtest(%start_options)  -> (exit code, output of apache2 -t);
                                    default log => 'none'
    MTTest::rss_bytes($pid)         resident bytes from /proc/PID/statm
    MTTest::stat_fields($pid)       /proc/PID/stat as a list whose element
                                    N-2 is field N of proc(5): name, state,
                                    ppid, ... (the name may hold spaces and
                                    parentheses); () when the process is gone
    MTTest::decode_line($line)      decoded hash or undef (strict UTF-8 JSON)
    MTTest::module_path()           the .so under test
    @MTTest::REQUIRED_FIELDS        the record fields DESIGN.md fixes
    MTTest::record_problems($rec, $line)
                                    list of problems with one record (types,
                                    required fields, time format, line length);
                                    empty when fine

=cut

use strict;
use warnings;
use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname basename);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use HTTP::Tiny;
use JSON::PP;
use Encode ();
use B ();
use POSIX qw(WNOHANG);
use Scalar::Util ();
use Time::HiRes qw(sleep);
use MTClock qw(time);
use MTTmp;

our $ROOT     = abs_path(dirname(__FILE__) . '/../..');
our $MODDIR   = '/usr/lib/apache2/modules';
our $HTTPD    = '/usr/sbin/apache2';
# DESIGN.md's fixed list, as it is written there (not taken from the
# writer's table: t/05-tables.t checks that the table has every one).
our @REQUIRED_FIELDS = qw(request_id time host method url status controller
    action target pid memory_before memory_after memory_growth objects_before
    objects_after gc_stats_before gc_stats_after query_cache_before
    query_cache_after request_time threshold_exceeded endpoint server);

my %LIVE;          # pid => harness, for END
our @CRASHED;      # directories of the servers that died at start (kept)
my %MADE;          # every harness made, weakly: refaddr => harness
my $SEQ = 0;
my $JSON = JSON::PP->new->utf8(0);

sub module_path {
    return $ENV{MT_MODULE} if $ENV{MT_MODULE};
    return $ENV{MT_ASAN} ? "$ROOT/build/asan/mod_memtrack.so"
                         : "$ROOT/build/mod_memtrack.so";
}

sub grow_module_path { return "$ROOT/build/mod_mt_grow.so" }

# What httpd loads: copies under MTTmp's directory, which its children can
# read wherever the checkout is.
sub _loaded_path { return MTTmp::readable($_[0]) }

sub import {
    my ($class, @args) = @_;
    return if grep { $_ eq ':noskip' } @args;
    my $why = _why_not_runnable();
    if ($why) {
        require Test::More;
        Test::More::plan(skip_all => $why);
    }
}

sub _why_not_runnable {
    return "$HTTPD not installed" unless -x $HTTPD;
    my $m = module_path();
    return "module not built: $m (run make" . ($ENV{MT_ASAN} ? ' asan' : '') . ")"
        unless -f $m;
    return "ASan runtime not found (gcc -print-file-name=libasan.so)"
        if $ENV{MT_ASAN} && !_asan_runtime();
    return;
}

sub _libstdcxx {
    my $p = `g++ -print-file-name=libstdc++.so.6 2>/dev/null`
          || `gcc -print-file-name=libstdc++.so.6 2>/dev/null`;
    chomp $p;
    return ($p && $p =~ m{/} && -e $p) ? abs_path($p) : undef;
}

sub _asan_runtime {
    my $p = `gcc -print-file-name=libasan.so 2>/dev/null`;
    chomp $p;
    return ($p && $p =~ m{/} && -e $p) ? abs_path($p) : undef;
}

sub _free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or croak "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub _mkdir_tmp {
    my ($name) = @_;
    my $dir = MTTmp::fresh_dir(sprintf '%s-%d-%d', $name, $$, ++$SEQ);
    make_path("$dir/htdocs", "$dir/run", "$dir/san");
    chmod 0755, $dir, "$dir/htdocs", "$dir/run";
    chmod 01777, "$dir/san";     # sanitizer reports of www-data children
    _write("$dir/htdocs/index.html", "<html><body>memtrack test</body></html>\n");
    _write("$dir/htdocs/static.txt", "static\n");
    _write("$dir/htdocs/err.html", "custom error page\n");
    return $dir;
}

sub _write {
    my ($path, $text) = @_;
    open my $fh, '>', $path or croak "write $path: $!";
    print {$fh} $text;
    close $fh or croak "close $path: $!";
    chmod 0644, $path;
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    my $t = <$fh>;
    return defined $t ? $t : '';
}

my $LOGGER = <<'EOS';
#!/usr/bin/perl
# Test piped logger: appends stdin to DIR/records.jsonl, one write per read.
use strict; use warnings;
my $dir = shift or die "usage: logger.pl DIR\n";
open my $p, '>', "$dir/logger.pid.tmp" or die "$dir: $!";
print {$p} "$$\n"; close $p;
rename "$dir/logger.pid.tmp", "$dir/logger.pid" or die "rename: $!";
open my $all, '>>', "$dir/logger.pids" or die; print {$all} "$$\n"; close $all;
open my $out, '>>', "$dir/records.jsonl" or die "records: $!";
binmode STDIN; binmode $out;
while (1) {
    my $n = sysread(STDIN, my $buf, 65536);
    last unless $n;
    my $off = 0;
    while ($off < $n) {
        my $w = syswrite($out, $buf, $n - $off, $off);
        die "write: $!" unless defined $w;
        $off += $w;
    }
}
EOS

sub _mpm_defaults {
    my ($mpm) = @_;
    return $mpm eq 'prefork'
        ? "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\n"
          . "ServerLimit 64\nMaxRequestWorkers 64\nMaxConnectionsPerChild 0\n"
        : "StartServers 2\nServerLimit 4\nThreadsPerChild 25\n"
          . "MaxRequestWorkers 100\nMinSpareThreads 25\nMaxSpareThreads 100\n"
          . "MaxConnectionsPerChild 0\n";
}

sub _config {
    my ($o) = @_;
    my $dir = $o->{dir};
    my $mpm = $o->{mpm};
    croak "mpm must be event or prefork" unless $mpm =~ /^(event|prefork)$/;
    my $memtrack = $o->{memtrack} // 1;
    my @mods = ("mpm_$mpm", qw(authz_core mime dir), @{ $o->{modules} || [] });
    my %seen;
    my $c = "# generated by t/lib/MTTest.pm\n"
          . "ServerRoot \"$dir\"\nDefaultRuntimeDir \"$dir/run\"\n"
          . "PidFile \"$dir/httpd.pid\"\n";
    for my $m (grep { !$seen{$_}++ } @mods) {
        $c .= "LoadModule ${m}_module $MODDIR/mod_$m.so\n";
    }
    if ($memtrack) {
        $c .= "LoadModule memtrack_module " . _loaded_path(module_path()) . "\n";
    }
    if (-f grow_module_path()) {
        $c .= "LoadModule mt_grow_module " . _loaded_path(grow_module_path()) . "\n";
    }
    $c .= ($o->{prelude} // '') . "\n";
    $c .= "ServerName 127.0.0.1\nListen 127.0.0.1:$o->{port}\n";
    $c .= "User www-data\nGroup www-data\n" if $> == 0;
    $c .= "ErrorLog \"$dir/error.log\"\n";
    $c .= $memtrack ? "LogLevel info memtrack:debug\n" : "LogLevel info\n";
    $c .= "TypesConfig /etc/mime.types\nDocumentRoot \"$dir/htdocs\"\n"
        . "DirectoryIndex index.html\nTimeout 30\nKeepAliveTimeout 2\n"
        . "<Directory />\n  Require all granted\n</Directory>\n";
    $c .= $o->{mpm_conf} // _mpm_defaults($mpm);
    $c .= "\n";
    if (-f grow_module_path()) {
        $c .= "<Location /grow>\n  SetHandler memtrack-test-grow\n</Location>\n";
    }
    if ($memtrack) {
        my $log = $o->{log} // 'file';
        if ($log eq 'file') {
            $c .= "MemTrackLog \"$dir/records.jsonl\"\n";
        } elsif ($log eq 'pipe') {
            _write("$dir/logger.pl", $LOGGER);
            $c .= "MemTrackLog \"|$^X $dir/logger.pl $dir\"\n";
        } elsif ($log ne 'none') {
            croak "log must be file, pipe or none";
        }
        $c .= "MemTrack On\n" if $o->{track} // 1;
    }
    $c .= ($o->{conf} // '') . "\n";
    $c =~ s/\@DIR\@/$dir/g;
    $c =~ s/\@PORT\@/$o->{port}/g;
    return $c;
}

# httpd points fd 2 at the ErrorLog once it runs, so sanitizer reports go to
# files of their own: DIR/san/asan.<pid> (see ->sanitizer_log).
sub _env_for_httpd {
    my ($dir) = @_;
    my %env;
    if ($ENV{MT_ASAN}) {
        # libstdc++ right after the runtime: httpd itself links no C++, so
        # when ASan starts there is no real __cxa_throw for its interceptor,
        # and the first exception mod_passenger's threads throw (on a
        # graceful restart) aborts the parent with "CHECK failed:
        # asan_interceptors.cpp:320 real___cxa_throw".
        $env{LD_PRELOAD} = join ' ', grep { defined } _asan_runtime(),
                                                      _libstdcxx();
        # halt_on_error=0: a report from code not built with ASan (a
        # double free in mod_passenger, see sanitizer_log) does not end
        # httpd; the module's own instrumented errors still do.
        $env{ASAN_OPTIONS} = "detect_leaks=0:abort_on_error=0:halt_on_error=0:"
                           . "log_path=$dir/san/asan";
        $env{UBSAN_OPTIONS} = "print_stacktrace=1:log_path=$dir/san/asan";
    }
    return %env;
}

sub start {
    my ($class, %o) = @_;
    my $why = _why_not_runnable();
    croak "cannot start httpd: $why" if $why && ($o{memtrack} // 1);
    $o{mpm} //= 'event';
    $o{name} //= basename($0, '.t');
    $o{name} =~ s/[^A-Za-z0-9_-]/_/g;
    for my $attempt (1, 2) {
        my $self = $class->_spawn(%o);
        my $crash = $self->_wait_up($o{up_secs} // 20);
        return $self unless $crash;
        # mod_passenger's own start-up race (a boost thread's exit in the
        # httpd parent, NULL+0x68 in mod_passenger.so; seen twice in some
        # thousand Passenger starts here): the parent dies by a signal
        # before it logs a line. Started once more, and said; a crash the
        # kernel puts anywhere else, or a second one, fails the test.
        croak $crash->{text} if $attempt == 2 || !$crash->{passenger};
        _note("httpd died at start by signal $crash->{signal}, mod_passenger "
              . "loaded ($crash->{where}); starting it once more (the "
              . "crashed one is kept: $self->{dir})");
    }
}

# Seconds since boot, as dmesg stamps its lines.
sub _uptime {
    my ($up) = _slurp('/proc/uptime') =~ /^([\d.]+)/;
    return $up // 0;
}

# The kernel's fault lines about httpd since uptime $since (a thread's id is
# in them, not the parent's pid: the thread that faulted), the last one;
# undef and why when there is none or dmesg may not be read. $KERNEL_LINES
# is what reads them (t/07 gives its own).
our $KERNEL_LINES = sub {
    my $out = qx{dmesg 2>/dev/null} // '';
    return $? == 0 && $out ne '' ? [split /\n/, $out] : undef;
};

sub _crash_line {
    my ($since) = @_;
    my $lines = $KERNEL_LINES->();
    return (undef, 'dmesg not readable') unless $lines;
    my @l = grep {
        /^\[\s*([\d.]+)\]\s+(?:traps: )?\S+\[\d+\]:? (?:segfault|general protection|trap)/
            && $1 >= $since
    } @$lines;
    return @l ? ($l[-1], undef) : (undef, 'the kernel logged no fault');
}

# Is a death at start mod_passenger's own crash? Only on evidence: the
# kernel's fault line, or under ASan its faulting frame, naming
# mod_passenger.so, with mod_passenger loaded. Anything else fails.
sub _passenger_crash {
    my (%c) = @_;       # signal, kernel (line), frame (ASan #0), passenger
    return 0 unless $c{passenger};
    return ($c{frame} // '') =~ /mod_passenger\.so\+/ ? 1 : 0 if !$c{signal};
    return 0 unless grep { $_ == $c{signal} } 7, 11;       # SIGBUS, SIGSEGV
    return ($c{kernel} // '') =~ /\bin mod_passenger\.so\[/ ? 1 : 0;
}

sub _note {
    my ($msg) = @_;
    if (Test::Builder->can('new')) { Test::Builder->new->diag($msg) }
    else { warn "$msg\n" }
}

sub _spawn {
    my ($class, %o) = @_;
    $o{dir} = _mkdir_tmp($o{name});
    $o{port} = _free_port();
    my $self = bless { %o }, $class;
    Scalar::Util::weaken($MADE{ Scalar::Util::refaddr($self) } = $self);
    _write("$o{dir}/httpd.conf", _config(\%o));
    $self->_exec_httpd;
    $self->{http} = HTTP::Tiny->new(timeout => 30, keep_alive => 0,
                                    max_redirect => 0);
    return $self;
}

# httpd on DIR/httpd.conf, as our child in a session of its own.
sub _exec_httpd {
    my ($self) = @_;
    my $dir = $self->{dir};
    my %env = _env_for_httpd($dir);
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        # own session: prefork TERMs its whole process group at shutdown
        POSIX::setsid();
        $ENV{$_} = $env{$_} for keys %env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/stderr.log";
        open STDERR, '>&', \*STDOUT;
        exec @{ $self->{wrap} || [] }, $HTTPD, '-f', "$dir/httpd.conf",
            '-DFOREGROUND', $self->{single} ? ('-X') : ()
            or POSIX::_exit(127);
    }
    $self->{pid} = $self->{parent_pid} = $pid;
    $self->{up_at_spawn} = _uptime() - 1;    # dmesg's stamps: a second's slack
    $LIVE{$pid} = $self;
}

# A stopped server started once more: the same directory (its logs and
# DefaultRuntimeDir as the first run left them), httpd.conf and port. Croaks
# when it does not come up, or dies at start.
sub start_again {
    my ($self) = @_;
    croak "start_again: the server still runs (pid $self->{pid})" if $self->{pid};
    $self->_exec_httpd;
    my $crash = $self->_wait_up($self->{up_secs} // 20);
    croak $crash->{text} if $crash;
    return $self;
}

# Waits until httpd answers. Croaks when it does not; when it died at start,
# returns what is known of that (see start).
sub _wait_up {
    my ($self, $timeout) = @_;
    my $until = time + $timeout;
    while (time < $until) {
        if (waitpid($self->{pid}, WNOHANG) == $self->{pid}) {
            my ($rc, $sig) = ($? >> 8, $? & 127);
            my $pid = $self->{pid};
            delete $LIVE{$pid};
            $self->{pid} = undef;
            $self->{cleaned} = 1;    # keep its directory for a look
            push @CRASHED, $self->{dir};
            my ($kernel, $why) = $sig ? _crash_line($self->{up_at_spawn}) : ();
            my $asan = join '', map { _slurp($_) } sort glob("$self->{dir}/san/asan.*");
            my $text = ($sig ? "httpd died by signal $sig" : "httpd exited ($rc)")
                . " at start (kept $self->{dir}):\n"
                . ($kernel ? "kernel: $kernel\n" : '')
                . _slurp("$self->{dir}/stderr.log") . _slurp("$self->{dir}/error.log")
                . $asan;
            # Under ASan the fault is ASan's report and an exit status,
            # the faulting frame (#0) its line for where.
            my ($frame) = $asan =~ /ERROR: AddressSanitizer: (?:SEGV|BUS).*?\n\s*(#0 [^\n]*)/s;
            croak $text unless $sig || $frame;
            my $passenger = _passenger_crash(signal => $sig, kernel => $kernel,
                frame => $frame,
                passenger => scalar(_slurp("$self->{dir}/httpd.conf")
                                    =~ /^LoadModule passenger_module/m));
            return { signal => $sig || 'SEGV (ASan)', text => $text,
                     passenger => $passenger, where => $frame // $kernel // $why };
        }
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{port}, Timeout => 1);
        if ($s) {
            close $s;
            # children answer once the parent has forked them (-X: itself)
            return if $self->{single} || @{ [ $self->child_pids ] };
        }
        sleep 0.05;
    }
    $self->stop;
    croak "httpd did not answer on port $self->{port} within ${timeout}s";
}

sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }
sub pid  { $_[0]{pid} }
sub mpm  { $_[0]{mpm} }
sub url  { my ($s, $p) = @_; $p //= '/'; return "http://127.0.0.1:$s->{port}$p" }

sub get {
    my ($self, $path, $headers) = @_;
    return $self->request('GET', $path, $headers);
}

sub request {
    my ($self, $method, $path, $headers, $body) = @_;
    my %a = (headers => $headers || {});
    $a{content} = $body if defined $body;
    return $self->{http}->request($method, $self->url($path), \%a);
}

sub raw_request {
    my ($self, $bytes, $timeout) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port}, Timeout => 5)
        or croak "connect: $!";
    binmode $s;
    print {$s} $bytes;
    shutdown($s, 1);
    my $out = '';
    my $until = time + ($timeout // 10);
    local $SIG{ALRM} = sub { die "timeout\n" };
    eval {
        alarm(int($timeout // 10) + 1);
        while (time < $until) {
            my $n = sysread($s, my $buf, 65536);
            last unless $n;
            $out .= $buf;
        }
        alarm(0);
    };
    alarm(0);
    close $s;
    return $out;
}

sub records_path { "$_[0]{dir}/records.jsonl" }

sub raw_lines {
    my ($self) = @_;
    my $t = _slurp($self->records_path);
    my @l = $t =~ /([^\n]*\n)/g;
    return @l;
}

sub decode_line {
    my ($line) = @_;
    my $copy = $line;
    my $text = eval { Encode::decode('UTF-8', $copy, Encode::FB_CROAK) };
    return undef unless defined $text;
    my $d = eval { $JSON->decode($text) };
    return (ref $d eq 'HASH') ? $d : undef;
}

sub _settle {
    my ($self, $max) = @_;
    my $until = time + $max;
    my $last = -1;
    while (time < $until) {
        my $size = -s $self->records_path // 0;
        return if $size == $last;
        $last = $size;
        sleep 0.2;
    }
}

sub records {
    my ($self) = @_;
    $self->_settle(2);
    return map { decode_line($_) } $self->raw_lines;
}

sub wait_records {
    my ($self, $n, $timeout) = @_;
    my $until = time + ($timeout // 10);
    while (time < $until) {
        my $t = _slurp($self->records_path);
        my $count = () = $t =~ /\n/g;
        last if $count >= $n;
        sleep 0.05;
    }
    return $self->records;
}

sub error_log { _slurp("$_[0]{dir}/error.log") }
sub stderr_log { _slurp("$_[0]{dir}/stderr.log") }

# Every sanitizer report that can concern the module, '' when none. Reports
# that are Passenger's own are left out (and shown as a diagnostic): the
# ASan runtime is preloaded into the whole httpd, so it also checks
# mod_passenger, whose 6.0.17 build double-frees now and then when the
# httpd parent tears down its pools (a race with a boost thread it
# started). Passenger's, narrowly: no frame in mod_memtrack.so, and either
# frames in mod_passenger.so, or a report the process could not finish
# from a thread other than the main one of the httpd parent, where only
# Passenger starts threads (the module starts its threads in children).
sub sanitizer_log {
    my ($self) = @_;
    my ($ours, $theirs) = ('', '');
    for my $f (sort glob("$self->{dir}/san/asan.*")) {
        my ($pid) = $f =~ /asan\.(\d+)$/;
        for my $r (split /(?=^=+\n==\d+==ERROR)/m, _slurp($f)) {
            next unless $r =~ /\S/;
            if ($self->_passengers_report($r, $pid)) { $theirs .= $r }
            else                                    { $ours .= $r }
        }
    }
    for my $f ("$self->{dir}/error.log", "$self->{dir}/stderr.log") {
        $ours .= join '', grep { /AddressSanitizer|LeakSanitizer|runtime error:/ }
                          split /^/, _slurp($f);
    }
    if ($theirs ne '' && Test::Builder->can('new')) {
        Test::Builder->new->diag("Passenger's own sanitizer report, not "
            . "counted (see MTTest::sanitizer_log):\n" . substr($theirs, 0, 2000));
    }
    return $ours;
}

sub _passengers_report {
    my ($self, $r, $pid) = @_;
    return 0 if $r =~ /mod_memtrack/;
    return 1 if $r =~ /mod_passenger\.so/;
    return 0 unless defined $pid && $self->{parent_pid} && $pid == $self->{parent_pid};
    my ($thread) = $r =~ /ERROR: AddressSanitizer: .* in thread T(\d+)/;
    return defined $thread && $thread > 0 && $r !~ /^\s+#\d/m ? 1 : 0;
}

sub stat_fields {
    my ($pid) = @_;
    my $st = _slurp("/proc/$pid/stat");
    return $st =~ /^\d+ \((.*)\) (.*)\z/s ? ($1, split(' ', $2)) : ();
}

sub _proc_children {
    my ($ppid) = @_;
    my @kids;
    opendir my $d, '/proc' or return;
    for my $p (grep { /^\d+$/ } readdir $d) {
        my ($name, undef, $parent) = stat_fields($p);
        push @kids, [$p, $name] if defined $parent && $parent == $ppid;
    }
    return @kids;
}

sub child_pids {
    my ($self) = @_;
    return () unless $self->{pid};
    my $exe = abs_path($HTTPD);
    my @pids;
    for my $k (_proc_children($self->{pid})) {
        my $e = readlink("/proc/$k->[0]/exe") // '';
        # under a valgrind wrap the children run in valgrind's tool binary
        push @pids, $k->[0] if $e eq $exe || $k->[1] eq 'apache2'
            || ($self->{wrap} && $e =~ m{/valgrind/[a-z]+-[a-z0-9]+-linux\z});
    }
    return sort { $a <=> $b } @pids;
}

sub logger_pid {
    my ($self) = @_;
    my $p = _slurp("$self->{dir}/logger.pid");
    return $p =~ /^(\d+)/ ? $1 : undef;
}

sub ab {
    my ($self, %a) = @_;
    my $n = $a{n} // 100;
    my $c = $a{c} // 1;
    my @cmd = ('ab', '-q', '-r', '-s', '30', '-n', $n, '-c', $c,
               @{ $a{args} || [] }, $self->url($a{path} // '/'));
    my $pid = open(my $fh, '-|') // croak "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec 'timeout', ($a{timeout} // 300), @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh>;
    close $fh;
    return ($? >> 8, $out // '');
}

sub graceful {
    my ($self) = @_;
    kill 'USR1', $self->{pid} if $self->{pid};
}

sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    my @kids = map { $_->[0] } _proc_children($pid);
    kill 'TERM', $pid;
    my $until = time + 10;
    my $gone = 0;
    while (time < $until) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid || $r == -1) { $gone = 1; last }
        sleep 0.05;
    }
    unless ($gone) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    # anything the parent left behind (children, piped loggers) that we know of
    my $lp = $self->logger_pid;
    push @kids, $lp if $lp;
    for my $k (@kids) {
        kill 'KILL', $k if kill 0, $k;
    }
    delete $LIVE{$pid};
    $self->{pid} = undef;
    return 1;
}

# The temp dir is kept when a test failed (or MT_KEEP_TMP is set) so that
# error.log and records.jsonl can be read afterwards.
sub _cleanup {
    my ($self) = @_;
    return if !$self->{dir} || !-d $self->{dir} || $self->{cleaned};
    # During global destruction Test::Builder may be gone already; the END
    # block below has cleaned up every harness still alive by then.
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    $self->{cleaned} = 1;
    return unless Test::Builder->can('new');    # not a test: keep it
    my $tb = Test::Builder->new;
    unless ($tb->is_passing) {
        $self->_diag_logs($tb);
        $tb->diag("kept the server's directory: $self->{dir}");
        return;
    }
    if ($ENV{MT_KEEP_TMP}) {
        $tb->diag("kept (MT_KEEP_TMP): $self->{dir}");
        return;
    }
    # Passenger's agents may still be removing their own instance
    # directory in there: what is already gone is no error.
    remove_tree($self->{dir}, { error => \my $errors });
    for my $e (@$errors) {
        my ($path, $msg) = %$e;
        warn "cannot remove $path: $msg\n" if -e $path;
    }
}

# A test failed while this server ran: the end of its logs, so that a CI
# log says what the server saw (the directory itself is kept, too).
sub _diag_logs {
    my ($self, $tb) = @_;
    for my $f (qw(error.log stderr.log passenger.log)) {
        my @l = split /^/, _slurp("$self->{dir}/$f");
        next unless @l;
        @l = @l[-30 .. -1] if @l > 30;
        $tb->diag("--- last lines of $self->{dir}/$f:\n",
                         map { length > 400 ? substr($_, 0, 400) . "...\n" : $_ } @l);
    }
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    $self->stop if $self->{pid};
    $self->_cleanup;
}

# A tool's server (a benchmark's, not a test's) is kept like a failed
# test's unless the tool discards it: stopped, its directory removed.
sub discard {
    my ($self) = @_;
    $self->stop if $self->{pid};
    return if $self->{cleaned} || !$self->{dir};
    $self->{cleaned} = 1;
    remove_tree($self->{dir}, { error => \my $ignored });
}

my $LOAD_PID = $$;

END {
    my $rc = $?;        # a test that died: every directory is kept, even
    local $?;           # when Test::Builder does not know it failed yet
    return unless $$ == $LOAD_PID;      # a forked child's exit
    for my $h (values %LIVE) {
        $h->stop;
    }
    return if $rc != 0;
    # every harness still around, running or stopped by the test: a
    # server a test stopped itself and kept in a file-scoped variable
    # would otherwise reach DESTROY only in global destruction, too late
    for my $h (grep { defined } values %MADE) {
        $h->_cleanup;
    }
}

$SIG{INT} = $SIG{TERM} = sub { $_->stop for values %LIVE; exit 1 };

# Poll $cond every 50 ms for up to $secs seconds; its last answer.
sub wait_for {
    my ($cond, $secs) = @_;
    my $until = time + $secs;
    while (time < $until) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->();
}

sub rss_bytes {
    my ($pid) = @_;
    my $s = _slurp("/proc/$pid/statm");
    return undef unless $s =~ /^\d+ (\d+)/;
    return $1 * POSIX::sysconf(POSIX::_SC_PAGESIZE());
}

sub _is_num {
    my ($v) = @_;
    return 0 unless defined $v && !ref $v;
    my $f = B::svref_2object(\$v)->FLAGS;
    return ($f & (B::SVf_IOK() | B::SVf_NOK())) && !($f & B::SVf_POK()) ? 1 : 0;
}

sub _is_int { my ($v) = @_; return _is_num($v) && $v == int($v) }
sub _is_str { my ($v) = @_; return defined $v && !ref $v && !_is_num($v) }

# Problems with one record (empty list when it is fine). $line, when given,
# is the raw line: checked for the PIPE_BUF limit and the final newline.
sub record_problems {
    my ($r, $line) = @_;
    my @p;
    return ('not a JSON object') unless ref $r eq 'HASH';
    if (defined $line) {
        push @p, 'line longer than 4096 bytes: ' . length($line)
            if length($line) > 4096;
        push @p, 'line does not end in one newline'
            unless $line =~ /\A[^\n]*\n\z/;
    }
    for my $k (@REQUIRED_FIELDS) {
        push @p, "missing field $k" unless exists $r->{$k};
    }
    push @p, 'request_id not a non-empty string'
        unless _is_str($r->{request_id}) && length $r->{request_id};
    push @p, "time not ISO 8601 UTC with microseconds: " . ($r->{time} // 'null')
        unless _is_str($r->{time})
            && $r->{time} =~ /\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\z/;
    for my $k (qw(method url)) {
        push @p, "$k not a string" unless _is_str($r->{$k});
    }
    push @p, 'host not a string or null'
        unless !defined $r->{host} || _is_str($r->{host});
    for my $k (qw(controller action endpoint server)) {
        push @p, "$k not a string or null"
            unless !defined $r->{$k} || _is_str($r->{$k});
    }
    push @p, 'status not an integer 100..599'
        unless _is_int($r->{status}) && $r->{status} >= 100 && $r->{status} <= 599;
    push @p, 'target not self/backend: ' . ($r->{target} // 'null')
        unless defined $r->{target} && $r->{target} =~ /\A(self|backend)\z/;
    push @p, 'pid not an integer > 1' unless _is_int($r->{pid}) && $r->{pid} > 1;
    for my $k (qw(memory_before memory_after memory_growth objects_before
                  objects_after query_cache_before query_cache_after)) {
        push @p, "$k not an integer or null"
            unless !defined $r->{$k} || _is_int($r->{$k});
    }
    for my $k (qw(gc_stats_before gc_stats_after)) {
        push @p, "$k not an object or null"
            unless !defined $r->{$k} || ref $r->{$k} eq 'HASH';
    }
    if (_is_int($r->{memory_before}) && _is_int($r->{memory_after})
        && _is_int($r->{memory_growth})) {
        push @p, 'memory_growth != memory_after - memory_before'
            unless $r->{memory_growth} == $r->{memory_after} - $r->{memory_before};
    }
    push @p, 'request_time not a number >= 0'
        unless _is_num($r->{request_time}) && $r->{request_time} >= 0;
    push @p, 'threshold_exceeded not a JSON boolean'
        unless JSON::PP::is_bool($r->{threshold_exceeded});
    return @p;
}

sub configtest {
    my (%o) = @_;
    $o{mpm} //= 'event';
    $o{log} //= 'none';
    $o{name} //= 'configtest';
    $o{dir} = _mkdir_tmp($o{name});
    $o{port} = _free_port();
    _write("$o{dir}/httpd.conf", _config(\%o));
    my %env = _env_for_httpd($o{dir});
    local @ENV{ keys %env } = values %env;
    my $cmd = "$HTTPD -t -f '$o{dir}/httpd.conf' 2>&1";
    my $out = `$cmd`;
    my $rc = $? >> 8;
    remove_tree($o{dir}) unless $ENV{MT_KEEP_TMP};
    return ($rc, $out);
}

1;

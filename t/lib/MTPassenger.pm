package MTPassenger;

=head1 NAME

MTPassenger - run a test app under Phusion Passenger inside the MTTest harness

=head1 SYNOPSIS

    use MTTest;  use MTPassenger;
    my $h = MTPassenger->start(app => 'rack', procs => 2,     # MTTest harness
                               conf => "MemTrackTarget auto\n");
    my @pids = MTPassenger::warm($h, procs => 2);   # app pids, spawned
    my $res = $h->get('/pid');                      # body: the serving pid
    MTPassenger::stop($h);                          # also stops the apps

    # or only the text, for MTTest->start(conf => ..., modules => [...]):
    my $text = MTPassenger::conf(app => 'rails', procs => 1);
    my @mods = MTPassenger::modules();

=head1 OPTIONS (start and conf)

    app      => 'rack' | 'rack-plain' | 'rails' | '/abs/app/root'
    procs    => 2        PassengerMinInstances and PassengerMaxPoolSize
    spawn    => 'direct' | 'smart'        PassengerSpawnMethod (default direct)
    preload  => 0        1: SetEnv RUBYOPT -r<repo>/ruby/lib/memtrack/preload
                         (the companion's no-code-change route)
    env      => {K=>V}   more SetEnv lines for the app
    base     => undef    '/sub': serve the app at a sub-URI (Alias +
                         PassengerBaseURI) instead of at the document root
    user     => 'www-data'  the app user when we are root
    app_conf => ''       extra lines inside the app's <Directory>/<Location>

start() also takes every MTTest->start option (conf is appended after the
Passenger lines, modules are merged) and returns the MTTest harness. It
creates C<DIR/appdata> owned by the app user (the Rails app keeps its
sqlite database and log there: SetEnv MT_APP_DATA) before any request can
spawn the app.

=head1 WHAT WORKS HERE (learnt by hand, Debian 12, Passenger 6.0.17, root)

=over

=item *
PassengerRoot is F</usr/lib/ruby/vendor_ruby/phusion_passenger/locations.ini>
(what C<passenger-config --root> prints and Debian's passenger.conf uses).

=item *
Passenger serves an app whose F<public/> is the DocumentRoot, or, as here,
any directory that says C<PassengerAppRoot>: the harness's own
C<DIR/htdocs> stays the DocumentRoot, files that exist there
(F</static.txt>) are served by httpd itself (C<target: self>), everything
else goes to the app. The app root is this process's copy of F<t/apps>
under MTTmp's directory (MTTmp::tree, with F<ruby/lib> beside it at the
same relative path), not the checkout, which the app user may not be able
to read (a home of mode 0700).

=item *
As root, Passenger runs the app as the owner of its startup file unless
that is root; F<config.ru> in the repo is root's, so the app would run as
C<PassengerDefaultUser> (C<nobody> by default). We set C<PassengerUser> and
C<PassengerDefaultUser> to www-data, the user httpd's children run as.
The app user must be able to read the app and the gem (F<ruby/lib>):
hence the copies under MTTmp's directory (mode 0755, files 0644). App
processes never run as root, which the module's pid check relies on.

=item *
C<PassengerInstanceRegistryDir> must exist: we use C<DIR/run> (made by the
harness). Passenger puts its C<passenger.XXXX/> there (root-only files).

=item *
C<SetEnv> values (mod_env) reach the app process as environment variables;
C<SetEnv RUBYOPT -r/path/preload> loads the companion before the app
(checked: the app sees RUBYOPT and runs the preload). C<SetEnv> also works
inside C<< <Directory> >> and C<< <Location> >>.

=item *
PassengerMinInstances 2 does not pre-spawn: the first request spawns one
process and Passenger adds the second in the background. warm() therefore
sends requests until C<procs> app processes of this server exist and have
each answered. C<PassengerSpawnMethod direct> boots each process from
scratch (no C<Passenger AppPreloader> process next to the apps, which would
be a second "app" process to the single-process discovery); Rack boots in
~0.3 s, the Rails app in ~1.5 s per process on this machine.

=item *
Stopping httpd with TERM stops the Passenger watchdog, core and apps within
a second or two; stop() KILLs by pid any Passenger process of this server
still alive after 10 s.

=item *
Under C<MT_ASAN> the harness starts httpd with C<LD_PRELOAD> of the ASan
runtime, which the Passenger agents and the Ruby apps would inherit.
C<SetEnv LD_PRELOAD ""> takes it out of the apps (Passenger applies SetEnv
before it execs ruby; t/20 asks each app, through /getenv), so app memory
is the same in both modes. The agents run through a wrapper that drops it
(MTPassCheck, AGENTS WITHOUT ASAN).

=item *
C<PassengerFriendlyErrorPages off>: an exception in the app is a plain 500.
C<PassengerDisableSecurityUpdateCheck on> and
C<PassengerDisableAnonymousTelemetry on>: no network from the core.

=back

=cut

use strict;
use warnings;
use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use Time::HiRes qw(sleep);
use MTClock qw(time);
use POSIX qw(WNOHANG);
use HTTP::Tiny;
use MTTmp;

our $ROOT        = abs_path(dirname(__FILE__) . '/../..');   # the checkout
our $PASSENGER_SO = '/usr/lib/apache2/modules/mod_passenger.so';
our $PASSENGER_ROOT = '/usr/lib/ruby/vendor_ruby/phusion_passenger/locations.ini';
my  $DEFAULT_ROOT  = $PASSENGER_ROOT;
our $RUBY        = '/usr/bin/ruby';
our $APP_TITLE   = 'Passenger RubyApp: ';

# Under MT_ASAN httpd runs with the ASan runtime in LD_PRELOAD, and
# mod_passenger starts its watchdog and core agents from httpd, so they
# would inherit it (SetEnv LD_PRELOAD "" only reaches the apps): the core
# then now and then never finishes its shutdown, and smart spawning never
# completes. So under ASan PassengerRoot points at a copy of locations.ini
# whose support_binaries_dir holds a PassengerAgent wrapper that drops the
# sanitizer variables and execs the real agent: httpd and the module keep
# ASan, Passenger and the apps run without it.
my $AGENT_DIR;

sub passenger_root {
    return $PASSENGER_ROOT unless $ENV{MT_ASAN} && $PASSENGER_ROOT eq $DEFAULT_ROOT;
    return "$AGENT_DIR/locations.ini" if $AGENT_DIR && -d $AGENT_DIR;
    my $dir = MTTmp::fresh_dir("passenger-agent-$$");
    File::Path::make_path("$dir/support-binaries");
    chmod 0755, "$dir/support-binaries";
    open my $in, '<', $PASSENGER_ROOT or croak "$PASSENGER_ROOT: $!";
    my ($ini, $real) = ('', '');
    while (my $l = <$in>) {
        if ($l =~ /^support_binaries_dir=(.*)$/) {
            $real = $1;
            $l = "support_binaries_dir=$dir/support-binaries\n";
        }
        $ini .= $l;
    }
    close $in;
    croak "no support_binaries_dir in $PASSENGER_ROOT" unless $real;
    _write_file("$dir/locations.ini", $ini, 0644);
    _write_file("$dir/support-binaries/PassengerAgent",
                "#!/bin/sh\n# written by t/lib/MTPassenger.pm: agents without ASan\n"
                . "unset LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS\n"
                . "exec '$real/PassengerAgent' \"\$@\"\n", 0755);
    $AGENT_DIR = $dir;
    return "$dir/locations.ini";
}

sub _write_file {
    my ($path, $text, $mode) = @_;
    open my $fh, '>', $path or croak "$path: $!";
    print {$fh} $text;
    close $fh or croak "$path: $!";
    chmod $mode, $path;
}

my $OWNER = $$;
END {
    File::Path::remove_tree($AGENT_DIR)
        if $AGENT_DIR && $$ == $OWNER && !$ENV{MT_KEEP_TMP};
}

# Why Passenger tests cannot run here, or undef.
sub why_not {
    return "mod_passenger not installed ($PASSENGER_SO)" unless -f $PASSENGER_SO;
    return "$RUBY not installed" unless -x $RUBY;
    return "$PASSENGER_ROOT missing" unless -f $PASSENGER_ROOT;
    return;
}

sub app_root {
    my ($app) = @_;
    $app //= 'rack';
    return $app if $app =~ m{^/};
    croak "no test app $ROOT/t/apps/$app" unless -f "$ROOT/t/apps/$app/config.ru";
    return MTTmp::tree() . "/t/apps/$app";
}

# The companion as the app loads it (the copy beside the apps).
sub preload_path { return MTTmp::tree() . "/ruby/lib/memtrack/preload" }

# Modules the Passenger config needs besides what MTTest always loads.
sub modules { return qw(env alias) }

sub _app_user { my (%o) = @_; return $o{user} // 'www-data' }

# The Apache config text (goes into MTTest's conf; @DIR@ is the temp dir).
sub conf {
    my (%o) = @_;
    my $root  = app_root($o{app});
    my $procs = $o{procs} // 2;
    my $spawn = $o{spawn} // 'direct';
    my $user  = _app_user(%o);
    croak "procs must be 1..8" unless $procs =~ /^[1-8]$/;
    croak "spawn must be direct or smart" unless $spawn =~ /^(direct|smart)$/;

    my $c = "# --- Passenger (t/lib/MTPassenger.pm), app $root\n"
          . "LoadModule passenger_module $PASSENGER_SO\n"
          . "PassengerRoot " . passenger_root() . "\n"
          . "PassengerDefaultRuby $RUBY\n"
          . "PassengerDisableSecurityUpdateCheck on\n"
          . "PassengerDisableAnonymousTelemetry on\n"
          . "PassengerInstanceRegistryDir \"\@DIR\@/run\"\n"
          . "PassengerLogFile \"\@DIR\@/passenger.log\"\n"
          . "PassengerLogLevel 3\n"
          . "PassengerMaxPoolSize $procs\n"
          . "PassengerStartTimeout 90\n"
          . "PassengerPoolIdleTime 0\n"
          . "PassengerFriendlyErrorPages off\n";
    $c .= "PassengerDefaultUser $user\nPassengerDefaultGroup $user\n" if $> == 0;

    my $inner = "  PassengerAppRoot \"$root\"\n"
              . "  PassengerAppType rack\n"
              . "  PassengerStartupFile config.ru\n"
              . "  PassengerAppEnv production\n"
              . "  PassengerSpawnMethod $spawn\n"
              . "  PassengerMinInstances $procs\n"
              . "  SetEnv MT_APP_DATA \"\@DIR\@/appdata\"\n"
              # Under MT_ASAN httpd runs with LD_PRELOAD=libasan, which the
              # Passenger agents and the apps inherit; ASan's allocator (redzones,
              # quarantine of freed memory) would distort the apps' memory.
              . "  SetEnv LD_PRELOAD \"\"\n";
    $inner .= "  PassengerUser $user\n  PassengerGroup $user\n" if $> == 0;
    $inner .= "  SetEnv RUBYOPT \"-r" . preload_path() . "\"\n" if $o{preload};
    for my $k (sort keys %{ $o{env} || {} }) {
        croak "bad env name $k" unless $k =~ /^[A-Za-z_][A-Za-z0-9_]*$/;
        $inner .= "  SetEnv $k \"$o{env}{$k}\"\n";
    }
    $inner .= $o{app_conf} // '';

    if (my $base = $o{base}) {
        croak "base must look like /name" unless $base =~ m{^/[A-Za-z0-9_-]+$};
        $c .= "Alias $base \"$root/public\"\n"
            . "<Location $base>\n  PassengerBaseURI $base\n$inner</Location>\n"
            . "<Directory \"$root/public\">\n  Require all granted\n"
            . "  Options -MultiViews\n</Directory>\n";
    } else {
        $c .= "<Directory \"\@DIR\@/htdocs\">\n$inner</Directory>\n";
    }
    return $c;
}

# Start an MTTest harness with the app under Passenger. Returns the harness.
sub start {
    my ($class, %o) = @_;
    my $why = why_not();
    croak "cannot run Passenger: $why" if $why;
    my %p = map { $_ => delete $o{$_} }
            grep { exists $o{$_} } qw(app procs spawn preload env base user app_conf);
    my %mods = map { $_ => 1 } @{ $o{modules} || [] }, modules();
    $o{modules} = [sort keys %mods];
    $o{conf} = conf(%p) . ($o{conf} // '');
    $o{name} //= do { my $n = $0; $n =~ s{.*/}{}; $n =~ s/\.t$//; $n };
    require MTTest;
    my $h = MTTest->start(%o);
    $h->{mt_passenger} = { root => app_root($p{app}), procs => $p{procs} // 2 };
    _make_appdata($h->dir . '/appdata', _app_user(%p));
    return $h;
}

sub _make_appdata {
    my ($dir, $user) = @_;
    make_path($dir);
    chmod 0755, $dir;
    if ($> == 0) {
        my (undef, undef, $uid, $gid) = getpwnam($user);
        croak "no user $user" unless defined $uid;
        chown $uid, $gid, $dir or croak "chown $dir: $!";
    }
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    my $t = <$fh>;
    return $t // '';
}

# All descendants of $pid: [pid, cmdline] pairs.
sub descendants {
    my ($top) = @_;
    my (%kids, %cmd);
    opendir my $d, '/proc' or return;
    for my $p (grep { /^\d+$/ } readdir $d) {
        my (undef, undef, $ppid) = MTTest::stat_fields($p);
        next unless defined $ppid;
        push @{ $kids{$ppid} }, $p;
        ($cmd{$p} = _slurp("/proc/$p/cmdline")) =~ s/\0+/ /g;
    }
    my @out;
    my @queue = ($top);
    while (defined(my $p = shift @queue)) {
        for my $k (@{ $kids{$p} || [] }) {
            push @out, [$k, $cmd{$k} // ''];
            push @queue, $k;
        }
    }
    return @out;
}

# Pids of the Passenger app processes of this server (optionally of one app
# root), sorted.
sub app_pids {
    my ($h, $root) = @_;
    return () unless $h->pid;
    $root //= $h->{mt_passenger}{root};
    my @p = grep { $_->[1] =~ /^\Q$APP_TITLE\E(\S+)/ && (!$root || $1 eq $root) }
            descendants($h->pid);
    return sort { $a <=> $b } map { $_->[0] } @p;
}

# Every Passenger process of this server (watchdog, core, preloaders, apps).
sub passenger_pids {
    my ($h) = @_;
    return () unless $h->pid;
    return map { $_->[0] } grep { $_->[1] =~ /^Passenger / } descendants($h->pid);
}

# Pid of the Passenger core (root; the app processes' parent).
sub core_pid {
    my ($h) = @_;
    my ($c) = grep { $_->[1] =~ /^Passenger core/ } descendants($h->pid);
    return $c ? $c->[0] : undef;
}

# Send requests until `procs` app processes exist and each has answered
# `path` (a path whose body starts with the pid). Returns the pids seen;
# croaks after `timeout` seconds.
sub warm {
    my ($h, %o) = @_;
    my $want = $o{procs} // $h->{mt_passenger}{procs} // 2;
    my $path = $o{path} // '/pid';
    my $until = time + ($o{timeout} // 90);
    my %seen;
    my $last = '';
    while (time < $until) {
        my @kids = parallel_get($h, $path, $want);
        for my $r (@kids) {
            if ($r =~ /^(\d+)/) { $seen{$1} = 1 } else { $last = $r }
        }
        my %live = map { $_ => 1 } app_pids($h);
        delete $seen{$_} for grep { !$live{$_} } keys %seen;
        return sort { $a <=> $b } keys %seen if keys(%seen) >= $want;
        sleep 0.2;
    }
    croak "Passenger app did not come up with $want processes; seen: "
        . join(',', sort keys %seen) . "; last answer: " . substr($last, 0, 300)
        . "\n" . _slurp($h->dir . '/passenger.log') =~ s/\A.*(.{3000})\z/$1/rs;
}

# `n` concurrent GETs (forked, so they overlap and Passenger has to use
# more than one process). Returns the bodies (or "ERR status").
sub parallel_get {
    my ($h, $path, $n) = @_;
    my @fh;
    for (1 .. $n) {
        my $pid = open(my $fh, '-|') // croak "fork: $!";
        if (!$pid) {
            my $http = HTTP::Tiny->new(timeout => 60);
            my $r = $http->get($h->url($path));
            print $r->{success} ? $r->{content} : "ERR $r->{status} $r->{content}";
            close STDOUT;
            POSIX::_exit(0);
        }
        push @fh, [$pid, $fh];
    }
    my @out;
    for my $x (@fh) {
        my $fh = $x->[1];
        local $/;
        push @out, scalar(<$fh>) // '';
        close $fh;
    }
    return @out;
}

# Start time of a process (clock ticks after boot, /proc/PID/stat field
# 22), or undef when it is gone: with it a pid names one process even when
# the pid is reused (pid_max can be as low as 32768, and a test run forks
# tens of thousands of processes).
sub start_time {
    my ($pid) = @_;
    return (MTTest::stat_fields($pid))[20];
}

# pid => start time of each pid that is still there.
sub start_times {
    return map { my $t = start_time($_); defined $t ? ($_ => $t) : () } @_;
}

# Alive and not a zombie (orphans may wait for a pid 1 that never reaps);
# with $start, only the process that had that start time counts.
sub _alive {
    my ($pid, $start) = @_;
    return 0 unless kill 0, $pid;
    my @f = MTTest::stat_fields($pid);      # read once: state and start
    return 0 if @f && $f[1] eq 'Z';
    return 1 unless defined $start;
    return defined $f[20] && $f[20] eq $start ? 1 : 0;
}

# Stop httpd (MTTest's stop) and make sure no Passenger process of this
# server outlives it: KILL by pid what is left after 10 s, then wait for
# those to go. Returns the "pid:title" of the processes that needed KILL.
sub stop {
    my ($h) = @_;
    return () unless $h && $h->pid;
    my %title = map { $_->[0] => $_->[1] }
                grep { $_->[1] =~ /^Passenger / } descendants($h->pid);
    my %start = start_times(keys %title);
    my @ps = keys %start;
    $h->stop;
    @ps = _wait_gone(10, \%start, @ps);
    my @killed = map { "$_:$title{$_}" } @ps;
    kill 'KILL', @ps if @ps;
    _wait_gone(5, \%start, @ps);
    return @killed;
}

sub _wait_gone {
    my ($secs, $start, @ps) = @_;
    my $until = time + $secs;
    while (@ps && time < $until) {
        @ps = grep { _alive($_, $start->{$_}) } @ps;
        sleep 0.1 if @ps;
    }
    return grep { _alive($_, $start->{$_}) } @ps;
}

1;

package MTRedis;

=head1 NAME

MTRedis - a throwaway redis-server for the Redis sink tests, and a tiny client

=head1 SYNOPSIS

    use MTRedis;
    my $rd = MTRedis->start(password => 'pw');  # skip_all without redis-server
    MTRedis->start(args => ['--rename-command', 'SET', 'X']);  # more options
    $rd->port; $rd->sock; $rd->url; $rd->url(db => 2, password => 'x')
    my $v = $rd->cmd('GET', 'memtrack:req:abc');  # scalar, array ref, or
                                                  # MTRedis::Error for -ERR
    $rd->kill9; $rd->restart;                     # same port, same dir
    $rd->stop;                                    # also at DESTROY / END

redis-server runs in the foreground as our child, on a free 127.0.0.1 port
and a unix socket (mode 777, so httpd's www-data children can use it) in a
temp dir under MTTmp's directory (BASE/redis-NAME-PID-N, outside the
checkout, which www-data may not be able to reach); it is stopped by its
pid. The dir is kept when a test failed (or with MT_KEEP_TMP). With C<< aof => 1 >> it
appends with fsync always, so what it acknowledged survives a kill -9.

=cut

use strict;
use warnings;
use Carp;
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX ();
use Time::HiRes qw(sleep);
use MTClock qw(time);
use File::Path qw(make_path remove_tree);
use Scalar::Util qw(weaken);
use MTTmp;

my %LIVE;   # pid => server, running
my %ALL;    # dir => server (weak), for the temp dirs at END
my $N = 0;

sub import {
    if (system('redis-server --version >/dev/null 2>&1') != 0) {
        require Test::More;
        Test::More::plan(skip_all => 'redis-server is not installed');
    }
}

sub _free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or croak "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub start {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;
    my $name = ($0 =~ s{.*/}{}r) =~ s/\.t$//r;
    $self->{dir} //= MTTmp::fresh_dir("redis-$name-$$-" . $N++);
    make_path($self->{dir});
    $ALL{ $self->{dir} } = $self;
    weaken($ALL{ $self->{dir} });
    chmod 0755, $self->{dir};
    $self->{port} //= _free_port();
    $self->_spawn;
    return $self;
}

sub _spawn {
    my ($self) = @_;
    my $d = $self->{dir};
    my @args = ('redis-server', '--port', $self->{port}, '--bind', '127.0.0.1',
                '--dir', $d, '--save', '', '--daemonize', 'no',
                '--logfile', "$d/redis.log", '--unixsocket', "$d/redis.sock",
                '--unixsocketperm', '777',
                '--appendonly', $self->{aof} ? 'yes' : 'no');
    push @args, '--appendfsync', 'always' if $self->{aof};
    push @args, '--requirepass', $self->{password} if $self->{password};
    push @args, @{ $self->{args} || [] };
    my $pid = fork() // croak "fork: $!";
    if (!$pid) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @args or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    $LIVE{$pid} = $self;
    my $until = time + 10;
    while (time < $until) {
        my $pong = eval { $self->cmd('PING') };
        return 1 if defined $pong && $pong eq 'PONG';
        sleep 0.05;
    }
    croak "redis-server on port $self->{port} did not answer";
}

sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }
sub pid  { $_[0]{pid} }
sub sock { "$_[0]{dir}/redis.sock" }

# The MemTrackRedis address of this server.
sub url {
    my ($self, %o) = @_;
    my $pw = exists $o{password} ? $o{password} : $self->{password};
    my $auth = defined $pw ? ":$pw@" : '';
    return "redis://${auth}127.0.0.1:$self->{port}/" . ($o{db} // 0);
}

sub _conn {
    my ($self) = @_;
    return $self->{conn} if $self->{conn} && $self->{conn}->connected;
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port}, Proto => 'tcp',
                                  Timeout => 2)
        or die "connect: $!\n";
    $self->{conn} = $c;
    if ($self->{password}) {
        my $r = $self->cmd('AUTH', $self->{password});
        die "AUTH: $$r\n" if ref $r eq 'MTRedis::Error';
    }
    return $c;
}

sub _readline {
    my ($c) = @_;
    my $line = '';
    while ($line !~ /\r\n\z/) {
        my $n = sysread($c, my $b, 1);
        die "redis: connection closed\n" unless $n;
        $line .= $b;
    }
    return substr($line, 0, -2);
}

sub _read_reply {
    my ($c) = @_;
    my $l = _readline($c);
    my ($t, $v) = (substr($l, 0, 1), substr($l, 1));
    return $v if $t eq '+';
    return $v + 0 if $t eq ':';
    return bless \$v, 'MTRedis::Error' if $t eq '-';
    if ($t eq '$') {
        return undef if $v < 0;
        my $buf = '';
        while (length($buf) < $v + 2) {
            my $n = sysread($c, $buf, $v + 2 - length($buf), length $buf);
            die "redis: connection closed\n" unless $n;
        }
        return substr($buf, 0, $v);
    }
    if ($t eq '*') {
        return undef if $v < 0;
        return [ map { _read_reply($c) } 1 .. $v ];
    }
    die "redis: bad reply '$l'\n";
}

# One command; dies on I/O trouble (call in eval when Redis may be down).
sub cmd {
    my ($self, @args) = @_;
    my $c = $self->_conn;
    my $req = '*' . scalar(@args) . "\r\n"
        . join('', map { '$' . length($_) . "\r\n$_\r\n" } @args);
    local $SIG{ALRM} = sub { die "redis: timeout\n" };
    alarm 5;
    my $r = eval {
        syswrite($c, $req) == length $req or die "redis: write: $!\n";
        _read_reply($c);
    };
    my $err = $@;
    alarm 0;
    if ($err) {
        delete $self->{conn};
        die $err;
    }
    return $r;
}

# Keys matching a pattern, with SCAN (KEYS is fine too at test sizes).
sub keys_like {
    my ($self, $pat) = @_;
    my $r = $self->cmd('KEYS', $pat);
    return ref $r eq 'ARRAY' ? @$r : ();
}

sub kill9 {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    delete $LIVE{$pid};
    delete $self->{conn};
    $self->{pid} = undef;
}

sub restart {
    my ($self) = @_;
    $self->stop if $self->{pid};
    $self->_spawn;
}

sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    delete $self->{conn};
    kill 'TERM', $pid;
    my $until = time + 5;
    while (time < $until) {
        my $r = waitpid($pid, POSIX::WNOHANG());
        if ($r == $pid || $r == -1) { undef $pid; last }
        sleep 0.02;
    }
    if ($pid) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    delete $LIVE{ $self->{pid} };
    $self->{pid} = undef;
}

# The temp dir is kept when a test failed (or MT_KEEP_TMP is set).
sub _cleanup {
    my ($self) = @_;
    return if !$self->{dir} || !-d $self->{dir} || $self->{cleaned};
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';   # Test::Builder is gone
    return unless Test::Builder->can('new');    # not a test: keep it
    $self->{cleaned} = 1;
    my $tb = Test::Builder->new;
    if (!$tb->is_passing || $ENV{MT_KEEP_TMP}) {
        $tb->diag("kept the redis-server's directory"
                  . ($ENV{MT_KEEP_TMP} ? ' (MT_KEEP_TMP)' : '') . ": $self->{dir}");
        return;
    }
    remove_tree($self->{dir});
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    $self->stop;
    $self->_cleanup;
}

END {
    local ($?, $!, $@);
    $_->stop for values %LIVE;
    $_ && $_->_cleanup for values %ALL;
}

package MTRedis::Error;
use overload '""' => sub { ${ $_[0] } }, fallback => 1;

1;

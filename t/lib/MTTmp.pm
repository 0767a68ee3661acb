package MTTmp;

=head1 NAME

MTTmp - where the throwaway servers of the tests, the demo and the bench
keep their files: a directory that httpd's children and the Passenger apps
can read, outside the checkout

=head1 SYNOPSIS

    use MTTmp;
    my $base = MTTmp::base();        # /tmp/mod_memtrack-root (mode 0755, ours)
    my $dir  = MTTmp::fresh_dir("10-records-$$-1");   # made anew, mode 0755
    my $so   = MTTmp::readable("$MTTmp::ROOT/build/mod_memtrack.so");
    my $apps = MTTmp::tree() . '/t/apps';   # this process's copy of the apps

=head1 WHY

As root, httpd's children and the Passenger apps run as www-data. They
cannot read a checkout in a home of mode 0700 (F</root>, and every home
that Debian 12's C<adduser> makes): every request would be a 403. So no
server reads the checkout. Each server's directory (config, docroot, logs,
records) is made under C<base()>, and what a server loads from the
repository (the built modules, F<t/apps>, F<ruby/lib>) is copied once per
process into C<base()/tree-PID/>, at the same relative paths, so the apps
find F<ruby/lib> as in the checkout.

C<base()> is C<$MT_TMPDIR> when set, otherwise
C<${TMPDIR:-/tmp}/mod_memtrack-USER>. It must be a directory of ours (not a
link, not someone else's: a name in /tmp can be taken by anyone first) and
is set to mode 0755; as root, each directory above it must be searchable by
others (C<o+x>), or this dies saying which is not. A user who is not root
runs httpd, its children and the apps as themselves, so any base of theirs
does.

A server's directory is kept when its test failed or with C<MT_KEEP_TMP>
(see MTTest), and the harness prints its path. The tree is removed at exit
unless C<MT_KEEP_TMP> is set or the process failed (a kept server
directory's config points into it).

=cut

use strict;
use warnings;
use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec;

our $ROOT = abs_path(dirname(__FILE__) . '/../..');
# What the servers load from the repository, copied by tree().
our @TREE = qw(t/apps ruby/lib);

my ($BASE, $TREE, %COPIED);
my $OWNER = $$;     # forked children never remove the tree

sub _user {
    my $name = getpwuid($>);
    return defined $name && $name =~ /^[A-Za-z0-9._-]+$/ ? $name : "uid$>";
}

sub base {
    return $BASE if $BASE;
    my $b = $ENV{MT_TMPDIR}
        || (($ENV{TMPDIR} || '/tmp') =~ s{/+\z}{}r) . '/mod_memtrack-' . _user();
    $b = File::Spec->rel2abs($b);
    mkdir $b, 0755;
    my @st = lstat $b;
    croak "MTTmp: $b is not a directory" unless @st && -d _;
    croak "MTTmp: $b is a symbolic link; remove it or set MT_TMPDIR" if -l $b;
    croak "MTTmp: $b belongs to uid $st[4], not to us ($>); remove it or set MT_TMPDIR"
        if $st[4] != $>;
    chmod 0755, $b or croak "MTTmp: chmod $b: $!";
    _check_reachable($b) if $> == 0;
    return $BASE = $b;
}

# As root the servers run as www-data: every directory above $b must let
# others through.
sub _check_reachable {
    my ($b) = @_;
    my $p = $b;
    while ($p ne '/' && $p ne '.') {
        $p = dirname($p);
        my @st = stat $p or croak "MTTmp: $p: $!";
        next if $st[2] & 01;
        croak sprintf "MTTmp: %s is mode %04o, so httpd's children (www-data) "
            . "cannot reach %s; set MT_TMPDIR to a directory they can reach, "
            . "e.g. under /tmp", $p, $st[2] & 07777, $b;
    }
}

# base()/$name, removed first if it exists, mode 0755.
sub fresh_dir {
    my ($name) = @_;
    croak "MTTmp: bad name '$name'" unless $name =~ m{^[A-Za-z0-9._-]+$};
    my $dir = base() . "/$name";
    remove_tree($dir) if -e $dir;
    make_path($dir);
    chmod 0755, $dir or croak "MTTmp: chmod $dir: $!";
    return $dir;
}

# This process's copy of @TREE, made on the first call.
sub tree {
    return $TREE if $TREE;
    my $t = fresh_dir("tree-$$");
    _copy($_, $t) for @TREE;
    return $TREE = $t;
}

sub _copy {
    my ($rel, $t) = @_;
    my $dst = "$t/$rel";
    make_path(dirname($dst));
    system('cp', '-R', "$ROOT/$rel", $dst) == 0 or croak "MTTmp: cp $ROOT/$rel: $?";
    system('chmod', '-R', 'a+rX', "$t") == 0 or croak "MTTmp: chmod $t: $?";
    return $dst;
}

# A path the servers can read: a file of the checkout is copied into the
# tree (once per process), any other path is returned as it is.
sub readable {
    my ($path) = @_;
    my $abs = abs_path($path) // $path;
    return $path unless index($abs, "$ROOT/") == 0 && -f $abs;
    return $COPIED{$abs} //= _copy(substr($abs, length "$ROOT/"), tree());
}

END {
    my $failed = $? != 0
        || (Test::Builder->can('new') && !Test::Builder->new->is_passing);
    remove_tree($TREE)
        if $TREE && $$ == $OWNER && !$ENV{MT_KEEP_TMP} && !$failed && -d $TREE;
}

1;

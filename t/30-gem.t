#!/usr/bin/perl
# The memtrack-rack gem: its minitest suite (each file in its own ruby, so
# the one that loads ActiveRecord cannot change the others) and `gem build`.
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use Cwd qw(abs_path);

my $root = abs_path(File::Spec->catdir(dirname(__FILE__), '..'));
my $ruby = $ENV{MT_RUBY} || '/usr/bin/ruby';
plan skip_all => "no ruby at $ruby" unless -x $ruby;

my @tests = sort glob("$root/ruby/test/test_*.rb");
ok(@tests >= 3, 'gem tests found') or diag("in $root/ruby/test");

for my $file (@tests) {
    my $name = (File::Spec->splitpath($file))[2];
    my $out = qx{cd '$root' && '$ruby' -Iruby/lib '$file' 2>&1};
    my $rc = $?;
    my ($summary) = $out =~ /^(\d+ runs, .*)$/m;
    ok($rc == 0 && defined $summary && $summary =~ / 0 failures, 0 errors/,
       "$name: " . ($summary // 'no summary')) or diag(failures($out));
}

# gem build accepts the gemspec; the .gem goes to a temp dir, never the repo.
my $tmp = tempdir(CLEANUP => 1);
my $out = qx{'$ruby' -S gem build -C '$root/ruby' memtrack-rack.gemspec -o '$tmp/memtrack-rack.gem' 2>&1};
is($?, 0, 'gem build succeeds') or diag($out);
ok(-s "$tmp/memtrack-rack.gem", 'gem file written');
my $files = qx{tar -xOf '$tmp/memtrack-rack.gem' metadata.gz | gunzip};
like($files, qr{lib/memtrack/rack\.rb}, 'gem holds the middleware');
like($files, qr{lib/memtrack/preload\.rb}, 'gem holds the preload');
like($files, qr{lib/memtrack/probe\.rb}, 'gem holds the probes');
like($files, qr{lib/memtrack/malloc_stats\.rb}, 'gem holds the malloc readers');
like($files, qr{lib/memtrack/heap\.rb}, 'gem holds the heap snapshots');
is(scalar(glob("$root/ruby/*.gem")), undef, 'no .gem left in ruby/');

done_testing();

# Minitest's report, failures first and without blank lines, so the short
# summary at the end of `make test` shows which test failed and why.
sub failures {
    my ($out) = @_;
    # "Failure:" or "  1) Failure:" (the plain and the Rails reporter), then
    # the test's name and message up to a blank line.
    my @fail = $out =~ /^(?:\s*\d+\) )?(?:Failure|Error):\n(.*?\n)(?:\n|\z)/msg;
    my $text = @fail ? join('', @fail) . "\n--- whole output:\n$out" : $out;
    return join("\n", grep { /\S/ } split /\n/, $text);
}

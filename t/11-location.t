#!/usr/bin/perl
# Per-directory config: MemTrack Off in a <Location> stops records there
# while the rest keeps recording; MemTrack On in a <Location> of an
# untracked server records only there.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MTTest;
use Test::More;
use File::Path qw(make_path);

sub add_files {
    my ($h) = @_;
    for my $d (qw(off on on/deeper)) {
        make_path($h->dir . "/htdocs/$d");
        chmod 0755, $h->dir . "/htdocs/$d";
        open my $fh, '>', $h->dir . "/htdocs/$d/x.txt" or die $!;
        print {$fh} "$d\n";
        close $fh;
        chmod 0644, $h->dir . "/htdocs/$d/x.txt";
    }
}

for my $mpm (qw(event prefork)) {
    # Tracked server, one location off.
    my $h = MTTest->start(mpm => $mpm, conf => <<'EOC');
<Location /off>
  MemTrack Off
</Location>
EOC
    add_files($h);
    for my $i (1 .. 5) {
        is($h->get("/off/x.txt?i=$i")->{status}, 200, "$mpm: GET /off/x.txt");
        is($h->get("/static.txt?i=$i")->{status}, 200, "$mpm: GET /static.txt");
    }
    $h->get('/grow?mb=0&off=no');
    my @recs = $h->wait_records(6, 10);
    is(scalar(grep { $_ } @recs), 6, "$mpm: 5 + 1 records, none from /off")
        or diag(join '', $h->raw_lines);
    is(scalar(grep { $_ && $_->{url} =~ m{^/off} } @recs), 0,
       "$mpm: nothing recorded under <Location /off>");
    is(scalar(grep { $_ && $_->{url} =~ m{^/static\.txt\?i=\d$} } @recs), 5,
       "$mpm: the rest keeps recording");
    $h->stop;
    is($h->sanitizer_log, "", "no sanitizer report");

    # Untracked server, one location on (and a deeper location off again).
    my $h2 = MTTest->start(mpm => $mpm, track => 0, conf => <<'EOC');
<Location /on>
  MemTrack On
</Location>
<Location /on/deeper>
  MemTrack Off
</Location>
EOC
    add_files($h2);
    for my $i (1 .. 3) {
        $h2->get("/static.txt?i=$i");
        $h2->get("/on/x.txt?i=$i");
        $h2->get("/on/deeper/x.txt?i=$i");
    }
    @recs = $h2->wait_records(3, 10);
    is_deeply([sort map { $_->{url} } grep { $_ } @recs],
              [map { "/on/x.txt?i=$_" } 1 .. 3],
              "$mpm: only <Location /on> recorded, not /on/deeper")
        or diag(join '', $h2->raw_lines);
    $h2->stop;
    is($h2->sanitizer_log, "", "no sanitizer report");
}

done_testing();

#!/usr/bin/perl
# front_probe.pl - a small Kafka client in Perl that exercises the paths of sasl_front.pl that
# kcat (librdkafka 2.0.2) never takes: ApiVersions v0/v3/v4, SaslAuthenticate v2 (flexible),
# SaslHandshake v0 (raw tokens), KIP-368 re-authentication and session expiry, RFC 5802
# upper-case user-name escaping, refusals, and the Metadata/FindCoordinator rewriting.
# Prints TAP lines ("ok - ..." / "not ok - ..."); exits 1 if any check failed.
#
# usage: front_probe.pl --ca CA.pem --bootstrap HOST:PORT,... --lifetime-ms MS
#   credentials from the environment: KESM_PROBE_USER/KESM_PROBE_PASS (a user whose name contains
#   ',' and '='), KESM_PROBE_USER2/KESM_PROBE_PASS2 (a second user).
# The front must run with --session-lifetime-ms MS (MS >= 1500) and strict nonces.
use strict;
use warnings;
use Getopt::Long qw(GetOptions);
use IO::Socket::SSL;
use Time::HiRes qw(time sleep);
use Authen::SCRAM::Client;

my %o;
GetOptions(\%o, 'ca=s', 'bootstrap=s', 'lifetime-ms=i') or die "bad arguments\n";
die "usage: see header\n" unless $o{ca} && $o{bootstrap} && $o{'lifetime-ms'};
my ($user, $pass, $user2, $pass2) = @ENV{qw(KESM_PROBE_USER KESM_PROBE_PASS KESM_PROBE_USER2 KESM_PROBE_PASS2)};
die "KESM_PROBE_USER/PASS/USER2/PASS2 must be set\n" unless defined $pass && defined $pass2;
my @front = split /,/, $o{bootstrap};
my %front_port = map { (split /:/)[1] => 1 } @front;
$| = 1;

my ($n_ok, $n_fail) = (0, 0);
sub check {
    my ($ok, $desc, $detail) = @_;
    if ($ok) { $n_ok++; print "ok - $desc\n" }
    else { $n_fail++; print "not ok - $desc\n"; print "#   $detail\n" if defined $detail }
    $ok;
}

# ---- wire helpers -------------------------------------------------------------------------------
sub take { my ($c, $n) = @_; die "truncated response\n" if $c->[1] + $n > length $c->[0];
    my $s = substr($c->[0], $c->[1], $n); $c->[1] += $n; $s }
sub r_i16 { unpack 's>', take($_[0], 2) }
sub r_i32 { unpack 'l>', take($_[0], 4) }
sub r_i64 { unpack 'q>', take($_[0], 8) }
sub r_uvarint { my ($c) = @_; my ($v, $s) = (0, 0);
    while (1) { my $b = ord take($c, 1); $v |= ($b & 0x7f) << $s; return $v unless $b & 0x80; $s += 7 } }
sub r_str { my $n = r_i16($_[0]); $n < 0 ? undef : take($_[0], $n) }
sub r_bytes { my $n = r_i32($_[0]); $n < 0 ? undef : take($_[0], $n) }
sub r_cstr { my $n = r_uvarint($_[0]); $n == 0 ? undef : take($_[0], $n - 1) }
sub r_tags { my ($c) = @_; for (1 .. r_uvarint($c)) { r_uvarint($c); take($c, r_uvarint($c)) } }
sub w_str { pack('s>', length $_[0]) . $_[0] }
sub w_cstr { chr(length($_[0]) + 1) . $_[0] }    # short strings only
sub w_cbytes { my $n = length($_[0]) + 1; my $v = '';
    while ($n >= 0x80) { $v .= chr(($n & 0x7f) | 0x80); $n >>= 7 } $v . chr($n) . $_[0] }

sub connect_front {
    my ($hp) = @_;
    IO::Socket::SSL->new(PeerAddr => $hp, SSL_ca_file => $o{ca}, SSL_verifycn_name => 'localhost',
        SSL_verifycn_scheme => 'default', SSL_hostname => 'localhost', Timeout => 10)
        or die "cannot connect to $hp: $SSL_ERROR\n";
}
sub read_exact { my ($s, $n) = @_; my $b = '';
    while (length $b < $n) { my $r = sysread($s, $b, $n - length $b, length $b); return undef unless $r } $b }
# Authen::SCRAM returns character strings; a token must be bytes before it is framed, or Perl
# upgrades the whole frame and writes length bytes >= 0x80 as two.
sub octets { my ($t) = @_; utf8::encode($t) if utf8::is_utf8($t); $t }
sub send_frame { my ($s, $p) = @_; syswrite($s, pack('l>', length $p) . $p) }
sub recv_frame { my ($s) = @_; my $l = read_exact($s, 4) // return undef; read_exact($s, unpack 'l>', $l) }

my $corr = 0;
# call sends a request (header v1, or v2 when |flex|) and returns a cursor at the response body
# (response header v0, or v1 when |rflex|), or undef when the front closed the connection.
sub call {
    my ($s, $key, $ver, $body, $flex, $rflex) = @_;
    my $c = ++$corr;
    send_frame($s, pack('s> s> l>', $key, $ver, $c) . w_str('front-probe') . ($flex ? "\0" : '') . $body);
    my $f = recv_frame($s) // return undef;
    my $cur = [$f, 0];
    die "correlation id mismatch\n" unless r_i32($cur) == $c;
    r_tags($cur) if $rflex;
    $cur;
}

sub api_versions_list {    # v0-2 and v3 bodies -> (error, {key => "min-max"})
    my ($cur, $ver) = @_;
    my $err = r_i16($cur);
    my %l;
    my $n = $ver >= 3 && $err == 0 ? r_uvarint($cur) - 1 : r_i32($cur);
    for (1 .. $n) { my ($k, $mn, $mx) = (r_i16($cur), r_i16($cur), r_i16($cur)); r_tags($cur) if $ver >= 3 && $err == 0; $l{$k} = "$mn-$mx" }
    ($err, \%l);
}

sub handshake {
    my ($s, $ver, $mech) = @_;
    my $cur = call($s, 17, $ver, w_str($mech)) // return (undef, []);
    my $err = r_i16($cur);
    ($err, [map { r_str($cur) } 1 .. r_i32($cur)]);
}

# authenticate sends one token with SaslAuthenticate v|ver| -> (error, message, token, lifetime)
sub authenticate {
    my ($s, $ver, $token) = @_;
    $token = octets($token);
    my $flex = $ver >= 2;
    my $cur = call($s, 36, $ver, $flex ? w_cbytes($token) . "\0" : pack('l>', length $token) . $token,
        $flex, $flex) // return (undef);
    my $err = r_i16($cur);
    my $msg = $flex ? r_cstr($cur) : r_str($cur);
    my $out = $flex ? r_cstr($cur) : r_bytes($cur);
    my $life = $ver >= 1 ? r_i64($cur) : 0;
    ($err, $msg, $out, $life);
}

# scram_client makes an Authen::SCRAM client that sends RFC 5802 upper-case escapes (=2C, =3D);
# Authen::SCRAM itself writes lower case, which the RFC does not allow.
sub scram_exchange {
    my ($s, $ver, $digest, $u, $p) = @_;
    my $cl = Authen::SCRAM::Client->new(digest => $digest, username => $u, password => $p);
    my $first = $cl->first_msg;
    $first =~ s/^(n,,n=[^,]*)/my $x = $1; $x =~ s{=2c}{=2C}g; $x =~ s{=3d}{=3D}g; $x/e;
    (my $bare = $first) =~ s/^n,,//;
    $cl->_set_session(_c1b => $bare);
    my ($err, $msg, $sfirst) = authenticate($s, $ver, $first);
    return ($err // -1, $msg // 'connection closed', undef, $first) if !defined $err || $err;
    my $final = $cl->final_msg($sfirst);
    my ($err2, $msg2, $sfinal, $life) = authenticate($s, $ver, $final);
    return ($err2 // -1, $msg2 // 'connection closed', undef, $first) if !defined $err2 || $err2;
    my $valid = eval { $cl->validate($sfinal) } ? 1 : 0;
    (0, undef, $life, $first, $valid);
}

sub metadata_ports {    # Metadata v1, all topics -> list of broker ports, or undef if closed
    my ($s) = @_;
    my $cur = call($s, 3, 1, pack('l>', -1)) // return undef;
    my @ports;
    for (1 .. r_i32($cur)) { r_i32($cur); r_str($cur); push @ports, r_i32($cur); r_str($cur) }
    \@ports;
}

sub connection_closed {
    my ($s) = @_;
    my $r = sysread($s, my $b, 1);
    return !$r;
}

# ---- checks -------------------------------------------------------------------------------------
my $s = connect_front($front[0]);
my ($err, $l) = api_versions_list(call($s, 18, 3, w_cstr('kesm-probe') . w_cstr('1.0') . "\0", 1), 3);
check($err == 0 && ($l->{17} // '') eq '0-1' && ($l->{36} // '') eq '0-2' && ($l->{18} // '') eq '0-3' && exists $l->{3},
    'ApiVersions v3 (flexible) lists SaslHandshake 0-1, SaslAuthenticate 0-2, ApiVersions 0-3, Metadata',
    "error $err, " . join(' ', map { "$_:$l->{$_}" } sort { $a <=> $b } keys %$l));
($err, $l) = api_versions_list(call($s, 18, 4, w_cstr('kesm-probe') . w_cstr('1.0') . "\0", 1), 0);
check($err == 35 && ($l->{18} // '') eq '0-3' && keys %$l == 1,
    'ApiVersions v4 gets UNSUPPORTED_VERSION (35) in the v0 format with ApiVersions 0-3', "error $err");
($err, $l) = api_versions_list(call($s, 18, 0, ''), 0);
check($err == 0 && ($l->{36} // '') eq '0-2', 'ApiVersions v0 answered in the v0 format');
check(!defined metadata_ports($s), 'Metadata before authentication: the front closes the connection');

$s = connect_front($front[0]);
my ($herr, $mechs) = handshake($s, 1, 'GSSAPI');
check(($herr // -1) == 33 && "@$mechs" eq 'SCRAM-SHA-512 SCRAM-SHA-256 PLAIN',
    'SaslHandshake for GSSAPI: UNSUPPORTED_SASL_MECHANISM (33) and the enabled list', "error " . ($herr // 'none') . " [@$mechs]");
check(connection_closed($s), '... and the connection is closed');

# SCRAM-SHA-256 over SaslAuthenticate v2 with an escaped user name; lifetime; rewriting; re-auth.
$s = connect_front($front[0]);
($herr) = handshake($s, 1, 'SCRAM-SHA-256');
my ($aerr, $amsg, $life, $first, $valid) = scram_exchange($s, 2, 'SHA-256', $user, $pass);
my $t_auth = time;
check(defined $herr && $herr == 0 && $aerr == 0 && $valid,
    'SCRAM-SHA-256 via SaslAuthenticate v2, server signature valid', "handshake " . ($herr // 'closed') . ", auth $aerr " . ($amsg // ''));
check($first =~ /^n,,n=[^,]*=2C[^,]*=3D/, 'the client-first carried upper-case =2C/=3D escapes', $first);
check(($life // 0) == $o{'lifetime-ms'}, "SaslAuthenticate returned session_lifetime_ms $o{'lifetime-ms'}", "got " . ($life // 'none'));
my $ports = metadata_ports($s);
check($ports && @$ports == @front && !grep({ !$front_port{$_} } @$ports),
    'Metadata after authentication lists only front listeners', $ports ? "@$ports" : 'closed');
my $cur = call($s, 10, 2, w_str('probe-group') . pack('c', 0));
my ($fc_err, $fc_port) = $cur ? (do { r_i32($cur); my $e = r_i16($cur); r_str($cur); r_i32($cur); r_str($cur); ($e, r_i32($cur)) }) : (-1, 0);
check($fc_err == 0 && $front_port{$fc_port}, 'FindCoordinator v2: the coordinator is a front listener',
    "error $fc_err port $fc_port");

# Re-authenticate before the session ends; the connection then outlives the first lifetime.
sleep($o{'lifetime-ms'} / 2000);
($herr) = handshake($s, 1, 'SCRAM-SHA-256');
($aerr, $amsg, $life, undef, $valid) = scram_exchange($s, 2, 'SHA-256', $user, $pass);
check(defined $herr && $herr == 0 && $aerr == 0 && $valid, 're-authentication on the same connection succeeds',
    "auth $aerr " . ($amsg // ''));
my $wait = $t_auth + $o{'lifetime-ms'} / 1000 + 0.3 - time;
sleep($wait) if $wait > 0;
check(metadata_ports($s), 'after re-authentication the connection outlives the first session');
sleep($o{'lifetime-ms'} / 1000 + 0.2);
check(!defined metadata_ports($s), 'without re-authentication, the first request after expiry closes it');

# Re-authenticating as somebody else is refused.
$s = connect_front($front[-1]);
handshake($s, 1, 'SCRAM-SHA-512');
($aerr) = scram_exchange($s, 1, 'SHA-512', $user, $pass);
handshake($s, 1, 'SCRAM-SHA-512');
($aerr, $amsg) = scram_exchange($s, 1, 'SHA-512', $user2, $pass2);
check($aerr == 58 && ($amsg // '') =~ /change principals/, 're-authentication as another user is refused (58)',
    "error $aerr " . ($amsg // ''));

# SaslHandshake v0: raw tokens without Kafka headers.
$s = connect_front($front[-1]);
($herr) = handshake($s, 0, 'PLAIN');
send_frame($s, "\0$user2\0$pass2");
my $raw = recv_frame($s);
check(($herr // -1) == 0 && defined $raw && $raw eq '' && metadata_ports($s),
    'SaslHandshake v0 + raw PLAIN token, then Metadata works');
$s = connect_front($front[-1]);
($herr) = handshake($s, 0, 'SCRAM-SHA-512');
my $cl = Authen::SCRAM::Client->new(digest => 'SHA-512', username => $user2, password => $pass2);
send_frame($s, octets($cl->first_msg));
my $sf = recv_frame($s);
send_frame($s, octets($cl->final_msg($sf // '')));
my $sfin = recv_frame($s);
check(defined $sfin && eval { $cl->validate($sfin) } && metadata_ports($s),
    'SaslHandshake v0 + raw SCRAM-SHA-512 exchange, then Metadata works');

# PLAIN refusals: wrong password, authzid naming someone else.
$s = connect_front($front[0]);
handshake($s, 1, 'PLAIN');
($aerr, $amsg) = authenticate($s, 1, "$user2\0$user2\0wrong");
check(($aerr // -1) == 58, 'PLAIN with a wrong password: SASL_AUTHENTICATION_FAILED (58)');
check(connection_closed($s), '... and the connection is closed');
$s = connect_front($front[0]);
handshake($s, 1, 'PLAIN');
($aerr) = authenticate($s, 1, "$user\0$user2\0$pass2");
check(($aerr // -1) == 58, 'PLAIN with an authzid other than the user is refused');

print "# front_probe: $n_ok ok, $n_fail not ok\n";
exit($n_fail ? 1 : 0);

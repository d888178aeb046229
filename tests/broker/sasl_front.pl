#!/usr/bin/perl
# sasl_front.pl - a secured front for a plaintext test Kafka cluster (kmock): TLS + SASL in front,
# raw relay behind, so kesm and kcat can be tested over SASL_SSL without a JVM.
#
#   client --TLS--> front listener for broker N --(after SASL, relay)--> upstream broker N
#
# At start it asks the upstream cluster (ApiVersions v0, Metadata v1) for its API ranges and its
# brokers, and opens one loopback listener per upstream broker. Per connection (one forked process
# each) it answers ApiVersions itself (v0-3; the upstream's ranges plus SaslHandshake 0-1 and
# SaslAuthenticate 0-2), then SaslHandshake (v0 raw tokens or v1) and SaslAuthenticate (v0-2)
# with SCRAM-SHA-512, SCRAM-SHA-256 (Authen::SCRAM::Server), PLAIN or OAUTHBEARER (RFC 7628 as
# Kafka speaks it, KIP-255: the token checked by an external verifier), then relays every other
# request to its upstream broker. It rewrites the broker addresses in Metadata and FindCoordinator
# responses to its own listeners, so every connection a client makes goes through TLS and SASL.
# A request other than ApiVersions/SaslHandshake before authentication closes the connection.
#
# Usage: sasl_front.pl --upstream HOST:PORT[,...] (--cert PEM --key PEM [--client-ca PEM] | --no-tls)
#            [--users-file FILE] [--mechanisms LIST] [--scram-iterations N]
#            [--session-lifetime-ms MS] [--lenient-nonce] [--hostile MODE] [--lifetime S]
#            [--advertise-host HOST] [--oauth-verifier 'PROG ARG...']
#   --users-file FILE   credentials, one "user:password" per line. Without it the environment
#                       variable KESM_FRONT_USERS holds the same lines. Never on the command line.
#   --mechanisms        enabled mechanisms (default SCRAM-SHA-512,SCRAM-SHA-256,PLAIN)
#   --scram-iterations  iteration count of the stored SCRAM credentials (default 4096)
#   --session-lifetime-ms  KIP-368 session lifetime sent in the final SaslAuthenticate (v1+)
#                       response; a request (other than ApiVersions/SASL) after it expires closes
#                       the connection, as Kafka does. Re-authentication on the connection renews
#                       it (the user must not change). Default 0 (no expiry).
#   --lenient-nonce     accept a client-final nonce that merely ends with the server nonce (the
#                       behaviour of Kafka 3.8.1-3.9), which librdkafka < 2.6.1 (so Debian's
#                       kcat) needs: it sends r=<client nonce><full nonce>. Default strict.
#   --hostile MODE      misbehave on purpose, for client tests (SCRAM only):
#                         bad-signature   server-final carries a wrong v= signature
#                         bad-nonce       server-first nonce does not extend the client's
#                         iterations=N    server-first announces i=N (e.g. 1 or 100000000)
#                         server-error[=TEXT]  server-final is "e=TEXT" (default other-error),
#                                         sent with error code 0 so the client sees the e=
#   --lifetime S        the front and its connections exit after S seconds (default 300)
#   --advertise-host    host written into rewritten Metadata/FindCoordinator (default 127.0.0.1;
#                       the test certificate covers both 127.0.0.1 and localhost)
#   --oauth-verifier    OAUTHBEARER: the program (split at spaces) that judges bearer tokens,
#                       started once with the front: it reads one token per line on stdin and
#                       answers each with a line "OK <principal> <expiry unix s>" or
#                       "FAIL <reason>" (tests/oracle/msk_iam_verify.py checks MSK IAM tokens with
#                       botocore). Connections take turns on it (a lock file). A refused token gets the server's error JSON
#                       {"status":"invalid_token",...}, then, after the client's %x01, error 58,
#                       as Kafka's OAuthBearerSaslServer does. The session lifetime of a good
#                       token is the time to its expiry (capped by --session-lifetime-ms).
#                       OAUTHBEARER needs no credentials file.
#   --no-sasl           no SASL: the TLS client certificate (--client-ca, required) is the
#                       authentication, as on an mTLS listener (Amazon MSK's port 9094); requests
#                       are relayed from the start and the certificate's subject is logged.
#
# stdout (line-buffered): "FRONT node=<id> listen=<host:port> upstream=<host:port>" per broker,
# then "BOOTSTRAP <host:port,...>" and "READY". stderr: one log line per event; auth bytes,
# passwords, proofs and signatures are never logged (only their lengths).
use strict;
use warnings;
use Getopt::Long qw(GetOptions);
use IO::Select;
use IO::Socket::INET;
use IO::Socket::SSL;
use MIME::Base64 qw(encode_base64 decode_base64);
use Fcntl qw(:flock);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time);
use Authen::SCRAM::Client;
use Authen::SCRAM::Server;

my %o = (
    mechanisms => 'SCRAM-SHA-512,SCRAM-SHA-256,PLAIN',
    'scram-iterations' => 4096,
    'session-lifetime-ms' => 0,
    lifetime => 300,
    'advertise-host' => '127.0.0.1',
    hostile => '',
);
GetOptions(\%o, 'upstream=s', 'cert=s', 'key=s', 'client-ca=s', 'no-tls', 'users-file=s',
    'mechanisms=s', 'scram-iterations=i', 'session-lifetime-ms=i', 'lenient-nonce', 'hostile=s',
    'lifetime=i', 'advertise-host=s', 'oauth-verifier=s', 'no-sasl') or die "sasl_front: bad arguments (see the header)\n";
die "sasl_front: --upstream is required\n" unless $o{upstream};
die "sasl_front: --cert and --key are required unless --no-tls\n"
    unless $o{'no-tls'} || ($o{cert} && $o{key});
die "sasl_front: bad --hostile mode '$o{hostile}'\n"
    unless $o{hostile} =~ /^(|bad-signature|bad-nonce|iterations=\d+|server-error(=[\x21-\x2b\x2d-\x7e]+)?)$/;

$| = 1;
my $T0 = time;
sub logf { my $fmt = shift; printf STDERR "[front %d %.3f] $fmt\n", $$, time - $T0, @_ }

# ---- credentials ------------------------------------------------------------------------------
my $cred_text;
if ($o{'users-file'}) {
    open(my $fh, '<', $o{'users-file'}) or die "sasl_front: cannot read users file: $!\n";
    local $/;
    $cred_text = <$fh>;
    close $fh;
} else {
    $cred_text = $ENV{KESM_FRONT_USERS} // '';
}
my %users;
for my $line (split /\r?\n/, $cred_text) {
    next if $line =~ /^\s*(#|$)/;
    my ($u, $p) = split /:/, $line, 2;
    die "sasl_front: credential line without ':' (user:password)\n" unless defined $p && length $u;
    $users{$u} = $p;
}
my @mechs = split /,/, $o{mechanisms};
for (@mechs) { die "sasl_front: unknown mechanism $_\n" unless /^(SCRAM-SHA-512|SCRAM-SHA-256|PLAIN|OAUTHBEARER)$/ }
die "sasl_front: OAUTHBEARER needs --oauth-verifier\n"
    if (grep { $_ eq 'OAUTHBEARER' } @mechs) && !$o{'oauth-verifier'};
die "sasl_front: --no-sasl needs --client-ca (the certificate is the authentication)\n"
    if $o{'no-sasl'} && !$o{'client-ca'};
die "sasl_front: no credentials (--users-file or KESM_FRONT_USERS)\n"
    unless %users || $o{'no-sasl'} || !grep { $_ ne 'OAUTHBEARER' } @mechs;

# SCRAM stored credentials (RFC 5802 section 3), one random salt per user and digest.
my %scram_cred;    # digest -> user -> [salt, StoredKey, ServerKey, iterations]
for my $digest ('SHA-256', 'SHA-512') {
    for my $u (keys %users) {
        my $salt = join '', map { chr int rand 256 } 1 .. 16;
        my ($stored, undef, $server) = Authen::SCRAM::Client->new(digest => $digest,
            username => $u, password => $users{$u})->computed_keys($salt, $o{'scram-iterations'});
        $scram_cred{$digest}{$u} = [$salt, $stored, $server, $o{'scram-iterations'}];
    }
}

# ---- the OAUTHBEARER verifier (one process; connections take turns under a lock file) -------
my ($verifier_in, $verifier_out, $verifier_pid, $verifier_lock);
if (grep { $_ eq 'OAUTHBEARER' } @mechs) {
    require IPC::Open2;
    $verifier_pid = IPC::Open2::open2($verifier_out, $verifier_in, split ' ', $o{'oauth-verifier'});
    $verifier_in->autoflush(1);
    $verifier_lock = ($ENV{TMPDIR} // '/tmp') . "/sasl_front.$$.lock";
    open(my $lk, '>', $verifier_lock) or die "sasl_front: cannot create $verifier_lock: $!\n";
    close $lk;
}
END { unlink $verifier_lock if $verifier_lock && $verifier_pid && $$ == $main::FRONT_PID }
our $FRONT_PID = $$;

# ---- Kafka primitives -------------------------------------------------------------------------
# A reader is [buffer, offset]; every read dies with a clear message when the bytes run out.
sub take { my ($c, $n) = @_; die "truncated message\n" if $n < 0 || $c->[1] + $n > length $c->[0];
    my $s = substr($c->[0], $c->[1], $n); $c->[1] += $n; $s }
sub r_i16 { unpack 's>', take($_[0], 2) }
sub r_i32 { unpack 'l>', take($_[0], 4) }
sub r_uvarint {
    my ($c) = @_;
    my ($v, $shift) = (0, 0);
    while (1) {
        my $b = ord take($c, 1);
        $v |= ($b & 0x7f) << $shift;
        return $v unless $b & 0x80;
        $shift += 7;
        die "varint too long\n" if $shift > 28;
    }
}
sub r_str { my $n = r_i16($_[0]); $n < 0 ? undef : take($_[0], $n) }
sub r_bytes { my $n = r_i32($_[0]); $n < 0 ? undef : take($_[0], $n) }
sub r_cstr { my $n = r_uvarint($_[0]); $n == 0 ? undef : take($_[0], $n - 1) }
sub r_tags_raw {    # returns the raw bytes of a tagged-field section
    my ($c) = @_;
    my $start = $c->[1];
    my $n = r_uvarint($c);
    for (1 .. $n) { r_uvarint($c); take($c, r_uvarint($c)) }
    substr($c->[0], $start, $c->[1] - $start);
}
sub rest { my ($c) = @_; my $s = substr($c->[0], $c->[1]); $c->[1] = length $c->[0]; $s }
sub w_uvarint {
    my ($v) = @_;
    my $out = '';
    while ($v >= 0x80) { $out .= chr(($v & 0x7f) | 0x80); $v >>= 7 }
    $out . chr($v);
}
sub w_str { defined $_[0] ? pack('s>', length $_[0]) . $_[0] : pack('s>', -1) }
sub w_bytes { defined $_[0] ? pack('l>', length $_[0]) . $_[0] : pack('l>', -1) }
sub w_cstr { defined $_[0] ? w_uvarint(length($_[0]) + 1) . $_[0] : "\0" }

# Flexible (KIP-482) request versions of the APIs the front parses.
my %first_flexible = (3 => 9, 10 => 3, 17 => 1 << 15, 18 => 3, 36 => 2);
sub flexible { my ($key, $ver) = @_; exists $first_flexible{$key} && $ver >= $first_flexible{$key} }

# ---- upstream discovery -----------------------------------------------------------------------
sub read_exact {
    my ($s, $n) = @_;
    my $b = '';
    while (length $b < $n) {
        my $r = sysread($s, $b, $n - length $b, length $b);
        return undef unless $r;
    }
    $b;
}
sub upstream_call {
    my ($s, $key, $ver, $corr, $body) = @_;
    my $req = pack('s> s> l>', $key, $ver, $corr) . w_str('sasl-front') . $body;
    syswrite($s, pack('l>', length $req) . $req) or die "upstream write: $!\n";
    my $len = read_exact($s, 4) // die "upstream closed\n";
    my $resp = read_exact($s, unpack 'l>', $len) // die "upstream closed\n";
    my $c = [$resp, 0];
    die "upstream correlation mismatch\n" unless r_i32($c) == $corr;
    $c;
}

my (%api_range, @brokers);
{
    my $us;
    for my $hp (split /,/, $o{upstream}) {
        $us = IO::Socket::INET->new(PeerAddr => $hp, Timeout => 5) and last;
    }
    die "sasl_front: no upstream broker reachable in $o{upstream}\n" unless $us;
    my $c = upstream_call($us, 18, 0, 1, '');
    my $err = r_i16($c);
    die "sasl_front: upstream ApiVersions error $err\n" if $err;
    for (1 .. r_i32($c)) { my ($k, $min, $max) = (r_i16($c), r_i16($c), r_i16($c)); $api_range{$k} = [$min, $max] }
    $c = upstream_call($us, 3, 1, 2, pack('l>', 0));    # Metadata v1, no topics: brokers only
    for (1 .. r_i32($c)) {
        my ($id, $host, $port) = (r_i32($c), r_str($c), r_i32($c));
        r_str($c);                                      # rack
        push @brokers, {id => $id, host => $host, port => $port};
    }
    close $us;
}
die "sasl_front: upstream reported no brokers\n" unless @brokers;
# What the front advertises: the upstream's ranges, capped where the rewriting code stops, plus
# the SASL APIs and ApiVersions as the front itself serves them.
$api_range{3}[1] = 12 if $api_range{3} && $api_range{3}[1] > 12;    # Metadata
$api_range{10}[1] = 3 if $api_range{10} && $api_range{10}[1] > 3;   # FindCoordinator
@api_range{17, 18, 36} = ([0, 1], [0, 3], [0, 2]);
my @advertised = map { [$_, @{$api_range{$_}}] } sort { $a <=> $b } keys %api_range;

# ---- listeners --------------------------------------------------------------------------------
my (%node_port, %listener_node, @listeners);
for my $b (@brokers) {
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 32,
        ReuseAddr => 1) or die "sasl_front: listen: $!\n";
    $node_port{$b->{id}} = $l->sockport;
    $listener_node{fileno $l} = $b;
    push @listeners, $l;
    print "FRONT node=$b->{id} listen=127.0.0.1:", $l->sockport, " upstream=$b->{host}:$b->{port}\n";
}
print "BOOTSTRAP ", join(',', map { "127.0.0.1:$node_port{$_->{id}}" } @brokers), "\n";
logf("mechanisms=%s tls=%s lenient_nonce=%d hostile=%s session_lifetime_ms=%d users=%d",
    join(',', @mechs), $o{'no-tls'} ? 'off' : 'on', $o{'lenient-nonce'} ? 1 : 0,
    $o{hostile} || 'none', $o{'session-lifetime-ms'}, scalar keys %users);

my %kids;
my $deadline = time + $o{lifetime};
sub shutdown_all {
    my ($why) = @_;
    logf("%s: stopping %d connection(s)", $why, scalar keys %kids);
    kill 'TERM', keys %kids if %kids;
    kill 'TERM', $verifier_pid if $verifier_pid;
    exit 0;
}
$SIG{CHLD} = sub { while ((my $p = waitpid(-1, WNOHANG)) > 0) { delete $kids{$p} } };
$SIG{ALRM} = sub { shutdown_all('lifetime over') };
$SIG{TERM} = sub { shutdown_all('SIGTERM') };
$SIG{INT} = $SIG{TERM};
alarm $o{lifetime};
print "READY\n";

my $lsel = IO::Select->new(@listeners);
while (1) {
    for my $l ($lsel->can_read) {
        my $c = $l->accept or next;
        my $b = $listener_node{fileno $l};
        my $pid = fork;
        if (!defined $pid) { logf("fork: %s", $!); close $c; next }
        if ($pid == 0) {
            $SIG{$_} = 'DEFAULT' for qw(CHLD TERM INT);
            $SIG{ALRM} = sub { logf("lifetime over; closing connection"); exit 0 };
            alarm(int($deadline - time) + 1);
            close $_ for @listeners;
            my $ok = eval { connection($c, $b); 1 };
            logf("node %d: connection error: %s", $b->{id}, $@ =~ s/\s+$//r) unless $ok;
            exit 0;
        }
        $kids{$pid} = 1;
        close $c;
    }
}

# ---- one connection -----------------------------------------------------------------------------
sub write_all {
    my ($s, $data) = @_;
    while (length $data) {
        my $n = syswrite($s, $data);
        die "write failed: $!\n" unless defined $n && $n > 0;
        substr($data, 0, $n, '');
    }
}
sub take_frame {    # one size-prefixed frame off the front of a buffer, or undef
    my ($buf) = @_;
    return undef if length $$buf < 4;
    my $n = unpack 'l>', $$buf;
    die "frame size $n out of range\n" if $n < 0 || $n > 100 * 1024 * 1024;
    return undef if length $$buf < 4 + $n;
    my $f = substr($$buf, 4, $n);
    substr($$buf, 0, 4 + $n, '');
    $f;
}

sub connection {
    my ($c, $b) = @_;
    my $peer = $c->peerhost . ':' . $c->peerport;
    if (!$o{'no-tls'}) {
        my %v = $o{'client-ca'}
            ? (SSL_verify_mode => SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
               SSL_ca_file => $o{'client-ca'})
            : (SSL_verify_mode => SSL_VERIFY_NONE);
        IO::Socket::SSL->start_SSL($c, SSL_server => 1, SSL_cert_file => $o{cert},
            SSL_key_file => $o{key}, Timeout => 10, %v)
            or die "TLS handshake with $peer failed: $SSL_ERROR\n";
    }
    logf("node %d: connection from %s (%s)", $b->{id}, $peer, $o{'no-tls'} ? 'plaintext' : $c->get_sslversion);
    my $s = {c => $c, node => $b, in => '', queue => [], up => undef, upin => '',
        phase => 'init', auth_user => undef, expiry => 0};
    if ($o{'no-sasl'}) {
        $s->{phase} = 'authenticated';
        logf("node %d: authenticated by client certificate subject=%s", $b->{id},
            $c->peer_certificate('subject') // '?');
    }
    my $sel = IO::Select->new($c);
    while (1) {
        my @r = ($c->can('pending') && $c->pending) ? ($c) : $sel->can_read;
        for my $h (@r) {
            my $n = sysread($h, my $data, 65536);
            if (!defined $n) {
                next if $!{EAGAIN} || $!{EINTR} || ($h == $c && $SSL_ERROR == SSL_WANT_READ);
                die "read: $!\n";
            }
            if ($n == 0) {
                logf("node %d: %s closed the connection", $b->{id}, $h == $c ? 'client' : 'upstream');
                return;
            }
            if ($h == $c) {
                $s->{in} .= $data;
                while (defined(my $f = take_frame(\$s->{in}))) {
                    if (!client_frame($s, $f)) { flush($s); return }
                    if ($s->{up} && !$sel->exists($s->{up})) { $sel->add($s->{up}) }
                }
            } else {
                $s->{upin} .= $data;
                while (defined(my $f = take_frame(\$s->{upin}))) { upstream_frame($s, $f) }
            }
        }
        flush($s) or return;
    }
}

# flush writes queued responses in request order; false once one marked "close" is written.
sub flush {
    my ($s) = @_;
    while (@{$s->{queue}} && defined $s->{queue}[0]{resp}) {
        my $e = shift @{$s->{queue}};
        write_all($s->{c}, $e->{resp});
        return 0 if $e->{close};
    }
    1;
}
sub respond {    # queue a locally built response (header v0, or v1 when |flex|)
    my ($s, $corr, $body, $flex, $close) = @_;
    my $p = pack('l>', $corr) . ($flex ? "\0" : '') . $body;
    push @{$s->{queue}}, {corr => $corr, resp => pack('l>', length $p) . $p, close => $close};
}

# client_frame handles one frame from the client; false to close the connection (after
# flushing what is queued).
sub client_frame {
    my ($s, $f) = @_;
    if ($s->{phase} eq 'raw') {    # SaslHandshake v0: bare tokens, no Kafka header
        my ($err, $msg, $out, $done) = auth_step($s, $f);
        utf8::encode($out) if utf8::is_utf8($out);
        if ($err) { logf("node %d: raw SASL failed: %s", $s->{node}{id}, $msg); return 0 }
        push @{$s->{queue}}, {resp => pack('l>', length $out) . $out};
        $s->{phase} = $done ? 'authenticated' : 'raw';
        return 1;
    }
    my $c = [$f, 0];
    my ($key, $ver, $corr) = (r_i16($c), r_i16($c), r_i32($c));
    r_str($c);                                                  # client id
    r_tags_raw($c) if flexible($key, $ver);
    logf("node %d: request key=%d v=%d corr=%d", $s->{node}{id}, $key, $ver, $corr)
        if $ENV{KESM_FRONT_DEBUG};
    if ($key == 18) { api_versions($s, $ver, $corr); return 1 }
    if ($key == 17) { return sasl_handshake($s, $c, $ver, $corr) }
    if ($key == 36) { return sasl_authenticate($s, $c, $ver, $corr) }
    if ($s->{phase} ne 'authenticated') {
        logf("node %d: request key %d before authentication: closing", $s->{node}{id}, $key);
        return 0;
    }
    if ($s->{expiry} && time > $s->{expiry}) {
        logf("node %d: session expired (no re-authentication); closing on request key %d",
            $s->{node}{id}, $key);
        return 0;
    }
    if (!$s->{up}) {
        my $hp = "$s->{node}{host}:$s->{node}{port}";
        $s->{up} = IO::Socket::INET->new(PeerAddr => $hp, Timeout => 5)
            or die "cannot connect to upstream $hp: $!\n";
    }
    write_all($s->{up}, pack('l>', length $f) . $f);
    push @{$s->{queue}}, {corr => $corr, key => $key, ver => $ver, relayed => 1};
    1;
}

sub upstream_frame {
    my ($s, $f) = @_;
    my ($e) = grep { $_->{relayed} && !defined $_->{resp} } @{$s->{queue}};
    die "unsolicited upstream response\n" unless $e;
    my $corr = unpack 'l>', $f;
    die "upstream correlation id $corr, expected $e->{corr}\n" unless $corr == $e->{corr};
    if ($e->{key} == 3 || $e->{key} == 10) {
        my $c = [$f, 4];
        my $hdr = substr($f, 0, 4) . (flexible($e->{key}, $e->{ver}) ? r_tags_raw($c) : '');
        my $body = $e->{key} == 3 ? rewrite_metadata($e->{ver}, $c) : rewrite_coordinator($e->{ver}, $c);
        $f = $hdr . $body;
    }
    $e->{resp} = pack('l>', length $f) . $f;
}

# front_addr maps an upstream broker to its front listener; dies for a broker the front does
# not know, so a client can never be sent around the front.
sub front_addr {
    my ($id, $host, $port) = @_;
    return ($host, $port) if $id < 0;
    die "upstream advertises unknown broker $id at $host:$port\n" unless $node_port{$id};
    ($o{'advertise-host'}, $node_port{$id});
}

sub rewrite_metadata {
    my ($ver, $c) = @_;
    my $flex = $ver >= 9;
    my $out = $ver >= 3 ? pack('l>', r_i32($c)) : '';
    my $n = $flex ? r_uvarint($c) - 1 : r_i32($c);
    $out .= $flex ? w_uvarint($n + 1) : pack('l>', $n);
    for (1 .. $n) {
        my $id = r_i32($c);
        my $host = $flex ? r_cstr($c) : r_str($c);
        my $port = r_i32($c);
        my $rack = $ver >= 1 ? ($flex ? r_cstr($c) : r_str($c)) : undef;
        my $tags = $flex ? r_tags_raw($c) : '';
        my ($h, $p) = front_addr($id, $host, $port);
        $out .= pack('l>', $id) . ($flex ? w_cstr($h) : w_str($h)) . pack('l>', $p);
        $out .= ($flex ? w_cstr($rack) : w_str($rack)) if $ver >= 1;
        $out .= $tags;
    }
    $out . rest($c);
}

sub rewrite_coordinator {
    my ($ver, $c) = @_;
    my $flex = $ver >= 3;
    my $out = '';
    $out .= pack('l>', r_i32($c)) if $ver >= 1;                     # throttle
    $out .= pack('s>', r_i16($c));                                  # error code
    $out .= $flex ? w_cstr(r_cstr($c)) : w_str(r_str($c)) if $ver >= 1;    # error message
    my $id = r_i32($c);
    my $host = $flex ? r_cstr($c) : r_str($c);
    my $port = r_i32($c);
    my ($h, $p) = front_addr($id, $host, $port);
    $out .= pack('l>', $id) . ($flex ? w_cstr($h) : w_str($h)) . pack('l>', $p);
    $out . rest($c);
}

sub api_versions {
    my ($s, $ver, $corr) = @_;
    if ($ver > 3) {    # as Kafka does: UNSUPPORTED_VERSION in the v0 format, with our range
        respond($s, $corr, pack('s> l> s> s> s>', 35, 1, 18, 0, 3));
        return;
    }
    my $body;
    if ($ver >= 3) {
        $body = pack('s>', 0) . w_uvarint(@advertised + 1)
            . join('', map { pack('s> s> s>', @$_) . "\0" } @advertised) . pack('l>', 0) . "\0";
    } else {
        $body = pack('s> l>', 0, scalar @advertised) . join('', map { pack('s> s> s>', @$_) } @advertised);
        $body .= pack('l>', 0) if $ver >= 1;
    }
    respond($s, $corr, $body);
}

sub sasl_handshake {
    my ($s, $c, $ver, $corr) = @_;
    my $mech = r_str($c) // '';
    my $enabled = pack('l>', scalar @mechs) . join('', map { w_str($_) } @mechs);
    if (!grep { $_ eq $mech } @mechs) {
        logf("node %d: SaslHandshake for unsupported mechanism '%s'", $s->{node}{id}, $mech);
        respond($s, $corr, pack('s>', 33) . $enabled, 0, 1);    # UNSUPPORTED_SASL_MECHANISM
        return 1;
    }
    if ($s->{phase} eq 'authenticated' && ($ver == 0 || $mech ne $s->{mech})) {
        logf("node %d: re-authentication must use SaslHandshake v1 and mechanism %s",
            $s->{node}{id}, $s->{mech});
        respond($s, $corr, pack('s>', 34) . $enabled, 0, 1);    # ILLEGAL_SASL_STATE
        return 1;
    }
    $s->{mech} = $mech;
    $s->{step} = 0;
    $s->{oauth_failed} = undef;
    $s->{token_expiry} = 0;
    $s->{scram} = $mech =~ /^SCRAM-(SHA-\d+)$/ ? new_scram_server($1) : undef;
    $s->{reauth} = $s->{phase} eq 'authenticated';
    $s->{phase} = $ver == 0 ? 'raw' : 'handshaked' unless $s->{reauth};
    $s->{handshaked} = 1;
    logf("node %d: SaslHandshake v%d %s%s", $s->{node}{id}, $ver, $mech, $s->{reauth} ? ' (re-authentication)' : '');
    respond($s, $corr, pack('s>', 0) . $enabled);
    1;
}

sub new_scram_server {
    my ($digest) = @_;
    Authen::SCRAM::Server->new(digest => $digest,
        credential_cb => sub { my $c = $scram_cred{$digest}{$_[0]}; $c ? @$c : () });
}

sub sasl_authenticate {
    my ($s, $c, $ver, $corr) = @_;
    my $flex = $ver >= 2;
    my $bytes = $flex ? r_cstr($c) : r_bytes($c);
    my $resp = sub {
        my ($err, $msg, $out, $lifetime) = @_;
        my $b = pack('s>', $err) . ($flex ? w_cstr($msg) . w_cstr($out) : w_str($msg) . w_bytes($out));
        $b .= pack('q>', $lifetime) if $ver >= 1;
        $b .= "\0" if $flex;
        respond($s, $corr, $b, $flex, $err != 0);
    };
    if (!$s->{handshaked}) {
        logf("node %d: SaslAuthenticate before SaslHandshake", $s->{node}{id});
        $resp->(34, 'SaslAuthenticate before SaslHandshake', '', 0);
        return 1;
    }
    my ($err, $msg, $out, $done) = auth_step($s, $bytes // '');
    utf8::encode($out) if utf8::is_utf8($out);    # Authen::SCRAM returns character strings
    logf("node %d: SaslAuthenticate v%d: %d bytes in, error %d, %d bytes out%s", $s->{node}{id}, $ver,
        length($bytes // ''), $err, length $out, $done ? ', done' : '') if $ENV{KESM_FRONT_DEBUG};
    if ($err) {
        $resp->($err, $msg, '', 0);
        return 1;
    }
    my $lifetime = 0;
    if ($done) {
        $lifetime = $o{'session-lifetime-ms'};
        if ($s->{token_expiry}) {    # as Kafka: the smaller of the time to expiry and the maximum
            my $left = int(($s->{token_expiry} - time) * 1000);
            $left = 1 if $left < 1;
            $lifetime = $lifetime > 0 && $lifetime < $left ? $lifetime : $left;
        }
        $s->{expiry} = $lifetime > 0 ? time + $lifetime / 1000 : 0;
        $s->{phase} = 'authenticated';
        $s->{handshaked} = 0;
    }
    $resp->(0, undef, $out, $lifetime);
    1;
}

# auth_step runs one SASL step: returns (error code, message, output token, done).
sub auth_step {
    my ($s, $bytes) = @_;
    my $id = $s->{node}{id};
    my $mech = $s->{mech};
    my $failed = "Authentication failed during authentication due to invalid credentials with SASL mechanism $mech";
    my ($out, $user);
    if ($mech eq 'PLAIN') {
        my ($authz, $u, $p) = $bytes =~ /^([^\0]*)\0([^\0]+)\0([^\0]+)\z/s;
        if (!defined $u || ($authz ne '' && $authz ne $u) || !exists $users{$u} || $users{$u} ne $p) {
            logf("node %d: PLAIN authentication failed (%d bytes)", $id, length $bytes);
            return (58, 'Authentication failed: Invalid username or password', '', 0);
        }
        ($out, $user) = ('', $u);
    } elsif ($mech eq 'OAUTHBEARER') {
        my $step = $s->{step}++;
        if ($step == 0) {
            my ($ok, $why, $u, $exp) = oauth_check($bytes);
            if (!$ok) {
                logf("node %d: OAUTHBEARER token refused (%d bytes): %s", $id, length $bytes, $why);
                $s->{oauth_failed} = $why;
                return (0, undef, '{"status":"invalid_token","scope":"kafka-cluster"}', 0);
            }
            ($out, $user) = ('', $u);
            $s->{token_expiry} = $exp;
        } else {
            my $why = $s->{oauth_failed} // 'unexpected message';
            return (58, "Authentication failed during authentication due to invalid credentials "
                . "with SASL mechanism OAUTHBEARER: $why", '', 0);
        }
    } else {
        my $step = $s->{step}++;
        my $ok = eval {
            if ($step == 0) {
                $out = scram_first($s, $bytes);
            } elsif ($step == 1) {
                $out = scram_final($s, $bytes);
                $user = $s->{scram}->authorization_id;
            } else {
                die "unexpected SCRAM message after the exchange\n";
            }
            1;
        };
        if (!$ok) {
            (my $why = $@) =~ s/ at \S+ line \d+.*//s;
            logf("node %d: %s step %d failed: %s", $id, $mech, $step + 1, $why =~ s/\s+$//r);
            return (58, $failed, '', 0);
        }
        return (0, undef, $out, 0) if $step == 0;
        $out = hostile_final($out);
    }
    if ($s->{reauth} && defined $s->{auth_user} && $user ne $s->{auth_user}) {
        logf("node %d: re-authentication as '%s' after '%s' refused", $id, $user, $s->{auth_user});
        return (58, 'Cannot change principals during re-authentication', '', 0);
    }
    logf("node %d: %s %s user=%s%s", $id, $s->{reauth} ? 're-authenticated' : 'authenticated', $mech,
        $user, $o{hostile} && $mech ne 'PLAIN' ? " (hostile $o{hostile} answer sent)" : '');
    $s->{auth_user} = $user;
    (0, undef, $out, 1);
}

# oauth_check takes the client's first message apart (gs2 header, %x01-separated key=value pairs,
# auth=Bearer <token>) and asks the verifier. Returns (ok, why, principal, expiry).
sub oauth_check {
    my ($msg) = @_;
    my ($kvs) = $msg =~ /^n,(?:a=[^,]*)?,\x01(.*)\x01\x01\z/s
        or return (0, 'malformed client message (no gs2 header or kvpairs)');
    my ($token) = map { /^auth=Bearer ([-_~+\/.a-zA-Z0-9]+=*)\z/ ? $1 : () } split /\x01/, $kvs;
    return (0, 'no auth=Bearer token') unless defined $token;
    open(my $lk, '<', $verifier_lock) or return (0, "cannot open the verifier lock: $!");
    flock($lk, LOCK_EX) or return (0, "cannot lock: $!");
    print $verifier_in "$token\n";
    my $line = <$verifier_out> // '';
    close $lk;
    chomp $line;
    return (1, undef, $1, $2) if $line =~ /^OK (\S+) (\d+)$/;
    return (0, $line =~ /^FAIL (.*)$/ ? $1 : 'the verifier gave no answer');
}

sub scram_first {
    my ($s, $msg) = @_;
    my ($gs2, $bare) = $msg =~ /^([^,]*,[^,]*,)(.*)\z/s or die "client-first-message without a gs2 header\n";
    # Authen::SCRAM decodes only lower-case =2c/=3d in user names; RFC 5802 clients (kesm) send
    # upper case. Hand it a normalised copy, then restore the bytes the client actually sent,
    # which the AuthMessage must contain.
    (my $norm = $bare) =~ s/^(n=[^,]*)/my $n = $1; $n =~ s{=2C}{=2c}g; $n =~ s{=3D}{=3d}g; $n/e;
    my $first = $s->{scram}->first_msg($gs2 . $norm);
    $s->{scram}->_set_session(_c1b => $bare);
    if ($o{hostile} eq 'bad-nonce') {
        my $bogus = 'X' . encode_base64(join('', map { chr int rand 256 } 1 .. 24), '');
        $first =~ s/^r=[^,]*/r=$bogus/;
    } elsif ($o{hostile} =~ /^iterations=(\d+)$/) {
        my $n = $1;    # (inside s/// below, $1 would be the substitution's own, empty, group)
        $first =~ s/,i=\d+/,i=$n/;
    }
    $first;
}

sub scram_final {
    my ($s, $msg) = @_;
    if ($o{'lenient-nonce'} && $msg =~ /(?:^|,)r=([^,]+)/) {
        my ($got, $want) = ($1, $s->{scram}->_get_session('r'));
        if ($got ne $want && length $got > length $want && substr($got, -length $want) eq $want) {
            logf("node %d: lenient nonce: accepting a client-final nonce that only ends with ours",
                $s->{node}{id});
            $s->{scram}->_set_session(r => $got);
        }
    }
    $s->{scram}->final_msg($msg);
}

sub hostile_final {
    my ($out) = @_;
    if ($o{hostile} eq 'bad-signature' && $out =~ /^v=(.*)$/) {
        my $sig = decode_base64($1);
        substr($sig, 0, 1) = chr(ord(substr($sig, 0, 1)) ^ 0x55);
        return 'v=' . encode_base64($sig, '');
    }
    if ($o{hostile} =~ /^server-error(?:=(.*))?$/) {
        return 'e=' . ($1 // 'other-error');
    }
    $out;
}

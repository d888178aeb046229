#!/usr/bin/perl
# gen_sha512.pl - produce a SCRAM-SHA-512 exchange with an independent implementation
# (Perl Authen::SCRAM, Debian package libauthen-scram-perl), for tests/unit/test_scram.c.
#
# The client and server nonces are pinned so the output is reproducible; the client nonce must be
# the one the C test passes to scram_start. Output (stdout): one "label: value" line per item, in
# the order the C test reads them.
#
# usage: perl tests/golden/scram/gen_sha512.pl > tests/golden/scram/sha512_exchange.txt
use strict;
use warnings;
use Authen::SCRAM::Client;
use Authen::SCRAM::Server;

my ($user, $pass) = ('alice', 'alice-secret');
my ($salt, $iter) = ('fixed-test-salt!', 4096);
my ($cnonce, $snonce) = ('fyko+d2lbbFgONRv9qkxdawL', '3rfcNHYJY1ZVvWVs7j');

my $client = Authen::SCRAM::Client->new(digest => 'SHA-512', username => $user,
    password => $pass, _nonce_generator => sub { $cnonce });
my ($stored, undef, $server_key) = $client->computed_keys($salt, $iter);
my $server = Authen::SCRAM::Server->new(digest => 'SHA-512',
    credential_cb => sub { $_[0] eq $user ? ($salt, $stored, $server_key, $iter) : () },
    _nonce_generator => sub { $snonce });

my $c1 = $client->first_msg;
my $s1 = $server->first_msg($c1);
my $c2 = $client->final_msg($s1);
my $s2 = $server->final_msg($c2);
$client->validate($s2) or die "client did not validate the server signature\n";

print "user: $user\n";
print "password: $pass\n";
print "client-nonce: $cnonce\n";
print "client-first: $c1\n";
print "server-first: $s1\n";
print "client-final: $c2\n";
print "server-final: $s2\n";

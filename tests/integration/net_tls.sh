#!/usr/bin/env bash
# net_tls: net/ TLS and mTLS against stunnel (a TLS peer we did not write) in front of a kmock
# broker. The test makes its own throwaway PKI with the openssl CLI: a CA, a second unrelated CA,
# server certificates (good, wrong name, expired), and a client certificate with a plain and an
# encrypted key. Every failure case checks the error text and its class, not just the failure.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh

PROBE=${KESM_ASAN_TREE:-build/asan}/tools/net_probe
T=$TEST_TMP
STUNNEL_PID=
cleanup() {
    if [ -n "$STUNNEL_PID" ]; then
        kill "$STUNNEL_PID" 2>/dev/null
        wait "$STUNNEL_PID" 2>/dev/null
    fi
    kmock_stop >/dev/null 2>&1
}
at_exit cleanup
export KESM_LOG_LEVEL=info
KEY_PASSWORD='S3cret-pw-77'

if [ ! -x "$PROBE" ]; then
    tap_fail "net_probe is built" "$PROBE missing (make BUILD=build/asan SAN=1 unit-bins)"
    tap_done
fi

# ---- PKI --------------------------------------------------------------------------------------
pki() {
    local d=$T/pki
    mkdir -p "$d" && cd "$d" || return 1
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    for ca in ca other-ca; do
        openssl req -x509 "${ec[@]}" -days 2 -keyout $ca.key -out $ca.pem -subj "/CN=kesm $ca" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" || return 1
    done
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >server.ext
    printf 'subjectAltName=DNS:broker.example\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >wrongname.ext
    printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >client.ext
    for c in server wrongname expired client; do
        openssl req "${ec[@]}" -keyout $c.key -out $c.csr -subj "/CN=$c" || return 1
    done
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.pem || return 1
    openssl x509 -req -in wrongname.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile wrongname.ext -out wrongname.pem || return 1
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile client.ext -out client.pem || return 1
    # An expired certificate needs explicit dates: `openssl ca` can set them.
    : >index.txt
    echo 1000 >serial
    cat >ca.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
CNF
    openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
        -out expired.pem -startdate 20200101000000Z -enddate 20200102000000Z \
        -extfile server.ext -notext || return 1
    openssl pkey -in client.key -aes256 -passout "pass:$KEY_PASSWORD" -out client-enc.key ||
        return 1
    mkdir -p cadir && cp ca.pem cadir/ && openssl rehash cadir || return 1
    cd - >/dev/null
}
if ! pki >"$T/pki.log" 2>&1; then
    tap_fail "openssl CLI makes the test PKI" "$(tail -3 "$T/pki.log")"
    tap_done
fi
P=$T/pki

# ---- peers ------------------------------------------------------------------------------------
if ! kmock_start -b 1; then
    tap_fail "kmock starts"
    tap_done
fi
BACKEND=$(echo "$KMOCK_BOOTSTRAP" | cut -d, -f1)
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
OK_PORT=$(free_port)
WRONG_PORT=$(free_port)
EXPIRED_PORT=$(free_port)
MTLS_PORT=$(free_port)
TLS12_PORT=$(free_port)
MTLS12_PORT=$(free_port)
cat >"$T/stunnel.conf" <<CONF
foreground = quiet
pid =
output = $T/stunnel.log
debug = info
[ok]
accept = 127.0.0.1:$OK_PORT
connect = $BACKEND
cert = $P/server.pem
key = $P/server.key
[wrongname]
accept = 127.0.0.1:$WRONG_PORT
connect = $BACKEND
cert = $P/wrongname.pem
key = $P/wrongname.key
[expired]
accept = 127.0.0.1:$EXPIRED_PORT
connect = $BACKEND
cert = $P/expired.pem
key = $P/expired.key
[mtls]
accept = 127.0.0.1:$MTLS_PORT
connect = $BACKEND
cert = $P/server.pem
key = $P/server.key
CAfile = $P/ca.pem
verifyChain = yes
requireCert = yes
[tls12]
accept = 127.0.0.1:$TLS12_PORT
connect = $BACKEND
cert = $P/server.pem
key = $P/server.key
sslVersionMax = TLSv1.2
[mtls12]
accept = 127.0.0.1:$MTLS12_PORT
connect = $BACKEND
cert = $P/server.pem
key = $P/server.key
CAfile = $P/ca.pem
verifyChain = yes
requireCert = yes
sslVersionMax = TLSv1.2
CONF
timeout 300 stunnel4 "$T/stunnel.conf" >"$T/stunnel.out" 2>&1 &
STUNNEL_PID=$!
port_open() {
    /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1).close()"
}
if ! wait_until 10 port_open "$MTLS12_PORT"; then
    tap_fail "stunnel starts" "$(tail -5 "$T/stunnel.log" "$T/stunnel.out" 2>/dev/null)"
    tap_done
fi

# ---- cases ------------------------------------------------------------------------------------
# probe NAME HOST PORT ARGS...: run the probe; output in $T/NAME.out / .err, exit in RC.
probe() {
    local name=$1 host=$2 port=$3
    shift 3
    with_timeout 30 "$PROBE" "$host" "$port" lifetime-ms=10000 "$@" \
        >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
}
clean() {
    ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$T/$1.err"
}
# expect_ok NAME DESC: the probe got READY and a parsed Metadata answer through TLS.
expect_ok() {
    tap_check "$2" test "$RC" = 0 -a -n "$(grep '^response 1 ok metadata' "$T/$1.out")" ||
        sed 's/^/#   | /' "$T/$1.out" | tail -5
    tap_check "$2: ASan/LSan clean" clean "$1"
}
# expect_fail NAME DESC TEXT: the first failure carries TEXT (fixed string).
expect_fail() {
    tap_check "$2" grep -qF -- "$3" "$T/$1.out" || sed 's/^/#   | /' "$T/$1.out" | tail -5
    tap_check "$2: ASan/LSan clean" clean "$1"
}

probe ca_file localhost "$OK_PORT" ca="$P/ca.pem"
expect_ok ca_file "verified by CA file (name localhost: SNI + hostname check)"
probe ca_ip 127.0.0.1 "$OK_PORT" ca="$P/ca.pem"
expect_ok ca_ip "verified by CA file (IP literal: IP SAN check)"
probe ca_dir localhost "$OK_PORT" ca-dir="$P/cadir"
expect_ok ca_dir "verified by CA directory"

probe unknown_ca localhost "$OK_PORT" ca="$P/other-ca.pem" expect-fail
expect_fail unknown_ca "unknown CA refused" \
    "err=tls authn=1 tls=unknown CA msg=TLS: unknown CA: the broker's certificate is not signed by a trusted CA (unable to get local issuer certificate)"

probe wrong_ip 127.0.0.1 "$WRONG_PORT" ca="$P/ca.pem" expect-fail
expect_fail wrong_ip "wrong name refused (IP literal)" \
    "err=tls authn=1 tls=hostname mismatch msg=TLS: hostname mismatch: the broker's certificate does not name \"127.0.0.1\""
probe wrong_name localhost "$WRONG_PORT" ca="$P/ca.pem" expect-fail
expect_fail wrong_name "wrong name refused (DNS name)" \
    "err=tls authn=1 tls=hostname mismatch msg=TLS: hostname mismatch: the broker's certificate does not name \"localhost\""

probe expired localhost "$EXPIRED_PORT" ca="$P/ca.pem" expect-fail
expect_fail expired "expired certificate refused" \
    "err=tls authn=1 tls=certificate expired msg=TLS: certificate expired: the broker's certificate has expired"

probe insecure localhost "$EXPIRED_PORT" insecure
expect_ok insecure "verification off: connects to the expired certificate"
tap_check "verification off: warned on connect" \
    grep -q 'WARN net localhost: TLS certificate verification is OFF' "$T/insecure.err"

probe mtls_none localhost "$MTLS_PORT" ca="$P/ca.pem" expect-fail
expect_fail mtls_none "mTLS server without a client certificate refused" \
    "err=tls authn=1 tls=client certificate required msg=TLS: client certificate required: the broker"
tap_check "mTLS server without a client certificate: says none is configured" \
    grep -qF "none is configured" "$T/mtls_none.out"

probe mtls_ok localhost "$MTLS_PORT" ca="$P/ca.pem" cert="$P/client.pem" key="$P/client.key"
expect_ok mtls_ok "mTLS with a client certificate"

# TLS 1.2: the server refuses a missing client certificate inside the handshake (an alert),
# where TLS 1.3 does it after.
KESM_LOG_LEVEL=debug probe tls12 localhost "$TLS12_PORT" ca="$P/ca.pem"
expect_ok tls12 "TLS 1.2 server verified"
tap_check "TLS 1.2 server: TLS 1.2 was negotiated" grep -q 'DEBUG net TLS with localhost:[0-9]*: TLSv1.2 ' "$T/tls12.err"
probe mtls12_none localhost "$MTLS12_PORT" ca="$P/ca.pem" expect-fail
expect_fail mtls12_none "TLS 1.2 mTLS server without a client certificate refused" \
    "err=tls authn=1 tls=client certificate required msg=TLS: client certificate required: the broker refused the handshake and no client certificate is configured"
probe mtls12_ok localhost "$MTLS12_PORT" ca="$P/ca.pem" cert="$P/client.pem" key="$P/client.key"
expect_ok mtls12_ok "TLS 1.2 mTLS with a client certificate"

export NET_PROBE_KEY_PASSWORD=$KEY_PASSWORD
probe mtls_enc localhost "$MTLS_PORT" ca="$P/ca.pem" cert="$P/client.pem" \
    key="$P/client-enc.key" key-pass-env=NET_PROBE_KEY_PASSWORD
expect_ok mtls_enc "mTLS with an encrypted key and the right password"

export NET_PROBE_KEY_PASSWORD=wrong-password
probe mtls_badpw localhost "$MTLS_PORT" ca="$P/ca.pem" cert="$P/client.pem" \
    key="$P/client-enc.key" key-pass-env=NET_PROBE_KEY_PASSWORD
expect_fail mtls_badpw "encrypted key with a wrong password refused" \
    "tls-config-error client key $P/client-enc.key: cannot decrypt it (wrong password?)"
unset NET_PROBE_KEY_PASSWORD
probe mtls_nopw localhost "$MTLS_PORT" ca="$P/ca.pem" cert="$P/client.pem" key="$P/client-enc.key"
expect_fail mtls_nopw "encrypted key without a password refused" \
    "tls-config-error client key $P/client-enc.key: it is encrypted and no password was given"

no_secret() {
    ! grep -rqF -e "$KEY_PASSWORD" -e wrong-password "$T"/*.out "$T"/*.err
}
tap_check "the key password never reaches the output or the log" no_secret

kill "$STUNNEL_PID" 2>/dev/null
wait "$STUNNEL_PID" 2>/dev/null
STUNNEL_PID=
kmock_stop >/dev/null
tap_done

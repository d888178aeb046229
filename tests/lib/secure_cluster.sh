# tests/lib/secure_cluster.sh: sourced by bash integration tests. A secured test cluster: kmock
# (plaintext, tests/lib/kmock.sh) behind tests/broker/sasl_front.pl (TLS + SASL, one front
# listener per broker, Metadata/FindCoordinator rewritten to the front).
#
#   . tests/lib/kmock.sh
#   . tests/lib/secure_cluster.sh
#   trap 'secure_cluster_stop' EXIT
#   secure_cluster_start -b 3 -t orders:4 || exit 1     # kmock args; starts a lenient front
#   kmock_cmd produce orders 100
#   kcat -b "$SECURE_BOOTSTRAP" -X security.protocol=SASL_SSL -X ssl.ca.location="$SECURE_CA" ...
#   secure_front_restart --hostile bad-signature           # a new front with other switches
#   secure_cluster_stop
#
# secure_cluster_start makes a throwaway PKI in $SECURE_DIR with the openssl CLI: ca.pem, a server
# certificate server.pem/server.key (SAN DNS:localhost, IP:127.0.0.1) and a client certificate
# client.pem/client.key (for mTLS: pass --client-ca "$SECURE_CA" to the front). Credentials go to
# $SECURE_DIR/users (mode 600), never to argv: by default alice:alice-secret and bob:bob-secret,
# or the lines of $SECURE_USERS.
#
# Variables set: SECURE_DIR, SECURE_CA, SECURE_BOOTSTRAP (front listeners, comma-separated),
# SECURE_FRONT_PORTS (space-separated), SECURE_FRONT_PID, SECURE_FRONT_LOG (front stderr; its
# stdout is $SECURE_DIR/front.out). SECURE_FRONT_ARGS (default --lenient-nonce, which Debian's
# kcat needs) are the front's switches when secure_cluster_start starts it; SECURE_LIFETIME
# (default 300 s) bounds the front's life.

SECURE_ROOT=${SECURE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SECURE_DIR=
SECURE_CA=
SECURE_BOOTSTRAP=
SECURE_FRONT_PORTS=
SECURE_FRONT_PID=
SECURE_FRONT_LOG=
SECURE_LIFETIME=${SECURE_LIFETIME:-${LIFETIME:-300}}

# secure_pki DIR: CA, server and client certificates (EC P-256, valid 1 day) in DIR.
secure_pki() {
    local d=$1
    (
        set -e
        cd "$d"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
            -keyout ca.key -out ca.pem -subj "/CN=kesm throwaway test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
            -out server.csr -subj "/CN=localhost" 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
            -extfile server.ext -out server.pem 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key \
            -out client.csr -subj "/CN=kesm-test-client" 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
            -extfile client.ext -out client.pem 2>/dev/null
        rm -f server.csr client.csr server.ext client.ext
        openssl verify -CAfile ca.pem server.pem client.pem >/dev/null
    )
}

# secure_front_start [FRONT ARGS...]: start sasl_front.pl in front of $KMOCK_BOOTSTRAP and wait
# (<= 30 s) for READY.
secure_front_start() {
    if [ -n "$SECURE_FRONT_PID" ]; then
        echo "secure_front_start: a front is already running (pid $SECURE_FRONT_PID)" >&2
        return 1
    fi
    local n=$(($(ls "$SECURE_DIR"/front*.out 2>/dev/null | wc -l) + 1))
    local out=$SECURE_DIR/front$n.out
    SECURE_FRONT_LOG=$SECURE_DIR/front$n.err
    perl "$SECURE_ROOT/tests/broker/sasl_front.pl" --upstream "$KMOCK_BOOTSTRAP" \
        --cert "$SECURE_DIR/server.pem" --key "$SECURE_DIR/server.key" \
        --users-file "$SECURE_DIR/users" --lifetime "$SECURE_LIFETIME" "$@" \
        >"$out" 2>"$SECURE_FRONT_LOG" &
    SECURE_FRONT_PID=$!
    local deadline=$((SECONDS + 30))
    while ! grep -q '^READY' "$out" 2>/dev/null; do
        if ! kill -0 "$SECURE_FRONT_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            echo "secure_front_start: front did not become ready; stderr:" >&2
            tail -5 "$SECURE_FRONT_LOG" >&2
            secure_front_stop
            return 1
        fi
        sleep 0.05
    done
    SECURE_BOOTSTRAP=$(awk '/^BOOTSTRAP /{print $2}' "$out")
    SECURE_FRONT_PORTS=$(sed -n 's/^FRONT .* listen=[^:]*:\([0-9]*\) .*/\1/p' "$out" | tr '\n' ' ')
    export SECURE_BOOTSTRAP SECURE_CA
    return 0
}

# secure_front_stop: stop the front (TERM; it stops its connection processes), by PID.
secure_front_stop() {
    if [ -n "$SECURE_FRONT_PID" ]; then
        kill -TERM "$SECURE_FRONT_PID" 2>/dev/null
        local i
        for i in $(seq 50); do
            kill -0 "$SECURE_FRONT_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SECURE_FRONT_PID" 2>/dev/null
        wait "$SECURE_FRONT_PID" 2>/dev/null
        SECURE_FRONT_PID=
    fi
    return 0
}

# secure_front_restart [FRONT ARGS...]: replace the running front by one with other switches.
secure_front_restart() {
    secure_front_stop
    secure_front_start "$@"
}

# secure_cluster_start [KMOCK ARGS...]: PKI, credentials, kmock, front.
secure_cluster_start() {
    SECURE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kesm-secure.XXXXXX") || return 1
    SECURE_CA=$SECURE_DIR/ca.pem
    if ! secure_pki "$SECURE_DIR"; then
        echo "secure_cluster_start: certificate generation failed" >&2
        return 1
    fi
    (
        umask 077
        if [ -n "${SECURE_USERS:-}" ]; then
            printf '%s\n' "$SECURE_USERS" >"$SECURE_DIR/users"
        else
            printf 'alice:alice-secret\nbob:bob-secret\n' >"$SECURE_DIR/users"
        fi
    )
    KMOCK_DIR=$SECURE_DIR/kmock
    kmock_start "$@" || return 1
    # shellcheck disable=SC2086
    secure_front_start ${SECURE_FRONT_ARGS---lenient-nonce}
}

# secure_cluster_stop: stop the front and kmock, remove the scratch directory (kept when
# SECURE_KEEP is set). Safe to call twice.
secure_cluster_stop() {
    secure_front_stop
    kmock_stop
    if [ -n "$SECURE_DIR" ] && [ -z "${SECURE_KEEP:-}" ]; then
        rm -rf "$SECURE_DIR"
    fi
    SECURE_DIR=
    return 0
}

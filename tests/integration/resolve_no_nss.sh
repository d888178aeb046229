#!/usr/bin/env bash
# resolve_no_nss: broker names are resolved by evdns (net/reactor), never by glibc's NSS, so the
# static release binary needs no libnss_*.so at run time. tests/tools/net_probe connects to a
# kmock broker by the name `localhost` under strace, which must show /etc/hosts read (evdns's
# hosts file: the control that strace saw the resolution at all) and no nsswitch.conf, host.conf,
# gai.conf or libnss_* opened, and no packet or connection to a non-loopback address (no DNS
# query leaves the machine for a name in /etc/hosts).
#
# Then the same for `kesm run` ($KESM_BIN, default build/kesm) with every bootstrap broker named
# localhost, delivering records through the stdout transport.
#
# The probe comes from $KESM_ASAN_TREE/tools (default build/asan). `make test-static` points that
# at build/static, whose binaries are fully static; then this test also checks that net_probe and
# $KESM_BIN (build/kesm-static) are static executables.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh

PROBE=${KESM_ASAN_TREE:-build/asan}/tools/net_probe
T=$TEST_TMP
cleanup() {
    kmock_stop >/dev/null 2>&1
}
at_exit cleanup

if [ ! -x "$PROBE" ]; then
    tap_fail "net_probe is built" "$PROBE missing (make BUILD=build/asan SAN=1 unit-bins)"
    tap_done
fi
if ! command -v strace >/dev/null; then
    tap_fail "strace is installed" "scripts/setup installs it"
    tap_done
fi

# is_static FILE: an ELF executable without a program interpreter that ldd calls "not a dynamic
# executable" (ldd says that of a shell script too, hence the ELF checks).
is_static() {
    local hdr
    hdr=$(readelf -lW "$1" 2>/dev/null) || return 1
    printf '%s\n' "$hdr" | grep -q '^Elf file type is EXEC' || return 1
    ! printf '%s\n' "$hdr" | grep -q 'INTERP' || return 1
    ldd "$1" 2>&1 | grep -q 'not a dynamic executable'
}

if is_static "$PROBE"; then
    tap_ok "net_probe ($PROBE) is a static executable"
    if [ -n "${KESM_BIN:-}" ]; then
        tap_check "KESM_BIN ($KESM_BIN) is a static executable" is_static "$KESM_BIN"
    fi
fi

kmock_start -b 1 -t nss:1 || {
    tap_fail "kmock starts"
    tap_done
}
port=${KMOCK_BOOTSTRAP##*:}

# -f: follow any thread; only the calls that open files or reach the network. LeakSanitizer
# cannot run under ptrace, so the ASan probe runs without it here (other tests check leaks).
ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" timeout --kill-after=5 30 strace -f -qq -e trace=open,openat,connect,sendto,sendmsg \
    -o "$T/strace.txt" "$PROBE" localhost "$port" requests=1 lifetime-ms=15000 \
    >"$T/probe.out" 2>"$T/probe.err"
rc=$?
tap_check "net_probe reaches READY and gets Metadata from localhost:$port (exit $rc)" \
    grep -q '^done answers=1 ok=1' "$T/probe.out"
tap_check "the resolution of localhost went through the hosts file (strace saw it)" \
    grep -qE 'open(at)?\(.*"/etc/hosts"' "$T/strace.txt"

nss=$(grep -E 'nsswitch\.conf|libnss_|/etc/host\.conf|/etc/gai\.conf' "$T/strace.txt")
if [ -z "$nss" ]; then
    tap_ok "no NSS file or library is opened (nsswitch.conf, libnss_*, host.conf, gai.conf)"
else
    tap_fail "no NSS file or library is opened" "$nss"
fi

# Addresses in connect/sendto/sendmsg: every inet_addr/inet_pton literal must be loopback.
offbox=$(grep -E '^[0-9]+ +(connect|sendto|sendmsg)\(' "$T/strace.txt" |
    grep -oE 'inet_(addr|pton)\((AF_INET6, )?"[^"]*"' | grep -oE '"[^"]*"' | tr -d '"' |
    grep -vE '^(127\.|::1$|::ffff:127\.)')
if [ -z "$offbox" ]; then
    tap_ok "every connection and datagram goes to loopback"
else
    tap_fail "every connection and datagram goes to loopback" "off-box: $offbox"
fi
tap_check "the broker connection was made to 127.0.0.1:$port" \
    grep -qE "connect\(.*htons\($port\).*\"127\.0\.0\.1\"" "$T/strace.txt"

# The same for kesm itself: `kesm run` (stdout transport) with every broker named localhost
# (an ASan kesm without LeakSanitizer here too).
if [ -x "$KESM" ]; then
    kmock_cmd produce nss 5 >/dev/null
    bs=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/127\.0\.0\.1:/localhost:/g; s/,/","/g')
    cat >"$T/map.json" <<JSON
{"FunctionName": "nss", "Topics": ["nss"], "StartingPosition": "TRIM_HORIZON",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$bs"]}},
 "BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "Kesm": {"Transport": "stdout"}}
JSON
    KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500 \
        ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" timeout --kill-after=5 60 strace -f -qq -e trace=open,openat,connect,sendto,sendmsg \
        -o "$T/kesm.strace" "$KESM" run --no-status --config "$T/map.json" \
        >"$T/kesm.out" 2>"$T/kesm.err" &
    spid=$!
    delivered() {
        [ "$(grep -o '"offset":' "$T/kesm.out" | wc -l)" -ge 5 ]
    }
    wait_until 40 delivered
    tap_check "kesm run (bootstrap localhost:PORT) delivers the 5 records" delivered
    kpid=$(pgrep -P "$(pgrep -P "$spid" strace | head -1)" 2>/dev/null | head -1)
    [ -n "$kpid" ] && kill -INT "$kpid" 2>/dev/null
    wait "$spid" 2>/dev/null
    tap_check "kesm read the hosts file to resolve localhost" \
        grep -qE 'open(at)?\(.*"/etc/hosts"' "$T/kesm.strace"
    nss=$(grep -E 'nsswitch\.conf|libnss_|/etc/host\.conf|/etc/gai\.conf' "$T/kesm.strace")
    if [ -z "$nss" ]; then
        tap_ok "kesm opens no NSS file or library"
    else
        tap_fail "kesm opens no NSS file or library" "$nss"
    fi
    offbox=$(grep -E '^[0-9]+ +(connect|sendto|sendmsg)\(' "$T/kesm.strace" |
        grep -oE 'inet_(addr|pton)\((AF_INET6, )?"[^"]*"' | grep -oE '"[^"]*"' | tr -d '"' |
        grep -vE '^(127\.|::1$|::ffff:127\.)')
    if [ -z "$offbox" ]; then
        tap_ok "kesm: every connection and datagram goes to loopback"
    else
        tap_fail "kesm: every connection and datagram goes to loopback" "off-box: $offbox"
    fi
fi

kmock_stop >/dev/null
tap_done

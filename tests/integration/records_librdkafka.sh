#!/usr/bin/env bash
# records_librdkafka: record batches written by kesm's batch builder (proto/batch_builder.c)
# are accepted by librdkafka. tests/tools/records_produce (ASan build) sends one batch per codec
# (none, gzip, raw snappy, xerial snappy, lz4, zstd) to kmock with a Produce v3 request; kcat
# (librdkafka 2.0.2) reads each back with CRC checks on and must print exactly the records,
# keys (including null ones), values, headers and CreateTime timestamps that were written.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh

TOOL=${KESM_ASAN_TREE:-build/asan}/tools/records_produce
T=$TEST_TMP
cleanup() {
    kmock_stop >/dev/null 2>&1
}
at_exit cleanup

if [ ! -x "$TOOL" ]; then
    tap_fail "records_produce is built" "$TOOL missing (make BUILD=build/asan SAN=1 unit-bins)"
    tap_done
fi
if ! command -v kcat >/dev/null; then
    tap_fail "kcat is installed" "apt-get install kcat (scripts/setup)"
    tap_done
fi
CODECS="none gzip snappy snappy-xerial lz4 zstd"
TOPICS=()
for c in $CODECS; do TOPICS+=(-t "rb_$c:1"); done
if ! kmock_start -b 1 "${TOPICS[@]}"; then
    tap_fail "kmock starts" "make build/kmock"
    tap_done
fi
COUNT=23
for c in $CODECS; do
    if ! timeout 30 "$TOOL" "$KMOCK_BOOTSTRAP" "rb_$c" 0 "$c" "$COUNT" >"$T/$c.want" 2>"$T/$c.err"; then
        tap_fail "kmock accepts a $c batch from the batch builder" "$(tail -5 "$T/$c.err")"
        continue
    fi
    tap_ok "kmock accepts a $c batch from the batch builder"
    timeout 30 kcat -b "$KMOCK_BOOTSTRAP" -C -t "rb_$c" -p 0 -o 0 -c "$COUNT" -e -q \
        -X check.crcs=true -f '%o\t%k\t%s\t%h\t%T\n' >"$T/$c.got" 2>"$T/$c.kcat"
    if cmp -s "$T/$c.want" "$T/$c.got"; then
        tap_ok "kcat (librdkafka, check.crcs=true) reads back the $c batch exactly"
    else
        tap_fail "kcat (librdkafka, check.crcs=true) reads back the $c batch exactly" \
            "$(diff "$T/$c.want" "$T/$c.got" | head -6)" "$(tail -3 "$T/$c.kcat")"
    fi
done
kmock_stop >/dev/null 2>&1
tap_done

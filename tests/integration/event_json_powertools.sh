#!/usr/bin/env bash
# event_json_powertools.sh: kesm's Lambda Kafka event JSON (invoke/event_json and the batcher,
# via build/event_gen) validated by an independent consumer, @aws-lambda-powertools/parser + zod
# from npm (installed on demand into tests/node/node_modules from tests/node/package-lock.json).
# Prints TAP lines; exits non-zero on any failure.
. "$(dirname "$0")/../lib/prelude.sh"
TMP=$TEST_TMP
fails=0
ok() { echo "ok - $1"; }
notok() {
    echo "not ok - $1"
    fails=$((fails + 1))
}
check() { # check DESCRIPTION COMMAND...
    local d=$1
    shift
    if "$@"; then ok "$d"; else notok "$d"; fi
}

. tests/lib/node.sh
if ! node_deps "$TMP/npm.log" @aws-lambda-powertools/parser zod; then
    notok "npm ci in tests/node"
    tail -20 "$TMP/npm.log" | sed 's/^/# /'
    exit 1
fi
ok "powertools parser $(node -p 'require("./tests/node/node_modules/@aws-lambda-powertools/parser/package.json").version') and zod $(node -p 'require("./tests/node/node_modules/zod/package.json").version') installed"

if ! make -s build/event_gen >"$TMP/make.log" 2>&1; then
    notok "build/event_gen builds"
    tail -20 "$TMP/make.log" | sed 's/^/# /'
    exit 1
fi
check "event_gen writes the sample events" build/event_gen "$TMP"

V() { node tests/node/validate.mjs "$@"; }
has() { grep -qF -- "$2" "$1"; }

V "$TMP/selfmanaged.json" selfmanaged >"$TMP/sm.out"
check "self-managed event (keys, null key, empty key/value, signed header bytes, 2 partitions) accepted" has "$TMP/sm.out" '"ok":true'
check "key decodes to customer-42 and value to the JSON document" has "$TMP/sm.out" '"keyText":"customer-42","valueText":"{\"orderId\":\"A-1001\",\"qty\":2}"'
check "null key: member absent (decoded key undefined)" has "$TMP/sm.out" '"offset":4712,"keyText":null,"valueText":"ping"'
check "empty key and value: empty strings" has "$TMP/sm.out" '"offset":4713,"keyText":"","valueText":""'
check "negative header bytes decode to UTF-8 fr-é" has "$TMP/sm.out" '{"lang":"fr-é"}'
check "header bytes 0x00 0x7f 0x80 0xff 0x01 0xfe round-trip" has "$TMP/sm.out" '{"raw":"007f80ff01fe"}'
check "duplicate header names kept in order, null and empty header values are []" \
    has "$TMP/sm.out" '"headers":[{"trace-id":"abc123"},{"lang":"fr-é"},{"raw":"'
check "second duplicate header and null/empty headers" has "$TMP/sm.out" '{"trace-id":"dup"},{"empty":""},{"nullh":""}]'
check "second partition orders-3 present" has "$TMP/sm.out" '"key":"orders-3","offset":90'
check "bootstrapServers split by the schema" has "$TMP/sm.out" '"servers":["kafka-1.internal:9092","kafka-2.internal:9092"]'

V "$TMP/selfmanaged_ascii.json" selfmanaged strict >"$TMP/strict.out"
check "unmodified Powertools schema accepts an event with ASCII headers" has "$TMP/strict.out" '"ok":true'

V "$TMP/msk.json" msk >"$TMP/msk.out"
check "MSK event (aws:kafka + eventSourceArn) accepted by the MSK schema" has "$TMP/msk.out" '"ok":true'
V "$TMP/msk.json" selfmanaged >"$TMP/msk2.out"
check "MSK event rejected by the self-managed schema (the check can fail)" has "$TMP/msk2.out" '"ok":false'

V "$TMP/broken_null_value.json" selfmanaged >"$TMP/broken.out"
check "deliberately broken event (value:null) rejected" has "$TMP/broken.out" 'value: Invalid input: expected string, received null'

total=0
nb=0
for f in "$TMP"/batch_*.json; do
    nb=$((nb + 1))
    if V "$f" selfmanaged >"$TMP/b.out"; then
        n=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.records.length)' "$TMP/b.out")
        total=$((total + n))
    else
        notok "batcher payload $(basename "$f") accepted"
        sed 's/^/# /' "$TMP/b.out"
    fi
done
check "batcher payloads: $nb files, all 150 records accepted" test "$nb" -ge 4 -a "$total" = 150

# Information only: Powertools' own header transform (String.fromCodePoint) throws on the negative
# byte values Lambda sends; kesm keeps Lambda's signed encoding.
if V "$TMP/selfmanaged.json" selfmanaged strict >"$TMP/strict2.out"; then
    echo "# note: unmodified Powertools schema now accepts negative header bytes"
else
    echo "# note: unmodified Powertools schema: $(cat "$TMP/strict2.out")"
fi

[ "$fails" = 0 ]

#!/usr/bin/env bash
# status_page.sh: kesm serve's status page in a real browser, its JSON, and `kesm status`.
#
# kesm serve (--stuck-after 3, and a status listener of its own) runs on kmock:
#   healthy  topic orders (2 partitions), an exec function that succeeds;
#   failing  topic payments, an exec function that always fails, printing an error body that
#            carries an HTML/script injection attempt;
#   sasl     topic orders, BASIC_AUTH with a password from a file:// secret (SASL over plaintext:
#            kmock speaks no SASL, so it is stopped with a reason).
# Checked:
#   - GET /status.json: the healthy mapping OK with lag 0, the failing one stuck (its partition
#     named, cause "function failing"), the SASL one stopped; lags equal /metrics' kesm_offset_lag
#     and kesm_partition_stuck agrees;
#   - Debian's chromium (headless, playwright-core from npm, no browser download) at 1280 and 390
#     pixels: one row per mapping with its marker (OK / STUCK / STOPPED), the lags of /metrics, the
#     partition rows, charts with accessible names, tables with captions, no horizontal scrolling on
#     the phone, the injected markup shown as text (no <img> in the DOM), no request outside the
#     server, no CSP violation, no console error; screenshots saved in build/test-artifacts/;
#   - the SASL password appears nowhere: not in /status.json, the page, its script, /metrics,
#     `kesm status -v` or the page as the browser rendered it;
#   - it is not a way in: Host headers naming anything but the listener's address are refused
#     (DNS rebinding), so are cross-origin requests and POST; the security headers are sent and no
#     CORS header; the status listener serves the page and nothing of the API;
#   - `kesm status`: one line per mapping, -v one per partition, exit 1 (a partition is stuck),
#     3 when the server cannot be reached or answers something else, 2 on a usage error.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/node.sh
T=$TEST_TMP
ART=$ROOT/build/test-artifacts
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    kmock_stop
}
at_exit cleanup

for need in "$KESM" /usr/bin/jq /usr/bin/curl /usr/bin/chromium; do
    if [ ! -x "$need" ]; then
        echo "not ok - $need is missing (scripts/setup installs it)"
        exit 1
    fi
done
if ! node_deps "$T/npm.log" playwright-core; then
    echo "not ok - npm ci in tests/node (playwright-core)"
    tail -20 "$T/npm.log" | sed 's/^/# /'
    exit 1
fi
tap_ok "playwright-core $(node -p 'require("./tests/node/node_modules/playwright-core/package.json").version') and $(/usr/bin/chromium --version 2>/dev/null | head -1)"

kmock_start -b 1 -t orders:2 -t payments:1 || {
    echo "not ok - kmock did not start"
    exit 1
}
kmock_cmd produce orders 40 >/dev/null && kmock_cmd produce payments 6 >/dev/null ||
    tap_fail "produce the records"

PASSWORD="kesm-status-page-Secret-$$-$RANDOM"
printf '{"username":"alice","password":"%s"}' "$PASSWORD" >"$T/sasl.json"
chmod 600 "$T/sasl.json"
cat >"$T/ok.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
EOF
cat >"$T/bad.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
echo '{"errorType":"Boom","errorMessage":"<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>"}'
exit 1
EOF
chmod +x "$T/ok.sh" "$T/bad.sh"

export KESM_SESSION_TIMEOUT_MS=10000 KESM_HEARTBEAT_INTERVAL_MS=500 KESM_COMMIT_INTERVAL_MS=500
# API requests are signed (tests/lib/api.sh); the flags let them name the handlers and send the
# file:// SASL secret over plaintext to kmock. The status page needs no signature.
. tests/lib/api.sh
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE
timeout --foreground --kill-after=20 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 \
    --status-listen 127.0.0.1:0 --state-dir "$T/state" --stuck-after 3 --drain-timeout 5000 \
    --allow-api-exec --allow-api-file-secrets --allow-api-plaintext-sasl \
    >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
port_of() { sed -n "s|^kesm serve: $1 http://127\.0\.0\.1:\([0-9]*\)[ /].*|\1|p" "$T/serve.out" | grep .; }
tap_check "kesm serve starts" wait_until 10 port_of "status page on"
PORT=$(port_of "listening on")
SPORT=$(port_of "status page on")
BASE=http://127.0.0.1:$PORT
SBASE=http://127.0.0.1:$SPORT
BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
create() { # NAME TOPIC PROGRAM [EXTRA MEMBERS]
    api_curl -sS -X POST "$BASE/2015-03-31/event-source-mappings/" -d "{\"FunctionName\":\"$1\",
      \"Topics\":[\"$2\"],\"BatchSize\":10,\"MaximumBatchingWindowInSeconds\":0,
      \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}${4:-},
      \"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"$T/$3\"]${5:-}}}" |
        tee -a "$T/create.log" | jq -r .UUID
}
UH=$(create healthy orders ok.sh)
UF=$(create failing payments bad.sh)
US=$(create sasl orders ok.sh ",\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\",
      \"URI\":\"file://$T/sasl.json\"}]" ",\"Tls\":false,\"SaslAllowPlaintext\":true")
if ! tap_check "three mappings created" test "$UH" != null -a "$UF" != null -a "$US" != null \
    -a -n "$UH$UF$US"; then
    sed 's/^/# /' "$T/create.log"
    tap_done
fi

doc() { curl -sS -f "$BASE/status.json"; }
field() { doc | jq -r --arg u "$1" ".EventSourceMappings[] | select(.UUID == \$u) | $2"; }
is() { [ "$("${@:2}")" = "$1" ]; }
settled() {
    is "0 OK" field "$UH" '"\(.OffsetLag) \(.LastProcessingResult)"' &&
        is true field "$UF" .Stuck && is Disabled field "$US" .State
}
tap_check "the healthy mapping drains, the failing one is stuck, the SASL one stops" \
    wait_until 60 settled
doc >"$T/status.json"
tap_check "status.json: the failing mapping's result names the partition and the cause" \
    grep -q '"LastProcessingResult":"PROBLEM: Stuck partition payments-0 at offset 0: no progress for 3 s or more with records waiting (function failing)"' "$T/status.json"
tap_check "status.json: the SASL mapping was stopped by a problem" \
    is "EVENT_SOURCE_AUTHN_ERROR 1" jq -r '"\(.EventSourceMappings[] | select(.UUID == "'"$US"'") | .StateTransitionReason) \(.Summary.Stopped)"' "$T/status.json"

# lags and stuck flags of /status.json and /metrics agree, partition by partition
curl -sS -f "$BASE/metrics" >"$T/metrics"
metric() { # NAME UUID TOPIC PARTITION
    sed -n "s/^$1{uuid=\"$2\",function=\"[^\"]*\",topic=\"$3\",partition=\"$4\"} \([0-9]*\)$/\1/p" "$T/metrics"
}
agree=ok
for u in "$UH" "$UF"; do
    while read -r topic part lag stuck; do
        [ "$(metric kesm_offset_lag "$u" "$topic" "$part")" = "$lag" ] || agree="lag of $u $topic-$part"
        want=$([ "$stuck" = true ] && echo 1 || echo 0)
        [ "$(metric kesm_partition_stuck "$u" "$topic" "$part")" = "$want" ] || agree="stuck of $u $topic-$part"
    done < <(jq -r --arg u "$u" '.EventSourceMappings[] | select(.UUID == $u) | .Partitions[] |
        "\(.Topic) \(.Partition) \(.OffsetLag) \(.Stuck)"' "$T/status.json")
done
tap_check "kesm_offset_lag and kesm_partition_stuck match status.json ($agree)" test "$agree" = ok
tap_check "the failing mapping's lag is the 6 records waiting" is 6 field "$UF" .OffsetLag

# ---- the page in chromium ---------------------------------------------------------------------
mkdir -p "$ART"
t0=$SECONDS
(cd tests/node && timeout "$(scaled 120)" node status_page.mjs "$BASE" "$ART") \
    >"$T/report.json" 2>"$T/node.err"
rc=$?
if ! tap_check "chromium loaded the page at two widths (node exit $rc, $((SECONDS - t0)) s)" \
    jq -e .phone "$T/report.json"; then
    tail -20 "$T/node.err" | sed 's/^/# /'
    tap_done
fi
r() { jq -r "$1" "$T/report.json"; }
tap_check "no request left the server ($(r '.requests | length') requests)" is 0 r '.outside | length'
tap_check "no Content-Security-Policy violation" is 0 r '.csp | length'
tap_check "no console error ($(r '.console | join("; ")'))" is 0 r '.console | length'
for v in desktop phone; do
    row() { r ".$v.rows[] | select(.uuid == \"$1\") | $2"; }
    tap_check "$v: one row per mapping" is 3 r ".$v.rows | length"
    tap_check "$v: the healthy row says OK with lag $(metric kesm_offset_lag "$UH" orders 0)+$(metric kesm_offset_lag "$UH" orders 1)" \
        is "✔ OK 0" row "$UH" '"\(.marker) \(.lag)"'
    tap_check "$v: the failing row carries the STUCK marker and lag $(metric kesm_offset_lag "$UF" payments 0)" \
        is "⚠ STUCK $(metric kesm_offset_lag "$UF" payments 0)" row "$UF" '"\(.marker) \(.lag)"'
    tap_check "$v: the SASL row says STOPPED" is "✖ STOPPED" row "$US" .marker
    tap_check "$v: partition rows (healthy)" \
        is "0:$(metric kesm_offset_lag "$UH" orders 0):false 1:$(metric kesm_offset_lag "$UH" orders 1):false" \
        r ".$v.parts[\"$UH\"] | map(\"\(.partition):\(.lag):\(.stuck)\") | join(\" \")"
    tap_check "$v: partition row (failing): lag 6, stuck, with its cause" \
        is "0:6:true:function failing" \
        r ".$v.parts[\"$UF\"] | map(\"\(.partition):\(.lag):\(.stuck):\(.status | sub(\"^. STUCK [0-9]+ s: \"; \"\"))\") | join(\" \")"
    tap_check "$v: the injected markup is text, not elements (no <img>)" is 0 r ".$v.images"
    tap_check "$v: ... and shows literally among the recent errors" \
        sh -c "jq -r '.$v.errors[]' '$T/report.json' | grep -qF '<img src=x onerror=window.__pwned=1>'"
    tap_check "$v: 6 charts (2 per mapping), each with an accessible name" \
        is "6 6" r "\"\(.$v.charts) \(.$v.chartsNamed)\""
    tap_check "$v: the charts draw the samples ($(r ".$v.marks") lines and dots)" \
        test "$(r ".$v.marks")" -ge 4
    tap_check "$v: tables have captions and scoped header cells, the summary is a live region" \
        sh -c "[ \$(jq .$v.captions '$T/report.json') -ge 3 ] && [ \$(jq .$v.headerCells '$T/report.json') -ge 20 ] && [ \$(jq -r .$v.live '$T/report.json') = polite ]"
done
tap_check "phone: nothing is wider than the screen ($(r .phone.scrollWidth) <= $(r .phone.clientWidth))" \
    test "$(r .phone.scrollWidth)" -le "$(r .phone.clientWidth)"
tap_check "desktop: the summary counts the stuck mapping ($(r .desktop.summary))" \
    sh -c "jq -r .desktop.summary '$T/report.json' | grep -q '1 stuck'"
for f in status-desktop.png status-phone.png; do
    tap_check "screenshot build/test-artifacts/$f is a PNG" \
        sh -c "[ \$(stat -c %s '$ART/$f') -gt 10000 ] && head -c 8 '$ART/$f' | od -An -tx1 | grep -q '89 50 4e 47'"
done

# ---- no secret anywhere -------------------------------------------------------------------------
curl -sS "$BASE/status" >"$T/page.html"
curl -sS "$BASE/status/status.js" >"$T/page.js"
"$KESM" status --endpoint "$BASE" -v >"$T/cli.txt" 2>&1
tap_check "the SASL password is in none of status.json, the page, its script, /metrics, kesm status -v, the rendered DOM" \
    sh -c "! grep -qF '$PASSWORD' '$T/status.json' '$T/page.html' '$T/page.js' '$T/metrics' '$T/cli.txt' '$T/report.json'"
tap_check "... nor the secret's file name" \
    sh -c "! grep -qF 'sasl.json' '$T/status.json' '$T/report.json' '$T/cli.txt'"

# ---- not a way in -------------------------------------------------------------------------------
code() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }
tap_check "Host: evil.example:$PORT (DNS rebinding) is refused with 403" \
    is 403 code -H "Host: evil.example:$PORT" "$BASE/status.json"
tap_check "Host: 127.0.0.1 with another port is refused" is 403 code -H "Host: 127.0.0.1:1" "$BASE/status"
tap_check "Host: localhost:$PORT is answered" is 200 code -H "Host: localhost:$PORT" "$BASE/status.json"
tap_check "a cross-origin request (Origin) is refused" \
    is 403 code -H "Origin: http://evil.example" "$BASE/status.json"
tap_check "Sec-Fetch-Site: cross-site is refused" is 403 code -H "Sec-Fetch-Site: cross-site" "$BASE/status.json"
tap_check "POST /status.json is refused with 405 (read-only)" is 405 code -X POST -d x "$BASE/status.json"
tap_check "the status listener refuses POST too" \
    sh -c "[ \$(curl -sS -o /dev/null -w '%{http_code}' -X POST -d x '$SBASE/status.json') -ge 400 ]"
curl -sS -D "$T/headers" -o /dev/null -H "Origin: $BASE" "$BASE/status"
hdr() { grep -i "^$1:" "$T/headers" | tr -d '\r'; }
tap_check "Content-Security-Policy: default-src 'none' ... 'self' only, no framing" \
    sh -c "grep -i \"^Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\" '$T/headers'"
tap_check "X-Content-Type-Options: nosniff" is "X-Content-Type-Options: nosniff" hdr X-Content-Type-Options
tap_check "X-Frame-Options: DENY" is "X-Frame-Options: DENY" hdr X-Frame-Options
tap_check "no CORS header, even for a same-origin Origin" is "" hdr Access-Control-Allow-Origin
tap_check "the page's script is text/javascript" \
    sh -c "curl -sS -D - -o /dev/null '$BASE/status/status.js' | grep -qi '^Content-Type: text/javascript'"
tap_check "the page has no inline script or style (CSP without 'unsafe-inline')" \
    sh -c "! grep -qiE '<script>|<script [^s]|<style|style=|onload=|onclick=' '$T/page.html'"
tap_check "the page's script never writes HTML (no innerHTML, outerHTML, insertAdjacentHTML, document.write)" \
    sh -c "! grep -qE 'innerHTML|outerHTML|insertAdjacentHTML|document\.write' '$T/page.js'"
tap_check "the status listener serves the page at /" sh -c "curl -sS -f '$SBASE/' | grep -q '<title>kesm status</title>'"
tap_check "... and its JSON" sh -c "curl -sS -f '$SBASE/status.json' | jq -e '.Summary.Mappings == 3'"
tap_check "... but not the API" is 404 code "$SBASE/2015-03-31/event-source-mappings/"
tap_check "... nor /metrics" is 404 code "$SBASE/metrics"
tap_check "an unknown asset is 404" is 404 code "$BASE/status/nope.js"

# ---- kesm status --------------------------------------------------------------------------------
"$KESM" status --endpoint "$BASE" >"$T/cli0.txt" 2>&1
rc=$?
tap_check "kesm status exits 1: a partition is stuck" test "$rc" = 1
lines() { wc -l <"$1"; }
tap_check "kesm status: a header, a column line, one line per mapping" is 5 lines "$T/cli0.txt"
tap_check "kesm status: the lines say OK, STUCK and STOPPED" \
    sh -c "grep -qE '^OK +$UH +Enabled ' '$T/cli0.txt' && grep -qE '^STUCK +$UF +Enabled ' '$T/cli0.txt' && grep -qE '^STOPPED +$US +Disabled ' '$T/cli0.txt'"
tap_check "kesm status -v: one more line per partition (2 + 1)" is 8 lines "$T/cli.txt"
tap_check "kesm status -v: the stuck partition's line" \
    grep -qE '^         payments-0  committed -  high watermark 6  lag 6  in flight 1  last delivery never  STUCK [0-9]+ s \(function failing\)$' "$T/cli.txt"
tap_check "kesm status against the status listener (the full URL of status.json)" \
    sh -c "'$KESM' status --endpoint '$SBASE/status.json' | grep -q '^STUCK '; [ \$? = 0 ]"
tap_check "kesm status --json prints the document" \
    sh -c "'$KESM' status --endpoint '$BASE' --json | jq -e '.Summary.Stuck == 1' >/dev/null"
"$KESM" status --endpoint "http://127.0.0.1:1" >"$T/cli3.txt" 2>&1
rc=$?
tap_check "kesm status exits 3 when nothing listens ($(head -1 "$T/cli3.txt"))" test $rc = 3
"$KESM" status --endpoint "$BASE/2015-03-31/status.json" >"$T/cli4.txt" 2>&1
rc=$?
tap_check "kesm status exits 3 when the answer is not a status document ($(head -1 "$T/cli4.txt"))" \
    test $rc = 3
"$KESM" status --endpoint "https://127.0.0.1:$PORT" >/dev/null 2>&1
rc=$?
tap_check "kesm status exits 2 on a usage error (https endpoint)" test $rc = 2

kill -TERM "$PID"
wait "$PID"
tap_check "kesm serve exits 0 on SIGTERM" test $? = 0
PID=
tap_done

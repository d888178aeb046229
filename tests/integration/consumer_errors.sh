#!/usr/bin/env bash
# consumer_errors.sh: errors kesm's consumer must stop on, with a clear message and the class
# the ESM maps to its state reason (cons_probe prints "error CLASS MESSAGE" and exits 1), and
# the per-partition statistics after a clean run:
#   a topic we may not read (Metadata TOPIC_AUTHORIZATION_FAILED)  -> authz
#   a topic that does not exist (UNKNOWN_TOPIC_OR_PARTITION; kmock's topicerr, since the mock
#   otherwise auto-creates topics)                                  -> config
#   a group we may not use (FindCoordinator GROUP_AUTHORIZATION_FAILED) -> authz
#   a session timeout the broker refuses (JoinGroup INVALID_SESSION_TIMEOUT) -> config
#   a bootstrap list that does not parse                            -> config, before connecting
#   a broker that lacks an API the consumer needs (kmock apiver)    -> config
# and that a partition the upper layer pauses is neither fetched nor committed.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/integration/consumer_lib.bash

WORK=$TEST_TMP
KMOCK_DIR=$WORK/kmock
cleanup() {
    kmock_stop
}
at_exit cleanup

if ! kmock_start -b 1 -t ok:3 -l "$LIFETIME"; then
    tap_fail "kmock starts"
    tap_done
fi
BS=$KMOCK_BOOTSTRAP

# run NAME GROUP TOPIC ARGS...: cons_probe in the foreground (bounded), exit code in $RC.
run() {
    local name=$1 group=$2 topic=$3
    shift 3
    timeout --kill-after=5 40 "$CONS_PROBE" "$BS" "$group" "$topic" "${CONS_PROBE_GROUP[@]}" \
        lifetime=30 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
}

kmock_cmd topicerr secret TOPIC_AUTHORIZATION_FAILED >/dev/null
run authz g1 secret
tap_check "unreadable topic: exit 1 (got $RC)" test "$RC" = 1
tap_check "unreadable topic: class authz, the topic and the error by name" \
    grep -q '^error authz not authorized to read topic secret (TOPIC_AUTHORIZATION_FAILED)' \
    "$WORK/authz.err"

kmock_cmd topicerr gone 3 >/dev/null
run gone g2 gone
tap_check "unknown topic: exit 1 (got $RC)" test "$RC" = 1
tap_check "unknown topic: class config, says the topic does not exist" \
    grep -q '^error config topic gone does not exist (UNKNOWN_TOPIC_OR_PARTITION)' "$WORK/gone.err"

kmock_cmd reqerr FindCoordinator GROUP_AUTHORIZATION_FAILED >/dev/null
run gauthz g3 ok
tap_check "forbidden group: exit 1 (got $RC)" test "$RC" = 1
tap_check "forbidden group: class authz, names the group and the error" \
    grep -q '^error authz group g3: FindCoordinator: GROUP_AUTHORIZATION_FAILED' "$WORK/gauthz.err"

kmock_cmd reqerr JoinGroup INVALID_SESSION_TIMEOUT >/dev/null
run session g4 ok
tap_check "refused session timeout: exit 1 (got $RC)" test "$RC" = 1
tap_check "refused session timeout: class config, error by name" \
    grep -q '^error config group g4: JoinGroup: INVALID_SESSION_TIMEOUT' "$WORK/session.err"

timeout 20 "$CONS_PROBE" "127.0.0.1" g5 ok >"$WORK/boot.out" 2>"$WORK/boot.err"
RC=$?
tap_check "bad bootstrap list: exit 2, refused before connecting (got $RC)" test "$RC" = 2
tap_check "bad bootstrap list: the message quotes the entry" \
    grep -q 'bad bootstrap entry "127.0.0.1"' "$WORK/boot.err"

# Statistics after a clean run: position = high watermark, everything committed, lag 0.
kmock_cmd produce ok 30 >/dev/null
run stats g6 ok close-after=30 stats
tap_check "clean run: exit 0 (got $RC)" test "$RC" = 0
tap_check "stats: every partition at its high watermark (10), lag 0" \
    test "$(grep -cE '^stats ok\[[0-2]\] position=10 committed=-?[0-9]+ hw=10 lag=0$' "$WORK/stats.err")" = 3
COMMITTED=$(kmock_cmd committed g6 ok 3)
tap_check "and committed on close ($COMMITTED)" test "$COMMITTED" = "ok committed group=g6 topic=ok 0=10 1=10 2=10"
# A paused partition is not fetched (and nothing is committed for it); the others flow.
run paused g7 ok pause=1 close-after=20
tap_check "pause: exit 0 (got $RC)" test "$RC" = 0
tap_check "pause: 20 records from partitions 0 and 2, none from the paused partition 1" \
    test "$(grep -c '^ok [02] ' "$WORK/paused.out")" = 20 -a "$(grep -c '^ok 1 ' "$WORK/paused.out")" = 0
COMMITTED=$(kmock_cmd committed g7 ok 3)
tap_check "pause: nothing committed for the paused partition ($COMMITTED)" \
    test "$COMMITTED" = "ok committed group=g7 topic=ok 0=10 1=none 2=10"
# Last (it changes the whole cluster): a broker without an API the consumer needs.
kmock_cmd apiver Fetch -1 -1 >/dev/null
run noapi g8 ok
tap_check "broker without Fetch: exit 1 (got $RC)" test "$RC" = 1
tap_check "broker without Fetch: class config, names the API" \
    grep -qE '^error config broker 127\.0\.0\.1:[0-9]+: .*Fetch' "$WORK/noapi.err"
tap_check "no ASan/UBSan report from kesm" \
    bash -c "! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' $WORK/*.err"
kmock_stop
tap_done

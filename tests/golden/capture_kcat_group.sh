#!/bin/bash
# capture_kcat_group.sh: how the group/fetch golden files (fetch_*_v11, join_group_*_v5,
# sync_group_*_v3, heartbeat_*_v3, offset_fetch_*_v5, offset_commit_*_v7, leave_group_*_v1)
# were captured. Not run by the tests; needs kcat (librdkafka 2.0.2) and tshark, and root for
# the loopback capture. Usage: capture_kcat_group.sh OUTDIR
#
# A kcat producer hosts a one-broker librdkafka mock (test.mock.num.brokers=1); a second kcat
# produces three keyed messages to t1 partition 0; tshark records a `kcat -G grp1` session
# (FindCoordinator, JoinGroup, SyncGroup, OffsetFetch, Fetch, Heartbeat, OffsetCommit,
# LeaveGroup), which is stopped with SIGINT after 9 s so that it commits and leaves. Each
# chosen TCP segment held exactly one Kafka frame; the .bin files are those frames, size
# prefix included.
set -u
OUT=${1:?usage: capture_kcat_group.sh OUTDIR}
mkdir -p "$OUT"
cd "$OUT" || exit 1
rm -f fifo mock.err cap.pcap
mkfifo fifo
PIDS=()
cleanup()
{
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    rm -f fifo
}
trap cleanup EXIT
timeout 90 kcat -P -b 127.0.0.1:1 -t t1 -X test.mock.num.brokers=1 <fifo 2>mock.err &
PIDS+=($!)
exec 3>fifo
for _ in $(seq 1 60); do grep -q 'replaced with' mock.err && break; sleep 0.5; done
BS=$(grep -o 'replaced with [0-9.:,]*' mock.err | awk '{print $3}')
PORT=${BS##*:}
printf "k1:msg-1\nk2:msg-2\nk3:msg-3\n" | timeout 20 kcat -P -b "$BS" -t t1 -p 0 -K: 2>prod.err
sleep 2
timeout 60 tshark -q -i lo -f "tcp port $PORT" -w cap.pcap 2>ts.err &
TS=$!
PIDS+=($TS)
sleep 2
timeout -s INT 9 kcat -b "$BS" -G grp1 -q -X heartbeat.interval.ms=300 -X session.timeout.ms=6000 \
    -X auto.commit.interval.ms=200 -X auto.offset.reset=earliest -X client.id=kcat-cap t1 \
    >cons.out 2>cons.err
sleep 1
kill -INT $TS
wait $TS
exec 3>&-
# List the frames; pick one per API and version, then extract it, e.g. frame 29:
#   tshark -r cap.pcap -d tcp.port==$PORT,kafka -Y kafka -T fields -e frame.number \
#       -e kafka.request_frame -e kafka.api_key -e kafka.api_version -e kafka.len -e tcp.len
#   tshark -r cap.pcap -Y frame.number==29 -T fields -e tcp.payload | xxd -r -p > join_group_req_v5.bin
tshark -r cap.pcap -d "tcp.port==$PORT,kafka" -Y kafka -T fields -e frame.number \
    -e kafka.request_frame -e kafka.api_key -e kafka.api_version -e kafka.len -e tcp.len

#!/usr/bin/env bash
# bench/records.sh: kesm's in-memory decode benchmarks (no kcat counterpart, no broker):
#   records.decode       bench_records: magic-2 batches of 100-byte records decoded on one core,
#                        with and without the CRC-32C check (M records/s), CRC-32C alone (GB/s)
#   fetch.parse          bench_fetch: Fetch response parse + partition walk (ns per partition)
#   decompress.*         bench_decompress: kesm's snappy decoder and LZ4 frame parser against
#                        libsnappy's and liblz4's own decoders on 1 MiB of JSON records (MB/s)
# Each figure printed by the C programs is already the best of several rounds of CPU time;
# bench/run takes the median over BENCH_REPS runs of this script's loop.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
BUILD=${KESM_BUILD:-build}

make -s "$BUILD/bench_records" >&2 || exit 1
# bench_fetch has no Makefile rule; it needs only libproto.a.
make -s "$BUILD/libproto.a" >&2 || exit 1
gcc -O2 -I. -D_POSIX_C_SOURCE=200809L bench/bench_fetch.c "$BUILD/libproto.a" \
    -o "$BUILD/bench_fetch" || exit 1
# bench_decompress compares with libsnappy and liblz4's frame decoder, which kesm does not link.
gcc -O2 -I. -D_POSIX_C_SOURCE=200809L bench/bench_decompress.c "$BUILD/libproto.a" \
    -o "$BUILD/bench_decompress" -llz4 -lzstd -lz -lsnappy -lstdc++ || exit 1

for i in $(seq "$BENCH_REPS"); do
    out=$("$BUILD/bench_records" 500 200 1.0) || exit 1
    echo "$out" | awk '
        /^decode with CRC-32C check:/ { print "BENCH records.decode crc_mrec_s", $5, "Mrec/s" }
        /^decode without CRC check:/  { print "BENCH records.decode nocrc_mrec_s", $5, "Mrec/s" }
        /^CRC-32C alone:/ { print "BENCH records.crc32c sse42_gb_s", $4, "GB/s"
                            print "BENCH records.crc32c table_gb_s", $(NF - 1), "GB/s" }'
    out=$("$BUILD/bench_fetch") || exit 1
    # "v11   100 partitions x  65536 B records: ... us/response,  X ns/partition, ..."
    echo "$out" | awk '{
        v = $1; parts = $2; sz = $5
        for (i = 1; i <= NF; i++) if ($i ~ /^ns\/partition/) ns = $(i - 1)
        print "BENCH fetch.parse." v "." parts "x" sz " ns_per_partition", ns, "ns"
    }'
    out=$("$BUILD/bench_decompress" 1.0) || exit 1
    # "snappy kesm: 1073 MB/s (ratio 3.35)"; the libraries' own decoders are the baselines.
    echo "$out" | awk '{
        sub(":", "", $2)
        base = ($2 == "kesm") ? " baseline=decompress." $1 "." ($1 == "lz4" ? "liblz4" : "libsnappy") : ""
        print "BENCH decompress." $1 "." $2 " mb_s", $3, "MB/s" base
    }'
done

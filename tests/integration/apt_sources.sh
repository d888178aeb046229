#!/usr/bin/env bash
# apt_sources: scripts/apt-sources (what `make static` uses to find the machine's own Debian
# archive for cJSON's source) over the test data in tests/golden/apt-sources/: deb822 files
# (a Debian 12 debian.sources on a site mirror; a caching proxy with folded lists, two URIs and an
# embedded key) and one-line sources.list entries (options, comments, backports, cdrom, third-party
# suites). Each output must equal its .want file, apt itself must read the result (apt-get
# --print-uris update lists exactly the source indexes of those URIs and contacts nothing), and
# a file without a usable entry must fail naming the file.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh

D=tests/golden/apt-sources
T=$TEST_TMP

for f in debian.sources proxy.sources sources.list; do
    tap_check "$f: the deb-src list equals $f.want" \
        diff -u "$D/$f.want" <(scripts/apt-sources --codename bookworm "$D/$f")
done

{
    cat "$D/debian.sources.want"
    echo
    cat "$D/sources.list.want"
} >"$T/both.want"
tap_check "both formats at once: entries in the order of the files" \
    diff -u "$T/both.want" <(scripts/apt-sources --codename bookworm "$D/debian.sources" \
        "$D/sources.list")

# apt reads what apt-sources writes: --print-uris prints what update would fetch, fetching
# nothing. Every URI/suite must give its source index, and nothing else may appear.
mkdir -p "$T/parts" "$T/lists/partial" "$T/cache"
scripts/apt-sources --codename bookworm "$D/proxy.sources" "$D/sources.list" \
    >"$T/parts/kesm-src.sources"
apt-get -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$T/parts" \
    -o Dir::State::Lists="$T/lists" -o Dir::Cache="$T/cache" --print-uris update \
    >"$T/uris" 2>"$T/uris.err"
rc=$?
grep -o "^'[^']*Sources[^']*'" "$T/uris" | tr -d "'" | sed 's/\.[a-z0-9]*$//' | sort >"$T/got"
sort >"$T/want" <<'EOF'
file:/srv/local-archive/dists/bookworm-security/main/source/Sources
http://cache.internal.example:3142/debian/dists/bookworm/main/source/Sources
http://cache.internal.example:3142/security/dists/bookworm-security/main/source/Sources
http://ftp.example.org/debian/dists/bookworm-updates/main/source/Sources
http://ftp.example.org/debian/dists/bookworm/main/source/Sources
http://mirror2.example.net/debian/dists/bookworm/main/source/Sources
EOF
if [ "$rc" = 0 ] && diff -u "$T/want" "$T/got" >"$T/diff"; then
    tap_ok "apt-get reads the generated list: one source index per URI and suite"
else
    tap_fail "apt-get reads the generated list: one source index per URI and suite" \
        "apt-get exit $rc: $(head -5 "$T/uris.err")" "$(cat "$T/diff")"
fi

scripts/apt-sources --codename bookworm "$D/none.list" "$T/absent.list" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" = 1 ] && [ ! -s "$T/out" ] && grep -q "no Debian archive entry for 'bookworm'" "$T/err" &&
    grep -q "^  $D/none.list\$" "$T/err" && grep -q "^  $T/absent.list\$" "$T/err" &&
    grep -q "cannot read $T/absent.list" "$T/err"; then
    tap_ok "no usable entry: exit 1, the message names every file read"
else
    tap_fail "no usable entry: exit 1, the message names every file read" "exit $rc" \
        "$(cat "$T/out" "$T/err")"
fi

scripts/apt-sources --codename bookworm "$D/debian.sources" --bogus >/dev/null 2>"$T/err"
rc=$?
tap_check "an unknown option is a usage error (exit 2, named)" \
    eval "[ $rc = 2 ] && grep -q 'unknown option --bogus' '$T/err'"
scripts/apt-sources --codename 'Bad Name' "$D/debian.sources" >/dev/null 2>"$T/err"
rc=$?
tap_check "a malformed codename is refused (exit 2)" \
    eval "[ $rc = 2 ] && grep -q 'no usable release codename' '$T/err'"

tap_done

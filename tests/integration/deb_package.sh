#!/usr/bin/env bash
# deb_package.sh: the Debian package (`make deb`, scripts/build-deb) built from the current
# sources and checked as Debian would:
#   - build/kesm-static is brought up to date (scripts/static-build, kesm only: a few seconds when
#     nothing changed; the first time also fetches cJSON's Debian source) and the package built
#     from it (reused when the binary and packaging/ are unchanged: a content hash);
#   - lintian (all tags down to pedantic and info, overrides each justified in
#     packaging/deb/lintian-overrides) reports nothing;
#   - its files, modes and owners: the static binary 0755, the unit, /etc/default/kesm 0600 as a
#     conffile, the man page kesm(1) made by help2man (it renders without warnings and documents
#     every subcommand), copyright and changelog;
#   - the unit's hardening options are there, and systemd-analyze security rates its exposure
#     2.0 or lower (of 10);
#   - as root, dpkg -i installs it: the kesm system user, /var/lib/kesm and /etc/kesm/secrets
#     (0700, kesm), the installed binary's --version, systemd-analyze verify of the installed
#     unit; where systemd runs, the service is active and `kesm status` reaches it; dpkg --purge
#     removes it with its state. Without root, dpkg -x and the checks that need no install.
. "$(dirname "$0")/../lib/prelude.sh"
T=$TEST_TMP
VERSION=$(cat VERSION)
DEB=build/deb/kesm_${VERSION}_amd64.deb
INSTALLED=
USER_EXISTED=
finish() { tap_done; }
cleanup() {
    if [ -n "$INSTALLED" ]; then
        dpkg --purge kesm >/dev/null 2>&1
    fi
    if [ -n "$INSTALLED" ] && [ -z "$USER_EXISTED" ] && getent passwd kesm >/dev/null; then
        deluser --quiet --system kesm >/dev/null 2>&1
    fi
}
at_exit cleanup

for tool in dpkg-deb lintian help2man systemd-analyze man; do
    if ! command -v "$tool" >/dev/null; then
        tap_fail "$tool is installed (scripts/setup installs it)"
        finish
    fi
done

# ---- build ------------------------------------------------------------------------------------
t0=$SECONDS
if ! KESM_STATIC_TOOLS=0 timeout "$(scaled 900)" scripts/static-build >"$T/static.log" 2>&1; then
    tap_fail "build/kesm-static builds" "$(tail -5 "$T/static.log")"
    finish
fi
tap_ok "build/kesm-static is up to date ($((SECONDS - t0)) s)"
key=$(cat build/kesm-static VERSION scripts/build-deb packaging/deb/* | sha256sum | cut -c1-32)
t0=$SECONDS
if [ -f "$DEB" ] && [ "$(cat build/deb/key 2>/dev/null)" = "$key" ]; then
    tap_ok "the package of these sources exists already ($DEB, key $key)"
else
    if ! scripts/build-deb build/kesm-static >"$T/deb.log" 2>&1; then
        tap_fail "scripts/build-deb builds $DEB" "$(tail -5 "$T/deb.log")"
        finish
    fi
    echo "$key" >build/deb/key
    tap_ok "scripts/build-deb built $DEB ($((SECONDS - t0)) s)"
fi

# ---- lintian ----------------------------------------------------------------------------------
t0=$SECONDS
lintian -EvIL +pedantic --fail-on error,warning,info,pedantic "$DEB" >"$T/lintian.txt" 2>&1
rc=$?
tags=$(grep -E '^[EWIPX]: ' "$T/lintian.txt")
tap_check "lintian reports no tag, pedantic and info included (exit $rc, $((SECONDS - t0)) s)" \
    test "$rc" = 0 -a -z "$tags" || printf '%s\n' "$tags" | head -20 | sed 's/^/#   /'
tap_check "every lintian override has a reason above it" \
    awk '/^#/ { c = 1; next } /^$/ { next } { if (!c) { print "no reason: " $0; bad = 1 } }
         END { exit bad }' packaging/deb/lintian-overrides

# ---- contents ---------------------------------------------------------------------------------
dpkg-deb --contents "$DEB" >"$T/contents"
mode() { # PATH: "<mode> <owner/group>" as stored in the package
    awk -v p="./$1" '$6 == p { print $1, $2 }' "$T/contents"
}
tap_check "usr/bin/kesm is -rwxr-xr-x root/root" test "$(mode usr/bin/kesm)" = "-rwxr-xr-x root/root"
tap_check "lib/systemd/system/kesm.service is -rw-r--r-- root/root" \
    test "$(mode lib/systemd/system/kesm.service)" = "-rw-r--r-- root/root"
tap_check "etc/default/kesm is -rw------- root/root (it may hold credentials)" \
    test "$(mode etc/default/kesm)" = "-rw------- root/root"
tap_check "etc/default/kesm is a conffile" \
    sh -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xO ./conffiles | grep -qx /etc/default/kesm"
for f in usr/share/man/man1/kesm.1.gz usr/share/doc/kesm/copyright usr/share/doc/kesm/changelog.gz; do
    tap_check "$f is -rw-r--r-- root/root" test "$(mode "$f")" = "-rw-r--r-- root/root"
done
tap_check "the control file names version $VERSION, amd64 and adduser" \
    sh -c "dpkg-deb -f '$DEB' Package Version Architecture Depends | tr '\n' ' ' | grep -qx 'Package: kesm Version: $VERSION Architecture: amd64 Depends: adduser '"
dpkg-deb -x "$DEB" "$T/x"
tap_check "the packaged binary is static and says kesm $VERSION" \
    sh -c "file '$T/x/usr/bin/kesm' | grep -q 'statically linked' && [ \"\$('$T/x/usr/bin/kesm' --version)\" = 'kesm $VERSION' ]"
zcat "$T/x/usr/share/man/man1/kesm.1.gz" >"$T/kesm.1"
tap_check "kesm(1) renders without groff warnings" \
    sh -c "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l '$T/kesm.1' 2>&1 >/dev/null | (! grep .)"
man -l "$T/kesm.1" 2>/dev/null | col -b >"$T/kesm.txt"
tap_check "kesm(1) is generated from the help: it has every subcommand's usage and flags" \
    sh -c "grep -q 'usage: kesm serve' '$T/kesm.txt' && grep -q -- '--status-listen' '$T/kesm.txt' && grep -q 'usage: kesm run' '$T/kesm.txt' && grep -q 'usage: kesm status' '$T/kesm.txt' && grep -q 'EXIT STATUS' '$T/kesm.txt'"
unit=$T/x/lib/systemd/system/kesm.service
systemd-analyze security --offline=yes "$unit" >"$T/security.txt" 2>&1
level=$(sed -n 's/.*Overall exposure level for kesm.service: \([0-9.]*\) .*/\1/p' "$T/security.txt")
tap_check "systemd-analyze security rates the unit's exposure ${level:-?} (at most 2.0 of 10)" \
    awk -v l="${level:-99}" 'BEGIN { exit !(l <= 2.0) }'
for opt in User=kesm NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
    PrivateDevices=yes StateDirectory=kesm StateDirectoryMode=0700 ReadWritePaths=/var/lib/kesm \
    CapabilityBoundingSet= SystemCallFilter=@system-service RestrictAddressFamilies= UMask=0077 \
    EnvironmentFile=-/etc/default/kesm; do
    tap_check "the unit sets $opt" grep -q "^$opt" "$unit"
done

# ---- install ----------------------------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
    sed "s|^ExecStart=/usr/bin/kesm|ExecStart=$T/x/usr/bin/kesm|" "$unit" >"$T/kesm.service"
    tap_check "systemd-analyze verify (not root: the extracted unit, no install)" \
        systemd-analyze verify --man=no "$T/kesm.service"
    echo "# not root: dpkg -i skipped"
    finish
fi
getent passwd kesm >/dev/null && USER_EXISTED=1
dpkg_i() {
    local i
    for i in $(seq 1 60); do
        dpkg -i "$DEB" >"$T/dpkg.log" 2>&1 && return 0
        grep -q 'lock' "$T/dpkg.log" || return 1
        sleep 2
    done
    return 1
}
if dpkg -s kesm >/dev/null 2>&1; then
    tap_fail "a kesm package is installed already: this test will not replace it"
    finish
fi
INSTALLED=1
if ! tap_check "dpkg -i $DEB" dpkg_i; then
    sed 's/^/#   /' "$T/dpkg.log" | tail -10
    finish
fi
tap_check "the package is installed" sh -c "dpkg -s kesm | grep -q '^Status: install ok installed'"
tap_check "/usr/bin/kesm --version says kesm $VERSION" test "$(/usr/bin/kesm --version)" = "kesm $VERSION"
tap_check "a system user kesm with a group of its own" \
    sh -c "[ \$(id -u kesm) -lt 1000 ] && [ \$(id -gn kesm) = kesm ] && getent passwd kesm | cut -d: -f7 | grep -q nologin"
tap_check "/var/lib/kesm is 700 kesm:kesm" test "$(stat -c '%a %U:%G' /var/lib/kesm)" = "700 kesm:kesm"
tap_check "/etc/kesm/secrets is 700 kesm:kesm" \
    test "$(stat -c '%a %U:%G' /etc/kesm/secrets)" = "700 kesm:kesm"
tap_check "/etc/kesm/api-credentials (the API's SigV4 key pair, made at install) is 640 root:kesm" \
    sh -c "test \"\$(stat -c '%a %U:%G' /etc/kesm/api-credentials)\" = '640 root:kesm' && grep -qE '^aws_access_key_id = AKKESM[A-Z2-7]{16}\$' /etc/kesm/api-credentials && grep -qE '^aws_secret_access_key = .{40}\$' /etc/kesm/api-credentials"
tap_check "/etc/default/kesm is 600 root:root" \
    test "$(stat -c '%a %U:%G' /etc/default/kesm)" = "600 root:root"
tap_check "the installed binary runs kesm status (exit 3: nothing listens on port 1)" \
    sh -c "/usr/bin/kesm status --endpoint http://127.0.0.1:1 >/dev/null 2>&1; [ \$? = 3 ]"
tap_check "systemd-analyze verify kesm.service reports nothing" \
    sh -c "systemd-analyze verify /lib/systemd/system/kesm.service 2>&1 | (! grep .)"
tap_check "the service is enabled for multi-user.target" \
    test -L /etc/systemd/system/multi-user.target.wants/kesm.service
wait_active() {
    local i
    for i in $(seq 1 100); do
        systemctl is-active --quiet kesm && return 0
        sleep 0.2
    done
    return 1
}
if [ -d /run/systemd/system ]; then
    tap_check "systemd runs the service" wait_active
    tap_check "kesm status reaches it on 127.0.0.1:9320" /usr/bin/kesm status
else
    echo "# systemd is not running here (PID 1 is $(ps -o comm= -p 1)): the service is not started"
fi
tap_check "dpkg --purge removes it, its state and its secrets directory" \
    sh -c "dpkg --purge kesm >/dev/null 2>&1 && [ ! -e /usr/bin/kesm ] && [ ! -e /var/lib/kesm ] && [ ! -e /etc/kesm ] && [ ! -e /etc/default/kesm ]"
INSTALLED=
if [ -z "$USER_EXISTED" ]; then
    deluser --quiet --system kesm >/dev/null 2>&1
fi
finish

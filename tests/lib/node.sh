# shellcheck shell=bash
# tests/lib/node.sh: sourced by integration tests that run node programs from tests/node.
#
#   . tests/lib/node.sh
#   node_deps LOG PKG...   # 0 once tests/node/node_modules holds every PKG (npm ci from
#                          # tests/node/package-lock.json if not), else 1 with npm's output in LOG
#
# npm ci replaces node_modules as a whole, so it runs under a lock (build/npm.lock): tests that
# run at the same time never see a half-installed tree, and only the first one installs.
node_deps() {
    local log=$1 root missing p
    shift
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "node and npm are not installed (scripts/setup installs them)" >"$log"
        return 1
    fi
    mkdir -p "$root/build"
    (
        flock 9
        missing=
        for p in "$@"; do
            [ -f "$root/tests/node/node_modules/$p/package.json" ] || missing=1
        done
        [ -z "$missing" ] && exit 0
        cd "$root/tests/node" && timeout 900 npm ci --no-audit --no-fund
    ) 9>"$root/build/npm.lock" >"$log" 2>&1
}

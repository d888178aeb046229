# shellcheck shell=bash
# tests/lib/fleet.sh: sourced by the fleet mode integration tests (tests/integration/esm_fleet*.sh)
# after tests/lib/prelude.sh, with T set to the test's scratch directory.
#
#   PIDS[name]=$!             # remember each `kesm serve` node started in the background
#   fleet_stop_nodes          # SIGTERM and reap every node still in PIDS (call from the cleanup)
#   fleet_stop NAME           # SIGTERM node NAME, reap it, forget it; returns its exit status
#   fleet_aws_env             # the AWS CLI's environment: static keys, no config, no profile,
#                             # and api_curl (tests/lib/api.sh)
#   port_of NAME              # the API port node NAME printed on $T/NAME.out (fails before)
#   api NAME                  # its event source mappings URL
#   lam NAME ARGS...          # the AWS CLI's `lambda ARGS...` against node NAME

declare -A PIDS=()

fleet_stop_nodes() {
    local n
    for n in "${!PIDS[@]}"; do
        kill -TERM "${PIDS[$n]}" 2>/dev/null
    done
    for n in "${!PIDS[@]}"; do
        wait "${PIDS[$n]}" 2>/dev/null
    done
}

fleet_stop() {
    local rc
    kill -TERM "${PIDS[$1]}"
    wait "${PIDS[$1]}"
    rc=$?
    unset "PIDS[$1]"
    return $rc
}

fleet_aws_env() {
    export HOME=$T AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
    export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
    export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
    : >"$AWS_CONFIG_FILE"
    : >"$AWS_SHARED_CREDENTIALS_FILE"
    . tests/lib/api.sh
}

port_of() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/$1.out" | grep .; }
api() { echo "http://127.0.0.1:$(port_of "$1")/2015-03-31/event-source-mappings"; }
lam() {
    local node=$1
    shift
    timeout 60 /usr/bin/aws --endpoint-url "http://127.0.0.1:$(port_of "$node")" --region us-east-1 \
        lambda "$@"
}

# shellcheck shell=bash
# tests/lib/api.sh: sourced by integration tests that call kesm serve's API with curl. kesm serve
# checks SigV4 signatures by default: api_curl signs with the environment's credentials
# (curl --aws-sigv4; curl 7.88 does not sort query parameters, so give them sorted) and sends
# the JSON content type the AWS SDKs send.
#
#   api_curl -sS -X POST "$API/" -d '{...}'
api_curl() {
    local token=()
    if [ -n "${AWS_SESSION_TOKEN:-}" ]; then
        token=(-H "X-Amz-Security-Token: $AWS_SESSION_TOKEN")
    fi
    curl --aws-sigv4 "aws:amz:${AWS_DEFAULT_REGION:-us-east-1}:lambda" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "${token[@]}" \
        -H 'Content-Type: application/json' "$@"
}

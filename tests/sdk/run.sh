#!/usr/bin/env bash
# Proves the OpenAPI document against a live `client-registry serve`:
# schemathesis with every check, then a Python SDK (openapi-python-client)
# and a TypeScript SDK (@hey-api/openapi-ts, type-checked by tsc) generated
# from `client-registry openapi`, each driving a full flow.
#
#   tests/sdk/run.sh                       # on a fresh SQLite file
#   tests/sdk/run.sh postgresql://user@host:5432/db   # on a fresh schema there
#
# Needs the project's .venv (pip install -e '.[test]'), node 20+ and npm.
# Generated code and every file the run makes go to a temporary folder.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tests/sdk"
VENV="$ROOT/.venv"
TOOLS="$ROOT/.venv-sdk"
FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-25}"   # per operation and phase
FUZZ_SECONDS="${FUZZ_SECONDS:-120}"   # the fuzzer's whole time budget
FUZZ_SEED="${FUZZ_SEED:-20261201}"    # fixed, so a failure can be replayed
WORK=$(mktemp -d)
SERVER_PID=""
SCHEMA=""

cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$SCHEMA" ]; then
        "$VENV/bin/python" "$HERE/pg_schema.py" drop "$SCHEMA_BASE" "$SCHEMA" || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# The tools, in a venv of their own kept between runs and rebuilt when the
# pins change.
if ! cmp -s "$HERE/requirements.txt" "$TOOLS/requirements.txt" 2>/dev/null; then
    rm -rf "$TOOLS"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
    cp "$HERE/requirements.txt" "$TOOLS/requirements.txt"
fi

DATABASE_URL="${1:-sqlite:///$WORK/registry.db}"
ENGINE="${DATABASE_URL%%:*}"
if [[ "$DATABASE_URL" == postgresql* ]]; then
    SCHEMA_BASE="$DATABASE_URL"
    SCHEMA="sdk_$(date +%s)_$$"
    DATABASE_URL=$("$VENV/bin/python" "$HERE/pg_schema.py" create "$SCHEMA_BASE" "$SCHEMA")
fi

PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
# Given secrets are hashed at a password-grade cost by default; the fuzzer
# sends hundreds, and the cost is not what is under test here.
CLIENT_REGISTRY_DATABASE_URL="$DATABASE_URL" CLIENT_REGISTRY_GIVEN_SECRET_ROUNDS=1000 \
    "$VENV/bin/client-registry" serve --host 127.0.0.1 --port "$PORT" \
    >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
up() {
    "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$BASE/healthz" 2>/dev/null
}
for _ in $(seq 1 100); do
    up && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
    sleep 0.2
done
# The first start on an empty database prints the admin token with every scope.
TOKEN=$(grep -o 'crat_[A-Za-z0-9_-]*' "$WORK/serve.out" | head -n 1)
[ -n "$TOKEN" ] || { echo "serve printed no first-start token" >&2; exit 1; }
"$VENV/bin/client-registry" openapi >"$WORK/openapi.json"

echo "-- schemathesis on $ENGINE ($FUZZ_EXAMPLES examples, at most ${FUZZ_SECONDS}s, seed $FUZZ_SEED)"
# The service's own access line, one a request: "... client_registry.access [id] GET /path 200 ...".
answered() { cat "$WORK/serve.out" "$WORK/serve.err" | grep -c ' client_registry\.access ' || true; }
before=$(answered)
status=0
(cd "$WORK" && "$TOOLS/bin/st" --config-file "$HERE/schemathesis.toml" run "$WORK/openapi.json" \
    --url "$BASE" -H "Authorization: Bearer $TOKEN" --checks all \
    --max-examples "$FUZZ_EXAMPLES" --max-time "$FUZZ_SECONDS" --seed "$FUZZ_SEED" \
    --no-color --warnings off) >"$WORK/st.out" 2>&1 || status=$?
after=$(answered)
tail -n 25 "$WORK/st.out"
echo "schemathesis on $ENGINE: $((after - before)) requests answered by the server, exit status $status"
if [ "$status" -ne 0 ]; then
    cat "$WORK/st.out"
    exit "$status"
fi

echo "-- Python SDK (openapi-python-client) on $ENGINE"
PATH="$TOOLS/bin:$PATH" "$TOOLS/bin/openapi-python-client" generate --path "$WORK/openapi.json" \
    --output-path "$WORK/python/client_registry_sdk" --meta none >"$WORK/python.out" 2>&1 \
    || { cat "$WORK/python.out"; exit 1; }
PYTHONPATH="$WORK/python" "$TOOLS/bin/python" "$HERE/python_flow.py" "$BASE" "$TOKEN"

echo "-- TypeScript SDK (@hey-api/openapi-ts, tsc --noEmit) on $ENGINE"
mkdir "$WORK/ts"
cp "$HERE/ts/package.json" "$HERE/ts/package-lock.json" "$HERE/ts/tsconfig.json" \
    "$HERE/ts/flow.ts" "$WORK/ts/"
(
    cd "$WORK/ts"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    npx openapi-ts --input "$WORK/openapi.json" --output sdk --silent
    npx tsc --noEmit -p .
    npx tsc -p .
    node dist/flow.js "$BASE" "$TOKEN"
)

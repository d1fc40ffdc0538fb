#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs on a fresh machine.
# The S3 tests start moto_server on 127.0.0.1 themselves and stop it after.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import moto.server, boto3, flask' 2>/dev/null; then
    python3 -m pip install --quiet 'moto[server]' boto3
fi
cargo test --locked --all-targets "$@"

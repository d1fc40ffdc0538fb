#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs on a fresh machine.
# The S3 tests start moto_server on 127.0.0.1 themselves and stop it after.
# The DOT test runs Graphviz's `dot`, and fails without it.
# The HTML tests run Debian's `chromium` headless, and fail without it.
# The Spark tests run pyspark on Java 17 (both installed below).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v dot >/dev/null; then
    # Debian's package lists may be missing (a fresh image) or stale.
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends graphviz ||
        { apt-get update && apt-get install -y --no-install-recommends graphviz; }
fi
# The --html tests render the report in headless Chromium, and fail without it.
if ! command -v chromium >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends chromium ||
        { apt-get update && apt-get install -y --no-install-recommends chromium; }
fi
if ! python3 -c 'import moto.server, boto3, flask' 2>/dev/null; then
    python3 -m pip install --quiet 'moto[server]' boto3
fi
# The Spark tests run contrib/spark/keytrail_spark.py on pyspark in local[2]:
# Java 17 from Debian, pyspark (about 450 MB) from PyPI. Once they are
# installed, a Spark test that cannot run fails instead of skipping.
if ! java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless
fi
if ! python3 -c 'import pyspark' 2>/dev/null || ! command -v spark-submit >/dev/null; then
    python3 -m pip install --quiet 'pyspark>=4,<5'
fi
export KEYTRAIL_SPARK_TESTS=require
cargo test --locked --all-targets "$@"

#!/usr/bin/env bash
# Throughput and peak memory of `keytrail trace` reading an s3:// source over
# loopback, against moto's S3 server, with the same corpus read from disk as
# a baseline.
#
# Usage: benches/s3_throughput.sh [OBJECTS=3000] [CONCURRENCY=32] [KIB]
# Needs: python3 with moto[server] and boto3, /usr/bin/time (GNU).
# Set KEYTRAIL_BIN to skip the release build.
#
# The corpus is OBJECTS copies of the fixture incident's files (about 1 KB of
# gzip each), spread over the delivery layout's day folders; with KIB, each
# object is instead a synthetic CloudTrail file of about KIB KiB of gzip
# (random, incompressible payloads), to see that memory stays bounded by the
# concurrency, not the object size. The key traced
# appears nowhere, so every object is listed, fetched and scanned exactly once
# (no lineage, no second pass). moto serves only a few hundred GETs per
# second, so against it the numbers measure moto as much as keytrail; compare
# the local baseline and the CPU time.
set -euo pipefail

objects=${1:-3000}
concurrency=${2:-32}
kib=${3:-0}
root=$(cd "$(dirname "$0")/.." && pwd)
python=${KEYTRAIL_PYTHON:-python3}
if [[ -z "${KEYTRAIL_BIN:-}" ]]; then
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    KEYTRAIL_BIN=${CARGO_TARGET_DIR:-$root/target}/release/keytrail
fi

work=$(mktemp -d)
moto_pid=
cleanup() {
    if [[ -n "$moto_pid" ]]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$python" "$root/tests/moto_server.py" $$ -H 127.0.0.1 -p 0 >/dev/null 2>"$work/moto.log" &
moto_pid=$!
for _ in $(seq 200); do
    endpoint=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/moto.log" | head -1 || true)
    [[ -n "$endpoint" ]] && break
    sleep 0.1
done
[[ -n "$endpoint" ]] || { cat "$work/moto.log"; exit 1; }

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

# The corpus, on disk first.
"$python" - "$root/fixtures/incident/AWSLogs" "$work/corpus/AWSLogs" "$objects" "$kib" <<'PY'
import gzip, json, os, shutil, sys
src, dst, n, kib = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
files = sorted(
    os.path.join(r, f) for r, _, fs in os.walk(src) for f in fs
    if "/CloudTrail/" in os.path.join(r, f)
)
big = None
if kib:
    records = [
        {"eventVersion": "1.08", "eventID": f"bench-{i}", "eventTime": "2025-12-08T12:00:00Z",
         "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
         "userIdentity": {"type": "IAMUser", "accessKeyId": "AKIAEXAMPLEBENCH0001"},
         "requestParameters": {"pad": os.urandom(768).hex()}}
        for i in range(kib)
    ]
    big = gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)
for i in range(n):
    day = 6 + i % 5
    d = f"{dst}/111111111111/CloudTrail/us-east-1/2025/12/{day:02d}"
    os.makedirs(d, exist_ok=True)
    out = f"{d}/111111111111_CloudTrail_us-east-1_202512{day:02d}T0000Z_{i:06d}.json.gz"
    if big:
        open(out, "wb").write(big)
    else:
        shutil.copyfile(files[i % len(files)], out)
PY
upload_start=$(date +%s.%N)
"$python" "$root/tests/s3_seed.py" "$endpoint" upload bench "$work/corpus/AWSLogs" AWSLogs/ >/dev/null
upload_end=$(date +%s.%N)
echo "uploaded $objects objects in $(echo "$upload_end - $upload_start" | bc -l | cut -c1-5) s"

run() { # NAME SOURCE [ARGS...]
    local name=$1 source=$2
    shift 2
    /usr/bin/time -v "$KEYTRAIL_BIN" trace --key AKIAEXAMPLENOMATCH01 -q --force \
        -o "$work/$name.csv" --report "$work/$name.json" "$@" "$source" 2>"$work/$name.time" \
        || { cat "$work/$name.time"; exit 1; }
    "$python" - "$name" "$work/$name.json" "$work/$name.time" <<'PY'
import json, re, sys
name, report, timing = sys.argv[1:]
inputs = json.load(open(report))["inputs"]
t = open(timing).read()
wall = t.split("Elapsed (wall clock) time (h:mm:ss or m:ss): ")[1].split()[0].split(":")
wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) + float(
    re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
files, size = inputs["files_read"], inputs["bytes_read"]
print(f"{name:>10}: {files} objects, {size / 1e6:.1f} MB in {wall:.2f} s wall ({cpu:.2f} s CPU): "
      f"{files / wall:.0f} objects/s, {size / 1e6 / wall:.2f} MB/s, peak RSS {rss / 1024:.0f} MiB, "
      f"skipped {len(inputs['skipped'])}")
PY
}

run local "$work/corpus"
before=$(grep -c '"GET /bench/AWSLogs/.*x-id=GetObject' "$work/moto.log" || true)
run s3 s3://bench --endpoint-url "$endpoint" --s3-concurrency "$concurrency"
after=$(grep -c '"GET /bench/AWSLogs/.*x-id=GetObject' "$work/moto.log" || true)
echo "moto answered $((after - before)) object GETs during the s3 run"

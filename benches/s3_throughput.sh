#!/usr/bin/env bash
# Throughput and peak memory of `keytrail trace` reading an s3:// source over
# loopback, against a local S3 server (moto by default, or s3s-fs), with the
# same corpus read from disk as a baseline.
#
# Usage: [SERVER=moto|s3s] benches/s3_throughput.sh [OBJECTS=3000] [CONCURRENCY=64] [KIB]
# Needs: python3, /usr/bin/time (GNU); with SERVER=moto (the default),
# moto[server] and boto3; with SERVER=s3s, the s3s-fs binary (on PATH, or
# S3S_FS_BIN), installed with
#   cargo install s3s-fs --version 0.14.1 --features binary --locked
# Set KEYTRAIL_BIN to skip the release build.
#
# The corpus is OBJECTS copies of the fixture incident's files (about 1 KB of
# gzip each), spread over the delivery layout's day folders; with KIB, each
# object is instead a synthetic CloudTrail file of about KIB KiB of gzip
# (random, incompressible payloads), to see that memory stays bounded by the
# concurrency, not the object size. With CORPUS=DIR, the AWSLogs tree of a
# gen_corpus folder is served instead (linked into s3s-fs's root, uploaded to
# moto): an organization's many account and region folders, where listing
# counts. The key traced
# appears nowhere, so every object is listed, fetched and scanned exactly once
# (no lineage, no second pass). moto serves only a few hundred GETs per
# second, so against it the numbers measure moto as much as keytrail; compare
# the local baseline and the CPU time.
#
# SERVER=s3s serves the bucket with s3s-fs instead, which checks SigV4
# signatures (it is started with the same access key and secret keytrail
# signs with) and costs about as much CPU per GET as keytrail. Each of its
# responses stalls about 44 ms on loopback (head and body are written apart,
# without TCP_NODELAY, and wait for a delayed ACK), so like real S3 it needs
# many GETs in flight: objects/s is about CONCURRENCY / latency until the two
# cores are busy (7,000 objects: ~420/s at 16, ~1,300/s at 64, 3,000-3,500/s
# at 256-512, where keytrail spends 0.2-0.3 ms of CPU per object). Its bucket is seeded by
# copying the corpus into its root folder rather than by uploading, so objects
# carry no stored ETag and s3s-fs hashes each file it serves. Either way the
# server's own CPU time during the s3 run is printed next to keytrail's, to
# tell whether the server, keytrail or the round trips are the limit.
set -euo pipefail

objects=${1:-3000}
concurrency=${2:-64}
kib=${3:-0}
server=${SERVER:-moto}
root=$(cd "$(dirname "$0")/.." && pwd)
python=${KEYTRAIL_PYTHON:-python3}
case "$server" in
    moto) ;;
    s3s)
        s3s_fs=${S3S_FS_BIN:-s3s-fs}
        command -v "$s3s_fs" >/dev/null || {
            echo "SERVER=s3s needs s3s-fs ($s3s_fs not found); install it with" >&2
            echo "  cargo install s3s-fs --version 0.14.1 --features binary --locked" >&2
            echo "or point S3S_FS_BIN at the binary" >&2
            exit 1
        }
        ;;
    *) echo "SERVER must be moto or s3s, not $server" >&2; exit 2 ;;
esac
if [[ -z "${KEYTRAIL_BIN:-}" ]]; then
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    KEYTRAIL_BIN=${CARGO_TARGET_DIR:-$root/target}/release/keytrail
fi

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

# Both servers listen on port 0 and log the address they got.
if [[ "$server" == moto ]]; then
    "$python" "$root/tests/moto_server.py" $$ -H 127.0.0.1 -p 0 >/dev/null 2>"$work/server.log" &
else
    mkdir "$work/s3s-root"
    RUST_LOG=s3s_fs=info "$s3s_fs" --host 127.0.0.1 --port 0 --access-key "$AWS_ACCESS_KEY_ID" \
        --secret-key "$AWS_SECRET_ACCESS_KEY" "$work/s3s-root" >"$work/server.log" 2>&1 &
fi
server_pid=$!
endpoint=
for _ in $(seq 200); do
    endpoint=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/server.log" | head -1 || true)
    [[ -n "$endpoint" ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
[[ -n "$endpoint" ]] || { cat "$work/server.log"; exit 1; }

# CPU seconds (user + system) the server has used so far, from /proc.
server_cpu() {
    local stat fields
    stat=$(<"/proc/$server_pid/stat")
    read -ra fields <<<"${stat##*) }" # fields 3.., past the command name
    echo "scale=2; (${fields[11]} + ${fields[12]}) / $(getconf CLK_TCK)" | bc -l
}

# The corpus, on disk first.
corpus="$work/corpus"
if [[ -n "${CORPUS:-}" ]]; then
    corpus=$(realpath "$CORPUS")
else
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
fi
upload_start=$(date +%s.%N)
if [[ "$server" == moto ]]; then
    "$python" "$root/tests/s3_seed.py" "$endpoint" upload bench "$corpus/AWSLogs" AWSLogs/ >/dev/null
    seeded=uploaded
elif [[ -n "${CORPUS:-}" ]]; then
    ln -s "$corpus" "$work/s3s-root/bench"
    seeded="linked into s3s-fs's root"
else
    mkdir "$work/s3s-root/bench"
    cp -r "$corpus/AWSLogs" "$work/s3s-root/bench/"
    seeded="copied into s3s-fs's root"
fi
upload_end=$(date +%s.%N)
echo "$seeded $(find "$corpus/AWSLogs" -type f | wc -l) objects in $(echo "$upload_end - $upload_start" | bc -l | cut -c1-5) s"

run() { # NAME SOURCE [ARGS...]
    local name=$1 source=$2
    shift 2
    local status=0
    /usr/bin/time -v "$KEYTRAIL_BIN" trace --key AKIAEXAMPLENOMATCH01 -q --force \
        -o "$work/$name.csv" --report "$work/$name.json" "$@" "$source" 2>"$work/$name.time" \
        || status=$?
    # 3: some input was skipped (a generated corpus's ground-truth.json); the
    # report's count of skipped inputs says so below.
    if ((status != 0 && status != 3)); then
        cat "$work/$name.time"
        exit 1
    fi
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

run local "$corpus"
before=$(grep -c '"GET /bench/AWSLogs/.*x-id=GetObject' "$work/server.log" || true)
cpu_before=$(server_cpu)
run s3 s3://bench --endpoint-url "$endpoint" --s3-concurrency "$concurrency"
cpu_after=$(server_cpu)
after=$(grep -c '"GET /bench/AWSLogs/.*x-id=GetObject' "$work/server.log" || true)
if [[ "$server" == moto ]]; then
    echo "moto answered $((after - before)) object GETs during the s3 run"
fi
printf '%s used %.2f s CPU during the s3 run\n' "$(basename "${s3s_fs:-moto}")" "$(echo "$cpu_after - $cpu_before" | bc -l)"

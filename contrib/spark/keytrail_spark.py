#!/usr/bin/env python3
"""keytrail on Apache Spark: the engine schedules, keytrail reads.

    spark-submit [--master local[2]] contrib/spark/keytrail_spark.py \\
        --keytrail target/release/keytrail [--partitions N] \\
        TRACE FLAGS AND SOURCES (the same as `keytrail trace`)

The driver runs `keytrail shard` steps (see `keytrail shard --help` and the
README's "Scale out"):

1. `shard list` on the driver: the files, with keytrail's layout pruning
   (local folders, or s3:// / s3a:// prefixes, which keytrail lists and
   reads itself: no Hadoop S3 connector is needed);
2. pass 1, `shard scan` in `mapPartitions` on the executors: each file read
   once; out come the records that can extend a lineage, and each file's
   key filter (which stays on the executors, cached);
3. `shard closure` on the driver, over the collected records: the lineage;
4. pass 2, `shard select` in `mapPartitions`: the files whose filter may
   hold a lineage key are read again; out come the timeline's records and
   the input report, collected on the driver;
5. `shard merge` on the driver: every output of `keytrail trace`, byte for
   byte, and its exit status (0, 3 partial, 1 error, 2 usage).

The keytrail binary is shipped to the executors with `SparkContext.addFile`
(the same as `--files`), so it must be built for the executors' platform.
A task whose keytrail step fails is retried by Spark (spark.task.maxFailures);
a file that cannot be read is not a task failure: it is reported, as by
`trace`, and the exit status says so.
"""

import argparse
import json
import os
import stat
import subprocess
import sys
import tempfile
import time

# Flags of `keytrail trace` that the executors' steps need too.
READ_FLAGS = {
    "--profile": True,
    "--region": True,
    "--endpoint-url": True,
    "--no-sign-request": False,
    "--s3-concurrency": True,
    "--delivery-margin": True,
}


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Run `keytrail trace` on Spark; takes the same flags as keytrail trace.",
        allow_abbrev=False,
    )
    p.add_argument("--keytrail", default="keytrail", help="the keytrail binary (shipped to executors)")
    p.add_argument("--partitions", type=int, default=0, help="tasks per pass [default: 4 x default parallelism]")
    p.add_argument("--task-threads", type=int, default=1, help="threads keytrail uses inside one task")
    p.add_argument("--work-dir", help="keep the shard files here [default: a temporary folder]")
    p.add_argument("--timings", help="write the time of each phase (seconds) as JSON to this file")
    ours, trace = p.parse_known_args(argv)
    # s3a:// is Hadoop's name for S3; keytrail reads it as s3://.
    trace = ["s3://" + a[len("s3a://"):] if a.startswith("s3a://") else a for a in trace]
    read = []
    i = 0
    while i < len(trace):
        flag, _, value = trace[i].partition("=")
        if flag in READ_FLAGS:
            if value or not READ_FLAGS[flag]:
                read.append(trace[i])
            else:
                read.extend(trace[i : i + 2])
                i += 1
        i += 1
    return ours, trace, read


def keytrail_on_executor(name):
    """The shipped binary (`name`: its file name), executable."""
    from pyspark import SparkFiles

    path = SparkFiles.get(name)
    mode = os.stat(path).st_mode
    if not mode & stat.S_IXUSR:
        os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def step_on_partition(name, step, args, cwd, lineage=None):
    """A function for mapPartitions that runs `keytrail shard STEP` over the
    partition's lines and yields its output lines."""

    def run(lines):
        binary = keytrail_on_executor(name)
        with tempfile.TemporaryDirectory(prefix="keytrail-shard-") as tmp:
            path = os.path.join(tmp, "in.jsonl")
            n = 0
            with open(path, "w", encoding="utf-8") as f:
                for line in lines:
                    f.write(line)
                    f.write("\n")
                    n += 1
            if n == 0:
                return
            cmd = [binary, "shard", step, "--in", path] + args
            if lineage is not None:
                lpath = os.path.join(tmp, "lineage.json")
                with open(lpath, "w", encoding="utf-8") as f:
                    f.write(lineage.value)
                cmd += ["--lineage", lpath]
            # Local paths are relative to the driver's folder (local mode,
            # or a shared file system).
            where = cwd if os.path.isdir(cwd) else None
            done = subprocess.run(cmd, cwd=where, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if done.returncode != 0:
                # Spark retries the task.
                raise RuntimeError(
                    "keytrail shard %s exited %d: %s"
                    % (step, done.returncode, done.stderr.decode("utf-8", "replace").strip())
                )
            for line in done.stdout.decode("utf-8").splitlines():
                if line:
                    yield line

    return run


def on_driver(binary, step, args, inputs=(), capture=True):
    cmd = [binary, "shard", step]
    for i in inputs:
        cmd += ["--in", i]
    cmd += args
    if capture:
        done = subprocess.run(cmd, stdout=subprocess.PIPE)
        if done.returncode != 0:
            sys.exit(done.returncode)
        return done.stdout.decode("utf-8")
    return subprocess.run(cmd).returncode


def main(argv):
    ours, trace, read = parse_args(argv)
    binary = os.path.abspath(ours.keytrail) if os.sep in ours.keytrail else ours.keytrail
    phases = {}
    t0 = time.monotonic()

    from pyspark import StorageLevel
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("keytrail").config("spark.log.level", "WARN").getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("ERROR")
    shipped = binary if os.sep in binary else _which(binary)
    sc.addFile(shipped)
    name = os.path.basename(shipped)
    partitions = ours.partitions or 4 * sc.defaultParallelism
    cwd = os.getcwd()
    work = ours.work_dir or tempfile.mkdtemp(prefix="keytrail-spark-")
    os.makedirs(work, exist_ok=True)
    task_args = ["-j", str(ours.task_threads)] + read
    phases["startup"] = time.monotonic() - t0

    # 1. List, on the driver, with keytrail's own layout pruning.
    t = time.monotonic()
    listed = [l for l in on_driver(binary, "list", trace).splitlines() if l]
    # Big files first, so that no task is left with the largest at the end.
    listed.sort(key=lambda l: -json.loads(l).get("size", 0))
    phases["list"] = time.monotonic() - t

    # 2. Pass 1 on the executors; the per-file lines stay there.
    t = time.monotonic()
    files = sc.parallelize(listed, max(1, min(partitions, len(listed))))
    scanned = files.mapPartitions(step_on_partition(name, "scan", task_args, cwd)).persist(StorageLevel.MEMORY_AND_DISK)
    records = scanned.filter(lambda l: l.startswith('{"kind":"record"')).collect()
    phases["pass1"] = time.monotonic() - t

    # 3. The closure, on the driver.
    t = time.monotonic()
    records_path = os.path.join(work, "records.jsonl")
    with open(records_path, "w", encoding="utf-8") as f:
        for l in records:
            f.write(l + "\n")
    lineage = on_driver(binary, "closure", trace, [records_path])
    with open(os.path.join(work, "lineage.json"), "w", encoding="utf-8") as f:
        f.write(lineage)
    phases["closure"] = time.monotonic() - t

    # 4. Pass 2 on the executors.
    t = time.monotonic()
    shared = sc.broadcast(lineage)
    select_args = task_args
    rows = (
        scanned.filter(lambda l: not l.startswith('{"kind":"record"'))
        .mapPartitions(step_on_partition(name, "select", select_args, cwd, shared))
        .collect()
    )
    scanned.unpersist()
    rows_path = os.path.join(work, "rows.jsonl")
    with open(rows_path, "w", encoding="utf-8") as f:
        for l in rows:
            f.write(l + "\n")
    reread = sum(json.loads(l).get("rereads", 0) for l in rows if l.startswith('{"kind":"tally"'))
    phases["pass2"] = time.monotonic() - t

    # 5. Every output, on the driver.
    t = time.monotonic()
    status = on_driver(binary, "merge", trace, [rows_path], capture=False)
    phases["merge"] = time.monotonic() - t
    phases["files"] = len(listed)
    phases["records_to_driver"] = len(records)
    phases["records_bytes"] = sum(len(l) + 1 for l in records)
    phases["files_reread"] = reread
    phases["rows_to_driver"] = len(rows)
    if ours.timings:
        with open(ours.timings, "w", encoding="utf-8") as f:
            json.dump(phases, f, indent=1)
    spark.stop()
    return status


def _which(name):
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    sys.exit("keytrail_spark: cannot find %r on PATH (give --keytrail PATH)" % name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

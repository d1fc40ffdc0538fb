#!/usr/bin/env python3
"""Repacks the benchmark corpus into the containers analysts receive (issue 17).

    python3 benches/repack.py CORPUS OUT

Writes, never touching CORPUS:
- OUT/corpus.zip: every file under CORPUS/AWSLogs as a zip member, deflated as `zip -r`
  does by default (the .json.gz members barely shrink), paths kept (AWSLogs/...), so
  keytrail prunes inside it as in the folder;
- OUT/export/TASK/STREAM/000000.gz, 000001.gz, ...: a CloudWatch Logs export task of the
  same records, one stream per account and region (ACCOUNT_CloudTrail_REGION, as
  CloudTrail's CloudWatch Logs delivery names them), each line "TIMESTAMP RECORD", records in
  delivery order, objects cut every CHUNK_MB of uncompressed lines (default 0: one object a
  stream); plus the aws-logs-write-test object an export task leaves.
Only the log files (CloudTrail/ folders) go into the export; the zip holds the digests too.
Python 3.11+, stdlib only; memory stays at one file's records.
"""
from __future__ import annotations

import gzip
import json
import os
import sys
import zipfile
import zlib
from pathlib import Path

TASK = "0b7e1f4c-2d3a-4e5f-8a9b-0c1d2e3f4a5b"


def main() -> None:
    corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
    chunk = int(os.environ.get("CHUNK_MB", "0")) * 1024 * 1024
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in (corpus / "AWSLogs").rglob("*") if p.is_file())

    with zipfile.ZipFile(out / "corpus.zip", "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6,
                         allowZip64=True) as z:
        for p in files:
            z.write(p, p.relative_to(corpus).as_posix())

    export = out / "export"
    export.mkdir(exist_ok=True)
    (export / "aws-logs-write-test").write_text("Permission Check Successful")
    streams: dict[str, list[Path]] = {}
    for p in files:
        parts = p.relative_to(corpus).parts
        if "CloudTrail" not in parts:
            continue
        at = parts.index("CloudTrail")
        streams.setdefault(f"{parts[at - 1]}_CloudTrail_{parts[at + 1]}", []).append(p)
    for stream, paths in sorted(streams.items()):
        d = export / TASK / stream
        d.mkdir(parents=True, exist_ok=True)
        n, size, w = 0, 0, None
        for p in paths:
            for r in json.loads(gzip.decompress(p.read_bytes()))["Records"]:
                line = (r["eventTime"].replace("Z", ".000Z") + " "
                        + json.dumps(r, separators=(",", ":")) + "\n").encode()
                if w is None or (chunk and size >= chunk):
                    if w is not None:
                        w.close()
                    w = gzip.open(d / f"{n:06d}.gz", "wb", compresslevel=6)
                    n, size = n + 1, 0
                w.write(line)
                size += len(line)
        if w is not None:
            w.close()
    print(f"{len(files)} files -> {out}/corpus.zip and {out}/export ({len(streams)} streams)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Converts the benchmark corpus into Security Lake's OCSF Parquet layout.

    python3 benches/ocsf_corpus.py [CORPUS] [OUT] [--version 2] [--per-file 20000] [--rows-per-group 8192]

CORPUS defaults to /work/bench-corpus, OUT to /tmp/ocsf-corpus (never commit
it). Needs pyarrow. Each `AWSLogs/…/CloudTrail/REGION/YYYY/MM/DD/` folder is
read in turn (so memory stays bounded by one day of one region) and its
records are written, by event day, to
`OUT/aws-security-data-lake-…/aws/CLOUD_TRAIL_MGMT/2.0/region=R/accountId=A/eventDay=D/`,
at most `--per-file` rows a file, with the same conversion as
fixtures/make_ocsf.py. Then time it against the JSON corpus, e.g.:

    /usr/bin/time -v target/release/keytrail trace --key AKIAJ5RODROD7WVUBJXL /tmp/ocsf-corpus -o /tmp/o.csv --force -q
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
import make_ocsf as mo  # noqa: E402


def day_folders(corpus: Path):
    for region_dir in sorted(corpus.rglob("CloudTrail/*")):
        if not region_dir.is_dir():
            continue
        for day in sorted(p for p in region_dir.glob("*/*/*") if p.is_dir()):
            yield day


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", type=Path, default=Path("/work/bench-corpus"))
    ap.add_argument("out", nargs="?", type=Path, default=Path("/tmp/ocsf-corpus"))
    ap.add_argument("--version", type=int, choices=(1, 2), default=2)
    ap.add_argument("--per-file", type=int, default=20000)
    ap.add_argument("--rows-per-group", type=int, default=8192)
    ap.add_argument("--codec", default="zstd")
    a = ap.parse_args()
    root = a.out / mo.BUCKET / "aws" / "CLOUD_TRAIL_MGMT" / f"{a.version}.0"
    started = time.time()
    n = files = 0
    for day in day_folders(a.corpus):
        groups: dict = defaultdict(list)
        for f in sorted(day.glob("*.json.gz")):
            try:
                doc = json.loads(gzip.decompress(f.read_bytes()))
            except (OSError, ValueError):
                continue
            for r in doc.get("Records", []):
                acct = r.get("recipientAccountId") or "000000000000"
                groups[(r.get("awsRegion", "unknown"), acct, r["eventTime"][:10].replace("-", ""))].append(r)
        for (region, acct, eday), recs in sorted(groups.items()):
            recs.sort(key=lambda r: (r["eventTime"], r["eventID"]))
            for i in range(0, len(recs), a.per_file):
                chunk = recs[i:i + a.per_file]
                name = hashlib.sha256(f"{day}/{region}/{acct}/{eday}/{i}".encode()).hexdigest()[:32]
                path = root / f"region={region}" / f"accountId={acct}" / f"eventDay={eday}" / f"{name}.parquet"
                mo.write_table(path, [mo.convert(r, a.version) for r in chunk], a.version, a.rows_per_group,
                               a.codec)
                files += 1
                n += len(chunk)
        print(f"{day}: {n} records, {files} files, {time.time() - started:.0f} s", file=sys.stderr)
    print(json.dumps({"records": n, "files": files, "out": str(a.out)}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The script an analyst writes first: gzip + json over every file, printing
the records made with one access key (its direct actions only; no lineage).

Usage: naive_scan.py KEY < files.nul   (NUL-separated paths, as `find -print0`)
       naive_scan.py KEY FILE...

Prints one compact JSON record per line, and the count on stderr.
"""

import gzip
import json
import sys


def paths():
    if len(sys.argv) > 2:
        yield from sys.argv[2:]
        return
    data = sys.stdin.buffer.read()
    for p in data.split(b"\0"):
        if p:
            yield p.decode()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    key = sys.argv[1]
    out = sys.stdout
    found = 0
    for path in paths():
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            doc = json.load(f)
        for r in doc.get("Records", []):
            ident = r.get("userIdentity") or {}
            if ident.get("accessKeyId") == key:
                out.write(json.dumps(r, separators=(",", ":")))
                out.write("\n")
                found += 1
    print(f"{found} records", file=sys.stderr)


if __name__ == "__main__":
    main()

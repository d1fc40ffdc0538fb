#!/bin/sh
# Builds fuzz/corpus/<target>/ from the committed fixtures and the shared
# CloudTrail samples. Safe to rerun; corpus/ is gitignored.
#
#   decode_file:   every fixture and sample file, as is (gzip and plain).
#   decode_record: single records, split out of the plain JSON files.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
samples=${CLOUDTRAIL_SAMPLES:-$root/../shared/cloudtrail-samples}
file_dir=$here/corpus/decode_file
rec_dir=$here/corpus/decode_record
mkdir -p "$file_dir" "$rec_dir"

# Anything bigger is slow to mutate and adds nothing the small ones lack.
max=1048576

add_file() {
    size=$(wc -c <"$1")
    [ "$size" -le "$max" ] || return 0
    sum=$(sha1sum "$1" | cut -c1-40)
    cp "$1" "$file_dir/$sum"
}

find "$root/fixtures" -type f \( -name '*.json' -o -name '*.gz' -o -name '*.jsonl' \) |
    while read -r f; do add_file "$f"; done
if [ -d "$samples" ]; then
    find "$samples" -type f \( -name '*.json' -o -name '*.gz' -o -name '*.jsonl' -o -name '*.log' \) |
        while read -r f; do add_file "$f"; done
fi

# Records: the decoder's own view of a record is one element of Records or
# one line; python3 (stdlib) extracts them from the plain files.
python3 - "$file_dir" "$rec_dir" <<'PY'
import gzip, hashlib, json, os, sys
src, dst = sys.argv[1], sys.argv[2]
count = 0
def emit(rec):
    global count
    b = json.dumps(rec, separators=(",", ":")).encode()
    if len(b) > 65536:
        return
    name = hashlib.sha1(b).hexdigest()
    with open(os.path.join(dst, name), "wb") as f:
        f.write(b)
    count += 1
for name in sorted(os.listdir(src)):
    data = open(os.path.join(src, name), "rb").read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except Exception:
            continue
    text = data.decode("utf-8", "replace")
    docs = []
    try:
        docs.append(json.loads(text))
    except Exception:
        for line in text.splitlines():
            try:
                docs.append(json.loads(line))
            except Exception:
                pass
    for doc in docs:
        recs = doc.get("Records") or doc.get("Events") if isinstance(doc, dict) else doc
        if isinstance(doc, dict) and recs is None:
            recs = [doc]
        if isinstance(recs, list):
            for r in recs[:200]:
                emit(r)
print(f"decode_record: {count} records", file=sys.stderr)
PY
echo "decode_file: $(ls "$file_dir" | wc -l) files" >&2

#!/usr/bin/env bash
# The benchmark corpus as a folder, as one zip and as a CloudWatch Logs export
# (issue 17): keytrail's wall time and peak RSS on each, against `gzip -dc`
# over the folder's log files and over the export's objects.
#
#   python3 benches/repack.py bench-corpus bench-containers     # once, ~5 min
#   CORPUS=bench-corpus PACKED=bench-containers RUNS=5 benches/containers.sh
#
# Each tool runs RUNS times, interleaved round by round; the table gives
# medians, the ratio to `gzip -dc` over the folder's log files, and the
# largest peak RSS. Every keytrail run must give the folder's rows (the
# `source_file` column aside).
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS=${CORPUS:-bench-corpus}
PACKED=${PACKED:-bench-containers}
RUNS=${RUNS:-3}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/keytrail}
KEY=$(jq -r .seed_key "$CORPUS/ground-truth.json")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
find "$CORPUS/AWSLogs" -path '*/CloudTrail/*' -name '*.json.gz' -print0 | sort -z >"$tmp/folder"
find "$PACKED/export" -name '*.gz' -print0 | sort -z >"$tmp/export"
export BIN KEY CORPUS PACKED tmp

tool_folder() { "$BIN" trace --key "$KEY" -j2 "$CORPUS/AWSLogs" -o "$tmp/out.folder" --format csv -q --force; }
tool_zip() { "$BIN" trace --key "$KEY" -j2 "$PACKED/corpus.zip" -o "$tmp/out.zip" --format csv -q --force; }
tool_export() { "$BIN" trace --key "$KEY" -j2 "$PACKED/export" -o "$tmp/out.export" --format csv -q --force; }
# Export objects cut at 30 MB of lines, where they exist
# (`split -C 30M` of each stream, re-gzipped): most are read whole.
tool_export30() { "$BIN" trace --key "$KEY" -j2 "$PACKED/export-30m" -o "$tmp/out.export30" --format csv -q --force; }
tool_gzip_folder() { xargs -0 gzip -dc <"$tmp/folder" >/dev/null; }
tool_gzip_export() { xargs -0 gzip -dc <"$tmp/export" >/dev/null; }
export -f tool_folder tool_zip tool_export tool_export30 tool_gzip_folder tool_gzip_export
TOOLS="folder zip export gzip_folder gzip_export"
[[ -d $PACKED/export-30m ]] && TOOLS+=" export30"

xargs -0 cat <"$tmp/folder" >/dev/null
cat "$PACKED/corpus.zip" >/dev/null
xargs -0 cat <"$tmp/export" >/dev/null
declare -A times rss
for round in $(seq 1 "$RUNS"); do
    for t in $TOOLS; do
        /usr/bin/time -f '%e %M' -o "$tmp/time" bash -c "tool_$t" || true
        read -r secs kb < <(tail -1 "$tmp/time")
        times[$t]+="$secs "
        (( kb > ${rss[$t]:-0} )) && rss[$t]=$kb
        echo "round $round $t ${secs}s ${kb}KB" >&2
    done
done
rows() { python3 -c '
import csv, sys
r = list(csv.reader(open(sys.argv[1], newline="")))
at = r[0].index("source_file")
print("\n".join(sorted("\x1f".join(c for i, c in enumerate(row) if i != at) for row in r)))' "$1"; }
for t in zip export ${TOOLS##*gzip_export}; do
    if [[ "$(rows "$tmp/out.$t")" == "$(rows "$tmp/out.folder")" ]]; then
        echo "$t: same rows as the folder ($(($(wc -l <"$tmp/out.$t") - 1)))" >&2
    else
        echo "$t: ROWS DIFFER from the folder" >&2
    fi
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
floor=$(echo "${times[gzip_folder]}" | median)
echo "| input | median wall (s) | runs (s) | × gzip -dc (folder) | peak RSS (MB) |"
echo "|---|---:|---|---:|---:|"
for t in $TOOLS; do
    m=$(echo "${times[$t]}" | median)
    printf '| %s | %s | %s | %.2f | %d |\n' "$t" "$m" "$(echo "${times[$t]}" | xargs | tr ' ' '/')" \
        "$(echo "$m / $floor" | bc -l)" "$(( ${rss[$t]} / 1024 ))"
done

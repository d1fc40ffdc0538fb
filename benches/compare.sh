#!/usr/bin/env bash
# End-to-end comparison (issue 4): keytrail against the tools analysts use
# today, on the same corpus and machine, in one run.
#
#   benches/compare.sh                           # 1.5 M events in bench-corpus/, reused when present
#   CORPUS=/work/bench-corpus RUNS=5 benches/compare.sh
#   TOOLS="keytrail-j1 keytrail-j2 gzip" benches/compare.sh
#   BASELINE=/tmp/keytrail-old TOOLS="baseline-j2 keytrail-j2 gzip" benches/compare.sh
#
# Environment: CORPUS (bench-corpus), EVENTS (1500000), SEED (1),
# GEN_ARGS (--org; extra gen_corpus options), RUNS (3), TOOLS (all below),
# CARGO_TARGET_DIR (target), BASELINE (another keytrail binary, measured as
# the tools baseline-j1 and baseline-j2, to compare a change before and after
# in one interleaved run).
#
# Each tool runs RUNS times, interleaved round by round so that background
# load spreads over all of them. The table gives the median wall time, the
# ratio to `gzip -dc` over the same files (the single-core decompression floor
# any naive tool pays), and the peak RSS (GNU time %M: the largest single
# process of the command, over all runs). Only keytrail follows the lineage;
# the other tools select the seed key's own records.
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS=${CORPUS:-bench-corpus}
EVENTS=${EVENTS:-1500000}
SEED=${SEED:-1}
GEN_ARGS=${GEN_ARGS:---org}
RUNS=${RUNS:-3}
TOOLS=${TOOLS:-keytrail-j1 keytrail-j2 gzip pigz jq duckdb python}
TARGET=${CARGO_TARGET_DIR:-target}

have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
    echo "installing $1 (apt)" >&2
    { apt-get install -y "$1" || { apt-get update && apt-get install -y "$1"; }; } >/dev/null
}
[[ -x /usr/bin/time ]] || apt_install time
have pigz || apt_install pigz
have jq || apt_install jq
python3 -c 'import duckdb' 2>/dev/null || pip install -q duckdb

# Two builds: the example pulls in dev-dependency features, and the measured
# keytrail must be the binary users get.
echo "building keytrail (release)" >&2
cargo build --release --locked --quiet --bin keytrail
BIN=$TARGET/release/keytrail

# The corpus: reused when its ground truth says it has these options.
truth=$CORPUS/ground-truth.json
read -r -a gen_args <<<"$GEN_ARGS"
if [[ -f $truth ]] && [[ "$(jq -r '"\(.options.events) \(.options.seed)"' "$truth")" == "$EVENTS $SEED" ]]; then
    echo "reusing $CORPUS ($EVENTS events, seed $SEED)" >&2
else
    if [[ -e $CORPUS && ! -f $truth ]] && [[ -n "$(ls -A "$CORPUS")" ]]; then
        echo "$CORPUS exists and is not a generated corpus (no ground-truth.json); refusing to overwrite" >&2
        exit 1
    fi
    rm -rf "${CORPUS:?}/AWSLogs" "$truth"
    echo "building gen_corpus (release)" >&2
    cargo build --release --locked --quiet --example gen_corpus
    echo "generating $CORPUS: $EVENTS events, seed $SEED ${gen_args[*]}" >&2
    GEN=$TARGET/release/examples/gen_corpus
    /usr/bin/time -f 'generated in %e s, peak RSS %M KB' "$GEN" --out "$CORPUS" --events "$EVENTS" --seed "$SEED" "${gen_args[@]}" >/dev/null
fi
KEY=$(jq -r .seed_key "$truth")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
FILES=$tmp/files
find "$CORPUS/AWSLogs" -path '*/CloudTrail/*' -name '*.json.gz' -print0 | sort -z >"$FILES"
nfiles=$(tr -cd '\0' <"$FILES" | wc -c)
gz_mb=$(du -cb --files0-from="$FILES" | tail -1 | awk '{printf "%.0f", $1 / 1e6}')
BASELINE=${BASELINE:-}
export BIN KEY CORPUS FILES tmp BASELINE

# One function per tool; each writes what it found to $tmp/out.TOOL.
tool_keytrail_j1() { "$BIN" trace --key "$KEY" -j1 "$CORPUS/AWSLogs" -o "$tmp/out.keytrail-j1" --format csv -q --force; }
tool_keytrail_j2() { "$BIN" trace --key "$KEY" -j2 "$CORPUS/AWSLogs" -o "$tmp/out.keytrail-j2" --format csv -q --force; }
tool_baseline_j1() { "$BASELINE" trace --key "$KEY" -j1 "$CORPUS/AWSLogs" -o "$tmp/out.baseline-j1" --format csv -q --force; }
tool_baseline_j2() { "$BASELINE" trace --key "$KEY" -j2 "$CORPUS/AWSLogs" -o "$tmp/out.baseline-j2" --format csv -q --force; }
tool_gzip() { xargs -0 gzip -dc <"$FILES" >/dev/null; }
tool_pigz() { xargs -0 pigz -dc <"$FILES" >/dev/null; }
tool_jq() {
    xargs -0 gzip -dc <"$FILES" |
        jq -c --arg k "$KEY" '.Records[] | select(.userIdentity.accessKeyId == $k)' >"$tmp/out.jq"
}
tool_duckdb() {
    python3 - "$FILES" "$KEY" "$tmp/out.duckdb" <<'EOF'
import sys, duckdb
files, key, out = sys.argv[1:]
paths = [p for p in open(files, "rb").read().decode().split("\0") if p]
rows = duckdb.execute("""
    SELECT to_json(r) FROM (
        SELECT unnest(Records) AS r FROM read_json($files, format = 'auto'))
    WHERE r.userIdentity.accessKeyId = $key
""", {"files": paths, "key": key}).fetchall()
with open(out, "w") as f:
    f.writelines(row[0] + "\n" for row in rows)
EOF
}
tool_python() { python3 benches/naive_scan.py "$KEY" <"$FILES" >"$tmp/out.python" 2>/dev/null; }
export -f tool_keytrail_j1 tool_keytrail_j2 tool_baseline_j1 tool_baseline_j2 tool_gzip tool_pigz tool_jq tool_duckdb tool_python

describe() {
    case $1 in
    keytrail-j1) echo 'keytrail `-j1` (lineage)' ;;
    keytrail-j2) echo 'keytrail `-j2` (lineage)' ;;
    baseline-j1) echo 'baseline keytrail `-j1` (lineage)' ;;
    baseline-j2) echo 'baseline keytrail `-j2` (lineage)' ;;
    gzip) echo '`gzip -dc` (floor, 1 core)' ;;
    pigz) echo '`pigz -dc`' ;;
    jq) echo '`gzip -dc` piped to `jq`, seed key only' ;;
    duckdb) echo 'DuckDB `read_json` + `unnest`, seed key only' ;;
    python) echo 'Python gzip+json, seed key only' ;;
    *) echo "$1" ;;
    esac
}

rows() {
    local out=$tmp/out.$1
    [[ -f $out ]] || { echo "–"; return; }
    case $1 in
    keytrail-* | baseline-*) python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline=""))) - 1)' "$out" ;;
    *) wc -l <"$out" | tr -d ' ' ;;
    esac
}

echo "warming the page cache ($nfiles files, $gz_mb MB)" >&2
xargs -0 cat <"$FILES" >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

declare -A times rss status
for round in $(seq 1 "$RUNS"); do
    for t in $TOOLS; do
        rm -f "$tmp/out.$t"
        code=0
        /usr/bin/time -f '%e %M' -o "$tmp/time" bash -c "tool_${t//-/_}" 2>"$tmp/err.$t" || code=$?
        read -r secs kb < <(tail -1 "$tmp/time")
        # keytrail exits 3 when an input was incomplete: the run still counts.
        partial_ok=0
        [[ $t == keytrail-* || $t == baseline-* ]] && [[ $code == 3 ]] && partial_ok=1
        if [[ $code != 0 && $partial_ok == 0 ]]; then
            status[$t]="exit $code"
            sed 's/^/    /' "$tmp/err.$t" | tail -5 >&2
        fi
        times[$t]+="$secs "
        ((kb > ${rss[$t]:-0})) && rss[$t]=$kb
        echo "round $round: $t ${secs}s $((kb / 1024)) MB (exit $code)" >&2
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A med
for t in $TOOLS; do med[$t]=$(median <<<"${times[$t]}"); done
base=${med[gzip]:-}
kt=${med[keytrail-j2]:-}

echo
echo "Corpus: \`$CORPUS\`, $(jq -r '.unique_events' "$truth") events in $nfiles files ($gz_mb MB gzipped), seed key \`$KEY\`."
echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load average before the runs $load_before. Median of $RUNS interleaved runs."
echo
echo "| tool | median wall (s) | runs (s) | × \`gzip -dc\` | × keytrail \`-j2\` | peak RSS (MB) | rows |"
echo "|---|---:|---|---:|---:|---:|---:|"
for t in $TOOLS; do
    m=${med[$t]}
    ratio=$([[ -n $base ]] && awk -v a="$m" -v b="$base" 'BEGIN {printf "%.2f", a / b}' || echo "–")
    vs=$([[ -n $kt ]] && awk -v a="$m" -v b="$kt" 'BEGIN {printf "%.1f", a / b}' || echo "–")
    runs=$(tr ' ' '\n' <<<"${times[$t]}" | grep . | paste -sd/)
    r=$(rows "$t")
    [[ -n ${status[$t]:-} ]] && r="$r (${status[$t]})"
    echo "| $(describe "$t") | $m | $runs | $ratio | $vs | $((rss[$t] / 1024)) | $r |"
done
echo
echo "Only keytrail follows the lineage: its rows are the whole timeline (ground truth: $(jq .timeline_rows "$truth") rows, $(jq '.credentials | length' "$truth") credentials)."
echo "The other tools find only the seed key's own records ($(jq .seed_direct_records_with_duplicates "$truth") with duplicate deliveries, $(jq .seed_direct_actions "$truth") unique)."
if [[ -n $base && -n ${med[keytrail-j1]:-} && -n $kt ]]; then
    awk -v a="${med[keytrail-j1]}" -v b="$kt" 'BEGIN {printf "keytrail -j2 speed-up over -j1: %.2f×\n", a / b}'
fi

#!/usr/bin/env bash
# keytrail on Spark against keytrail on one machine (issue 18), on the
# benchmark corpus, in one interleaved run:
#
#   CORPUS=/work/bench-corpus RUNS=3 benches/spark.sh
#
# Three runs per round: `keytrail trace -j2`; the Spark driver
# (contrib/spark/keytrail_spark.py) in local[2], two tasks of one keytrail
# thread each; and the pure PySpark job (contrib/spark/engine_parse.py)
# where the engine parses every record with from_json. Prints each run's
# wall time, the driver's phases (startup, list, pass 1, closure, pass 2,
# merge), what travelled to the driver, and checks that the driver's
# outputs are those of trace (the report but for rereads and bytes_read).
# Needs Java 17 and pyspark (scripts/test.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS=${CORPUS:-bench-corpus}
KEY=${KEY:-AKIAJ5RODROD7WVUBJXL}
RUNS=${RUNS:-3}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT:-$(mktemp -d /tmp/keytrail-spark-bench.XXXXXX)}
TOOLS=${TOOLS:-trace spark engine}

cargo build --release --locked --quiet --bin keytrail
BIN=$TARGET/release/keytrail
export SPARK_LOCAL_IP=127.0.0.1
SUBMIT=(spark-submit --master "local[2]" --driver-memory 2g --conf spark.ui.enabled=false)
CUTOFF=(--cutoff 2025-12-31T00:00:00Z)

wall() { # NAME COMMAND...: runs it, appends "NAME seconds" to $OUT/times
    local name=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || { local rc=$?; [[ $rc == 3 ]] || { cat "$OUT/$name.err" >&2; exit $rc; }; }
    t1=$(date +%s.%N)
    echo "$name $(echo "$t1 - $t0" | bc)" | tee -a "$OUT/times"
}

for round in $(seq 1 "$RUNS"); do
    for tool in $TOOLS; do
        case $tool in
        trace)
            rm -rf "$OUT/trace" && mkdir -p "$OUT/trace"
            wall trace "$BIN" trace -j2 -q --key "$KEY" "$CORPUS" -o "$OUT/trace/timeline.csv" \
                --report "$OUT/trace/report.json" --deny-policy "$OUT/trace/deny" "${CUTOFF[@]}" ;;
        spark)
            rm -rf "$OUT/spark" && mkdir -p "$OUT/spark"
            wall spark "${SUBMIT[@]}" contrib/spark/keytrail_spark.py --keytrail "$BIN" \
                --timings "$OUT/phases-$round.json" --work-dir "$OUT/work" \
                -q --key "$KEY" "$CORPUS" -o "$OUT/spark/timeline.csv" \
                --report "$OUT/spark/report.json" --deny-policy "$OUT/spark/deny" "${CUTOFF[@]}" ;;
        engine)
            wall engine "${SUBMIT[@]}" contrib/spark/engine_parse.py --key "$KEY" \
                --timings "$OUT/engine-$round.json" "$CORPUS/AWSLogs" ;;
        esac
    done
done

if [[ " $TOOLS " == *" trace "* && " $TOOLS " == *" spark "* ]]; then
    cmp "$OUT/trace/timeline.csv" "$OUT/spark/timeline.csv"
    diff -r "$OUT/trace/deny" "$OUT/spark/deny"
    strip='del(.inputs.rereads, .inputs.bytes_read)'
    diff <(jq -S "$strip" "$OUT/trace/report.json") <(jq -S "$strip" "$OUT/spark/report.json")
    echo "outputs: identical (report but for rereads and bytes_read)"
fi
echo "--- medians (s)"
for tool in $TOOLS; do
    printf '%s %s\n' "$tool" "$(awk -v t="$tool" '$1 == t {print $2}' "$OUT/times" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
echo "--- driver phases (s), one line a run"
for f in "$OUT"/phases-*.json; do [[ -f $f ]] && jq -c . "$f"; done
echo "--- engine job, one line a run"
for f in "$OUT"/engine-*.json; do [[ -f $f ]] && jq -c 'del(.keys)' "$f"; done
[[ -f $OUT/trace/report.json ]] && jq -c '{credentials: (.credentials | length), inputs: .inputs | {files_listed, files_read, rereads, bytes_read, records}}' "$OUT/trace/report.json"
echo "outputs in $OUT"

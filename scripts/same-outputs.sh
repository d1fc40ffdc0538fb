#!/usr/bin/env bash
# Proves a change of structure changed no behaviour: runs two keytrail
# binaries on the same inputs and compares every output byte for byte
# (timeline as CSV, JSONL and Parquet, the JSON report, the Markdown report,
# the DOT graph and the deny-policy folder), at one thread and at two. At two
# threads the report's `rereads` and `bytes_read` are left out: they count
# work whose amount depends on how the workers interleave.
#
#   scripts/same-outputs.sh BEFORE_BIN AFTER_BIN [SOURCE KEY]...
#
# Without SOURCE KEY pairs it compares on the bundled incident, the broken
# fixtures and, when present, the benchmark corpus (bench-corpus/, with the
# seed key its ground truth names). The cut-off is fixed, so the outputs do
# not depend on the time of the run. Exit 0 when every output is identical.
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -ge 2 ]] || { sed -n '2,12p' "$0" >&2; exit 2; }
before=$1 after=$2
shift 2
cases=("$@")
if [[ ${#cases[@]} -eq 0 ]]; then
    cases=(fixtures/incident AKIAEXAMPLESEED00001 fixtures/broken AKIAEXAMPLESEED00001)
    truth=${CORPUS:-bench-corpus}/ground-truth.json
    if [[ -f $truth ]]; then
        cases+=("$(dirname "$truth")/AWSLogs" "$(jq -r '.seed_keys[0] // .seed_key' "$truth")")
    fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for ((i = 0; i < ${#cases[@]}; i += 2)); do
    source=${cases[i]} key=${cases[i + 1]}
    for threads in 1 2; do
        for which in before after; do
            bin=$before
            [[ $which == after ]] && bin=$after
            out=$work/$which
            rm -rf "$out" && mkdir -p "$out"
            status=0
            "$bin" trace --key "$key" "$source" -j "$threads" -q --force \
                --cutoff 2025-12-09T00:00:00Z \
                -o "$out/timeline.csv" --report "$out/report.json" \
                --summary-md "$out/summary.md" --graph "$out/graph.dot" \
                --deny-policy "$out/deny" 2>"$out/stderr" || status=$?
            echo "$status" >"$out/status"
            for format in jsonl parquet; do
                "$bin" trace --key "$key" "$source" -j "$threads" -q --force \
                    --cutoff 2025-12-09T00:00:00Z -o "$out/timeline.$format" 2>/dev/null || true
            done
            # keytrail names its own version in the reports and apply.sh.
            "$bin" --version >"$out/version" 2>&1 || true
        done
        if [[ $threads -gt 1 ]]; then
            # How many files a key learned mid-file sends back for a re-read
            # depends on how the workers interleave: at -j2 these two counts
            # of work done vary from run to run of the same binary.
            sed -i -E '/"(rereads|bytes_read)": /d' "$work"/{before,after}/report.json
        fi
        if diff -r "$work/before" "$work/after" >"$work/diff"; then
            echo "same: $source -j$threads ($(ls "$work/after" | wc -l) outputs, exit $(cat "$work/after/status"))"
        else
            echo "DIFFERENT: $source -j$threads" >&2
            head -40 "$work/diff" >&2
            failed=1
        fi
    done
done
exit $failed

#!/bin/sh
# Builds the libFuzzer harnesses (fuzz/Package.swift, `swift build
# --sanitize=fuzzer`) and runs each for SECONDS (default 40) of fuzzing,
# seeded from the shipped data. Prints, per harness, the executions, the
# coverage (libFuzzer's cov: edges and ft: features), the corpus and the
# result, and exits 1 if any harness crashed, hung or broke a property.
#
#   fuzz/run.sh [SECONDS] [HARNESS...]
#
# The corpora grow in fuzz/.build/corpus/HARNESS ($FUZZ_CORPUS to move
# them); a crash's input is saved as fuzz/.build/artifacts/HARNESS-crash-*
# and replays with `fuzz/.build/debug/HARNESS FILE`.
set -eu
cd "$(dirname "$0")"
seconds=${1:-40}
[ $# -gt 0 ] && shift
harnesses=${*:-FuzzKernelParsers FuzzAttributeStores FuzzTopology FuzzResumeStream}
corpora=${FUZZ_CORPUS:-.build/corpus}
artifacts=.build/artifacts

swift build --sanitize=fuzzer
mkdir -p "$artifacts" "$corpora"
# libFuzzer's own handler must see the crash to save the input.
export SWIFT_BACKTRACE=enable=no

failed=0
summary=""
for h in $harnesses; do
    case $h in
        FuzzKernelParsers|FuzzAttributeStores) dict="-dict=dictionaries/sysfs.dict" ;;
        FuzzTopology) dict="-dict=dictionaries/topology.dict" ;;
        *) dict="" ;;
    esac
    corpus=$corpora/$h
    log=.build/$h.log
    mkdir -p "$corpus"
    rm -f "$artifacts/$h-"*
    echo "== $h: ${seconds}s"
    status=0
    # shellcheck disable=SC2086
    FUZZ_SEED_DIR=$corpus ".build/debug/$h" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$h-" $dict "$corpus" > "$log" 2>&1 || status=$?
    runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -1)
    # A run that stopped early (crash) has no "Done" line: its last count.
    [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1 runs/p' "$log" | tail -1)
    stats=$(grep -E '^#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|pulse|INITED)' "$log" | tail -1 \
        | sed -n 's/.*\(cov: [0-9]*\) \(ft: [0-9]*\) \(corp: [0-9]*\/[0-9a-zA-Z]*\).*/\1 \2 \3/p')
    crashes=$(ls "$artifacts/$h-"* 2>/dev/null | wc -l)
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ] || ! grep -q '^Done ' "$log"; then
        failed=1
        result="FAILED (exit $status, $crashes saved inputs)"
        grep -E 'property violated|ERROR: libFuzzer|Fatal error|SUMMARY|Test unit written' "$log" | head -10 || true
        echo "   log: fuzz/$log"
    else
        result="0 crashes"
    fi
    line="$h: ${runs:-no runs}, ${stats:-no stats}, $result"
    echo "   $line"
    summary="$summary$line
"
done
echo "== fuzz summary"
printf '%s' "$summary"
exit $failed

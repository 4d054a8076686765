#!/usr/bin/env bash
# exec's start-up and shutdown alone: `exec -- true` on the default and the
# 65,536-queue host against `umockdev-run -- true` and `unshare -m true`,
# in interleaved rounds (medians), as bench/run.sh's exec rows but in a
# minute. BASELINE=/path/to/an/older/vfio-ap-sim adds its rows, for a
# before/after in the same run. Usage: bench/exec.sh [ROUNDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
RUNS=${2:-10}
SIM=${VFIO_AP_SIM:-.build/release/vfio-ap-sim}
[[ -x $SIM ]] || { echo "build first: swift build -c release" >&2; exit 2; }
echo "machine: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: bench/exec.sh $ROUNDS $RUNS ($(date -u +%F))${BASELINE:+, BASELINE=$BASELINE}"
echo
python3 - "$ROUNDS" "$RUNS" "$SIM" "${BASELINE:-}" <<'PY'
import statistics, subprocess, sys, time
rounds, k, sim, base = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
large = "demo/topologies/large.yaml"
def runs(cmd, k=k):
    t = time.perf_counter()
    for _ in range(k): subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t) / k
figures = {"exec -- true": [sim, "exec", "--", "true"],
           "exec -- true, 65,536-queue host": [sim, "exec", "--topology", large, "--", "true"]}
if base:
    figures["BASELINE exec -- true"] = [base, "exec", "--", "true"]
    figures["BASELINE exec -- true, 65,536-queue host"] = [base, "exec", "--topology", large, "--", "true"]
figures["umockdev-run -- true"] = ["umockdev-run", "--", "true"]
figures["unshare -m true"] = ["unshare", "-m", "true"]
samples = {f: [] for f in figures}
for _ in range(rounds):
    for f, cmd in figures.items(): samples[f].append(runs(cmd, k=max(1, k // 4) if "65,536" in f else k))
med = {f: statistics.median(v) for f, v in samples.items()}
umock = med["umockdev-run -- true"]
print("| figure | median | ratio |")
print("|---|---|---|")
for f, v in med.items():
    ratio = "" if f.startswith(("umockdev", "unshare")) or "65,536" in f else f"{v / umock:.2f}x the time of umockdev-run -- true"
    print(f"| {f} | {v * 1000:.1f} ms | {ratio} |")
PY

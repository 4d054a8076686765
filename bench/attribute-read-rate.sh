#!/usr/bin/env bash
# Open-read-close rate of emulated attributes against a real kernel sysfs
# attribute and a tmpfs file, measured in the same run (python3 loop, as
# design.md's baselines). Usage: bench/attribute-read-rate.sh [N]
# Needs a release build (swift build -c release), root and /dev/fuse.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
SIM=${VFIO_AP_SIM:-.build/release/vfio-ap-sim}
[[ -x $SIM ]] || { echo "build first: swift build -c release" >&2; exit 2; }
WORK=$(mktemp -d)
export VFIO_AP_SIM_RUNTIME_DIR=$WORK/run
mkdir -p "$WORK/mnt"
"$SIM" mount --name bench "$WORK/mnt" > "$WORK/ready" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [[ -s $WORK/ready ]] && break; sleep 0.1; done
python3 - "$N" "$WORK/mnt" <<'PY'
import os, sys, time, tempfile
n, mnt = int(sys.argv[1]), sys.argv[2]
def rate(path):
    t = time.perf_counter()
    for _ in range(n):
        fd = os.open(path, os.O_RDONLY); os.read(fd, 4096); os.close(fd)
    return n / (time.perf_counter() - t)
ref = tempfile.NamedTemporaryFile(dir="/dev/shm" if os.path.isdir("/dev/shm") else None, delete=False)
ref.write(b"0x" + b"f" * 64 + b"\n"); ref.close()
real = next(p for p in ["/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/profiling", "/sys/power/state"] if os.path.exists(p))
results = [("kernel sysfs " + real, rate(real)), ("tmpfs file", rate(ref.name)),
           ("emulated bus/ap/apmask", rate(mnt + "/bus/ap/apmask")),
           ("emulated devices/ap/card05/05.0004/config", rate(mnt + "/devices/ap/card05/05.0004/config"))]
os.unlink(ref.name)
base = results[0][1]
for name, r in results:
    print(f"{name:55s} {r:10.0f} reads/s  {r / base:6.3f}x kernel sysfs")
PY

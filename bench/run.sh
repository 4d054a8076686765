#!/usr/bin/env bash
# The performance figures of docs/PERFORMANCE.md, each against references
# measured in the same run, in interleaved rounds (medians of the rounds).
# Usage: bench/run.sh [ROUNDS] [N]   (root, /dev/fuse, a release build:
# swift build -c release; umockdev from Debian for its test bed).
# Writes docs/PERFORMANCE.md's table to stdout; never writes the machine's /sys.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
N=${2:-5000}
SIM=${VFIO_AP_SIM:-.build/release/vfio-ap-sim}
[[ -x $SIM ]] || { echo "build first: swift build -c release" >&2; exit 2; }
WORK=$(mktemp -d /tmp/vfio-ap-sim-bench.XXXXXX)
# The tmpfs references (a file, and a mirror of 65,792 links that a few
# dozen runs left behind would fill /dev/shm's inodes with), removed at the end.
SHM=$(mktemp -d /dev/shm/vfio-ap-sim-bench.XXXXXX)
export VFIO_AP_SIM_RUNTIME_DIR=$WORK/run
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK" "$SHM"
}
trap cleanup EXIT
start() { # name mode [topology] [state]
    mkdir -p "$WORK/$1"
    local extra=()
    [[ -n ${3:-} ]] && extra=(--topology "$3")
    [[ -n ${4:-} ]] && extra+=(--state "$WORK/$1.state")
    local t0; t0=$(date +%s%N)
    "$SIM" mount --name "$1" --kernel-cache "$2" "${extra[@]}" "$WORK/$1" > "$WORK/$1.ready" &
    PIDS+=($!)
    for _ in $(seq 600); do [[ -s $WORK/$1.ready ]] && break; sleep 0.01; done
    echo $(( ($(date +%s%N) - t0) / 1000000 )) > "$WORK/$1.ms"
}
start off off; start names names; start pages pages; start noopen no-open
start large names demo/topologies/large.yaml
# The same two, their reader sleeping at once (no polling of /dev/fuse).
VFIO_AP_SIM_SPIN_US=0 start nospin names
VFIO_AP_SIM_SPIN_US=0 start largenospin names demo/topologies/large.yaml
start state names "" state; start largestate names demo/topologies/large.yaml state
# 20,000 mdevs, one APQN each, on the large host: generated, never committed.
python3 bench/generate-mdevs.py 20000 "$WORK/mdevs20000.yaml"
start mdevs20000 names "$WORK/mdevs20000.yaml"
echo "machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "command: bench/run.sh $ROUNDS $N ($(date -u +%F))"
echo
LARGE_PID=${PIDS[4]}
python3 - "$ROUNDS" "$N" "$WORK" "$SIM" "$LARGE_PID" "$SHM" <<'PY'
import os, sys, time, statistics, subprocess
rounds, n, work, sim, large_pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def reads(path, k=n):
    t = time.perf_counter()
    for _ in range(k):
        fd = os.open(path, os.O_RDONLY); os.read(fd, 4096); os.close(fd)
    return k / (time.perf_counter() - t)
def stats(path, k=n):
    t = time.perf_counter()
    for _ in range(k): os.stat(path)
    return k / (time.perf_counter() - t)
def writes(path, values, k=n // 2):
    t = time.perf_counter()
    for i in range(k):
        fd = os.open(path, os.O_WRONLY); os.write(fd, values[i % 2]); os.close(fd)
    return k / (time.perf_counter() - t)
def toggles(mdev, k=n // 20):
    # assign_domain then unassign_domain: every write changes the host (a save each).
    paths = [mdev + "/assign_domain", mdev + "/unassign_domain"]
    t = time.perf_counter()
    for i in range(k):
        fd = os.open(paths[i % 2], os.O_WRONLY); os.write(fd, b"4"); os.close(fd)
    return k / (time.perf_counter() - t)
def runs(cmd, k=20):
    t = time.perf_counter()
    for _ in range(k): subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t) / k
shm = sys.argv[6]
tmpfs = shm + "/apmask"; open(tmpfs, "w").write("0x" + "f" * 64 + "\n")
kern = next(p for p in ["/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/profiling", "/sys/power/state"] if os.path.exists(p))
umock = work + "/umockdev-read.py"
open(umock, "w").write(f"""import os, sys, time
d = os.environ['UMOCKDEV_DIR'] + '/sys/bus/ap'; os.makedirs(d, exist_ok=True)
open(d + '/apmask', 'w').write('0x' + 'f' * 64 + '\\n')
t = time.perf_counter()
for _ in range({n}):
    fd = os.open('/sys/bus/ap/apmask', os.O_RDONLY); os.read(fd, 4096); os.close(fd)
print({n} / (time.perf_counter() - t))
""")
# A kernel sysfs attribute write that touches nothing of the machine: the
# ifalias of the loopback device of a network namespace of our own, through
# a sysfs mounted in a private mount namespace.
kwrite = work + "/kernel-write.py"
open(kwrite, "w").write(f"""import os, sys, time
p = sys.argv[1]
t = time.perf_counter()
for i in range({n // 2}):
    fd = os.open(p, os.O_WRONLY); os.write(fd, b'a' if i % 2 else b'b'); os.close(fd)
print({n // 2} / (time.perf_counter() - t))
""")
os.mkdir(work + "/netns-sys")
def kernel_writes():
    return float(subprocess.run(["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c",
        f"mount -t sysfs sysfs {work}/netns-sys && python3 {kwrite} {work}/netns-sys/class/net/lo/ifalias"],
        check=True, capture_output=True, text=True).stdout)
def engine(*args):
    # One round of an in-process engine figure (vfio-ap-sim __bench-engine):
    # its lines are "name milliseconds".
    out = subprocess.run([sim, "__bench-engine", *args, "--rounds", "1"], check=True, capture_output=True, text=True).stdout
    return {l.split()[0]: float(l.split()[1]) for l in out.splitlines()}
booted = {}
def boot_ms(topology):
    booted.update(engine("boot", "--topology", topology))
    return booted["decode"] + booted["build"]
migration = {}
def migration_ms(way, socket=False):
    # save and resume come from one run; the save figure's call makes it.
    # Through the control socket a write is 16 KiB: a request line is at
    # most 64 KiB, and a 32 KiB write's hex is 64 KiB and its words.
    extra = ["--control-socket", "--write-size", "16384"] if socket else []
    if way == "save": migration[socket] = engine("migration", "--topology", "demo/topologies/large.yaml", *extra)
    return migration[socket][way]
def umockdev_reads(): return float(subprocess.run(["umockdev-run", "--", "python3", umock], check=True, capture_output=True, text=True).stdout)
# A tmpfs mirror of the large host's bus/ap/devices (same symlinks).
large = work + "/large"
mirror = shm + "/devices"; os.mkdir(mirror)
for e in os.listdir(large + "/bus/ap/devices"): os.symlink(os.readlink(large + "/bus/ap/devices/" + e), mirror + "/" + e)
def ls(path): return runs(["ls", "-l", path], k=1)
def find(path): return runs(["find", path], k=1)
m = lambda mode: work + "/" + mode
uuid = "62177883-f1bb-47f0-914d-32a22e3a8804"
for mode in ["off", "names", "nospin", "noopen", "state", "largestate"]:
    open(m(mode) + "/bus/ap/apmask", "w").write("-5,-6")
    open(m(mode) + "/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create", "w").write(uuid)
figures = {
    "open-read-close bus/ap/apmask, caches off": lambda: reads(m("off") + "/bus/ap/apmask"),
    "open-read-close bus/ap/apmask, names (default)": lambda: reads(m("names") + "/bus/ap/apmask"),
    "open-read-close bus/ap/apmask, names, VFIO_AP_SIM_SPIN_US=0": lambda: reads(m("nospin") + "/bus/ap/apmask"),
    "open-read-close bus/ap/apmask, pages": lambda: reads(m("pages") + "/bus/ap/apmask"),
    "open-read-close bus/ap/apmask, no-open": lambda: reads(m("noopen") + "/bus/ap/apmask"),
    "open-read-close queue config, names": lambda: reads(m("names") + "/devices/ap/card05/05.0004/config"),
    "open-read-close queue config, no-open": lambda: reads(m("noopen") + "/devices/ap/card05/05.0004/config"),
    "open-read-close mdev matrix, no-open": lambda: reads(m("noopen") + f"/devices/vfio_ap/matrix/{uuid}/matrix"),
    "kernel sysfs attribute (" + kern + ")": lambda: reads(kern),
    "tmpfs file": lambda: reads(tmpfs),
    "umockdev test bed (LD_PRELOAD)": umockdev_reads,
    "stat bus/ap/devices/05.0004, caches off": lambda: stats(m("off") + "/bus/ap/devices/05.0004"),
    "stat bus/ap/devices/05.0004, names": lambda: stats(m("names") + "/bus/ap/devices/05.0004"),
    "stat bus/ap/devices/05.0004, no-open": lambda: stats(m("noopen") + "/bus/ap/devices/05.0004"),
    "stat kernel /sys/bus/cpu/devices/cpu0": lambda: stats("/sys/bus/cpu/devices/cpu0"),
    "write assign/unassign_domain, caches off": lambda: writes(m("off") + f"/devices/vfio_ap/matrix/{uuid}/assign_domain", [b"4", b"4"]),
    "write assign/unassign_domain, names": lambda: writes(m("names") + f"/devices/vfio_ap/matrix/{uuid}/assign_domain", [b"4", b"4"]),
    "write assign/unassign_domain, names, VFIO_AP_SIM_SPIN_US=0": lambda: writes(m("nospin") + f"/devices/vfio_ap/matrix/{uuid}/assign_domain", [b"4", b"4"]),
    "write assign/unassign_domain, no-open": lambda: writes(m("noopen") + f"/devices/vfio_ap/matrix/{uuid}/assign_domain", [b"4", b"4"]),
    "write kernel sysfs attribute (ifalias of a private netns's lo)": kernel_writes,
    "write assign then unassign_domain, names": lambda: toggles(m("names") + f"/devices/vfio_ap/matrix/{uuid}"),
    "write assign then unassign_domain, --state (a save each)": lambda: toggles(m("state") + f"/devices/vfio_ap/matrix/{uuid}"),
    "write assign then unassign_domain, 65,536-queue host, --state": lambda: toggles(m("largestate") + f"/devices/vfio_ap/matrix/{uuid}"),
    "write tmpfs file": lambda: writes(tmpfs, [b"1", b"0"]),
    "exec -- true (s)": lambda: 1 / runs([sim, "exec", "--", "true"]),
    "exec -- true, 65,536-queue host (s)": lambda: 1 / runs([sim, "exec", "--topology", "demo/topologies/large.yaml", "--", "true"], k=5),
    "umockdev-run -- true (s)": lambda: 1 / runs(["umockdev-run", "--", "true"]),
    "unshare -m true (s)": lambda: 1 / runs(["unshare", "-m", "true"]),
    "ls -l bus/ap/devices, 65,536-queue host (s)": lambda: 1 / ls(large + "/bus/ap/devices"),
    "ls -l bus/ap/devices, 65,536-queue host, VFIO_AP_SIM_SPIN_US=0 (s)": lambda: 1 / ls(work + "/largenospin/bus/ap/devices"),
    "ls -l tmpfs mirror of it (s)": lambda: 1 / ls(mirror),
    "boot in-process (decode + build), default host (ms)": lambda: boot_ms("Sources/APCore/Topologies/default.yaml"),
    "boot in-process (decode + build), 65,536-queue host (ms)": lambda: boot_ms("demo/topologies/large.yaml"),
    "boot in-process (decode + build), 20,000 mdevs on it (ms)": lambda: boot_ms(work + "/mdevs20000.yaml"),
    "remove of the middle one of the 20,000 mdevs, in-process (ms)": lambda: booted["remove"],
    "save (STOP_COPY + read) of a 65,536-APQN guest (ms)": lambda: migration_ms("save"),
    "resume + validation (RESUMING + 32 KiB writes) of it (ms)": lambda: migration_ms("resume"),
    "save of it through the control socket (migration save's path) (ms)": lambda: migration_ms("save", True),
    "resume + validation through the control socket, 16 KiB writes (ms)": lambda: migration_ms("resume", True),
}
samples = {k: [] for k in figures}
for r in range(rounds):
    for k, f in figures.items(): samples[k].append(f())
med = {k: statistics.median(v) for k, v in samples.items()}
kernel_read = med["kernel sysfs attribute (" + kern + ")"]
umd = med["umockdev test bed (LD_PRELOAD)"]
print("| figure | median | ratio |")
print("|---|---|---|")
for k, v in med.items():
    if k.endswith("(ms)"):
        print(f"| {k[:-5]} | {v:,.1f} ms | |")
    elif k.endswith("(s)"):
        ref = {"exec -- true (s)": "umockdev-run -- true (s)", "ls -l bus/ap/devices, 65,536-queue host (s)": "ls -l tmpfs mirror of it (s)",
               "ls -l bus/ap/devices, 65,536-queue host, VFIO_AP_SIM_SPIN_US=0 (s)": "ls -l tmpfs mirror of it (s)"}.get(k)
        ratio = f"{(1 / v) / (1 / med[ref]):.2f}x the time of {ref[:-4]}" if ref else ""
        print(f"| {k[:-4]} | {1 / v:.3f} s | {ratio} |")
    elif k.startswith("write"):
        kw = med["write kernel sysfs attribute (ifalias of a private netns's lo)"]
        print(f"| {k} | {v:,.0f}/s | {v / kw:.3f}x kernel sysfs write, {v / med['write tmpfs file']:.3f}x tmpfs |")
    elif k.startswith("stat"):
        print(f"| {k} | {v:,.0f}/s | {v / med['stat kernel /sys/bus/cpu/devices/cpu0']:.3f}x kernel sysfs |")
    else:
        print(f"| {k} | {v:,.0f}/s | {v / kernel_read:.3f}x kernel sysfs, {v / umd:.3f}x umockdev |")
for mode in ["off", "names", "nospin", "pages", "noopen", "large", "largenospin", "state", "largestate", "mdevs20000"]:
    print(f"| mount ready, {mode} host | {open(work + '/' + mode + '.ms').read().strip()} ms | |")
# Once, at the end: a walk of the whole large tree, the server's memory
# before and after it, and an mdev removal after it.
def rss(): return next(int(l.split()[1]) for l in open(f"/proc/{large_pid}/status") if l.startswith("VmRSS")) / 1024
def walk(tree):
    t = time.perf_counter(); count = subprocess.run(["find", tree], check=True, capture_output=True).stdout.count(b"\n")
    return count, time.perf_counter() - t
before = rss()
entries, walk_nospin = walk(work + "/largenospin")
entries, walk_time = walk(large)
after = rss()
big = "aaaaaaaa-0000-4000-8000-000000000001"
open(large + "/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create", "w").write(big)
t = time.perf_counter(); open(large + f"/devices/vfio_ap/matrix/{big}/remove", "w").write("1")
removal = (time.perf_counter() - t) * 1000
print(f"| find of the large tree ({entries:,} entries) | {walk_time:.2f} s | |")
print(f"| find of the large tree, VFIO_AP_SIM_SPIN_US=0 | {walk_nospin:.2f} s | |")
print(f"| large host's resident memory, before / after the find | {before:.0f} / {after:.0f} MiB | |")
print(f"| echo 1 > remove after the find | {removal:.2f} ms | |")
PY

# Shared by the demo scripts (sourced, not run). Each script gets:
#   - the vfio-ap-sim binary ($VFIO_AP_SIM, else .build/debug, .build/release
#     or .build-e2e/debug under the repo root, else vfio-ap-sim on PATH),
#     callable as `vfio-ap-sim ...`;
#   - a private temporary directory ($WORK) holding the control sockets
#     ($VFIO_AP_SIM_RUNTIME_DIR) and the mount points, removed on exit;
#   - start_host NAME TOPOLOGY: a foreground `vfio-ap-sim mount` in the
#     background at $WORK/NAME, waited for until its ready line; stopped with
#     SIGTERM (which unmounts) on exit (start_migration_hosts: src and dst);
#   - run CMD...: print `$ CMD` and run it;
#   - show_host NAME: print the host's AP matrix (`vfio-ap-sim show`) after a
#     step; show_cell NAME APQN: one cell of it (`A*`, `host`, ...), to check;
#   - migrate_capture SRC DST GUEST: run `vfio-ap-sim migrate`, keeping its
#     status, stdout and stderr in $MIGRATE_RC, $WORK/migrate.out, $WORK/migrate.err;
#   - check_* helpers that record failures; finish exits 1 if any failed.

DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$DEMO_DIR")
TOPOLOGIES="$DEMO_DIR/topologies"
UUID=62177883-f1bb-47f0-914d-32a22e3a8804

find_simulator() {
    if [[ -n "${VFIO_AP_SIM:-}" ]]; then
        [[ -x "$VFIO_AP_SIM" ]] || { echo "VFIO_AP_SIM=$VFIO_AP_SIM is not executable" >&2; exit 2; }
        return
    fi
    local candidate
    for candidate in "$REPO_DIR/.build/debug/vfio-ap-sim" "$REPO_DIR/.build/release/vfio-ap-sim" \
                     "$REPO_DIR/.build-e2e/debug/vfio-ap-sim"; do
        if [[ -x "$candidate" ]]; then VFIO_AP_SIM=$candidate; return; fi
    done
    if VFIO_AP_SIM=$(command -v vfio-ap-sim); then return; fi
    echo "vfio-ap-sim not found: run 'swift build' in $REPO_DIR first (or set VFIO_AP_SIM)" >&2
    exit 2
}
find_simulator

[[ -e /dev/fuse ]] || { echo "/dev/fuse is missing: the demos mount the emulated hosts through FUSE" >&2; exit 2; }

# Lets the printed commands read as a user would type them.
vfio-ap-sim() { "$VFIO_AP_SIM" "$@"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vfio-ap-demo.XXXXXX")
export VFIO_AP_SIM_RUNTIME_DIR="$WORK/run"
mkdir -p "$VFIO_AP_SIM_RUNTIME_DIR"
HOST_PIDS=()
HOST_DIRS=()
BACKGROUND_PIDS=()
FAILURES=0
PASSES=0

cleanup() {
    local status=$? pid dir
    set +e
    for pid in "${BACKGROUND_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${HOST_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${HOST_PIDS[@]}" "${BACKGROUND_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    for dir in "${HOST_DIRS[@]}"; do
        if mountpoint -q "$dir" 2>/dev/null; then
            fusermount3 -u -z "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null
        fi
        rmdir "$dir" 2>/dev/null
    done
    # Only remove the work directory once nothing is mounted below it.
    if ! grep -q " $WORK/" /proc/self/mountinfo 2>/dev/null; then rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '\n## %s\n' "$*"; }
note() { printf '   %s\n' "$@"; }

# run CMD...: show the command (as written, before expansion), then run it.
run() {
    printf '$ %s\n' "$*"
    eval "$*"
}

# show_host NAME: the picture of the host's AP matrix after a step (plain
# text when stdout is no terminal).
show_host() { run vfio-ap-sim show --host "$1"; }

# show_cell NAME APQN: what the cell of APQN says in the host's picture,
# drawn uncondensed: the word under the domain's column in the adapter's row.
show_cell() {
    "$VFIO_AP_SIM" show --host "$1" --condense never --color never | awk -v a="${2%%.*}" -v d="${2#*.}" '
        !head && /^ / { for (i = 1; i <= NF; i++) col[$i] = i + 1; head = 1; next }
        head && $1 == a { print ((d in col) ? $(col[d]) : "(no column " d ")"); found = 1; exit }
        END { if (!found) print "(no row " a ")" }'
}

# run_fails CMD...: like run, for a command that is expected to fail; its
# status goes to $RC instead of ending the script.
run_fails() {
    printf '$ %s\n' "$*"
    RC=0
    eval "$*" || RC=$?
    printf '   (exit status %s)\n' "$RC"
}

# start_host NAME TOPOLOGY: mount an emulated host at $WORK/NAME.
start_host() {
    local name=$1 topology=$2 dir="$WORK/$1" i
    mkdir -p "$dir"
    printf '$ vfio-ap-sim mount --topology %s --name %s %s &\n' "${topology#"$REPO_DIR"/}" "$name" "$dir"
    "$VFIO_AP_SIM" mount --topology "$topology" --name "$name" "$dir" >"$WORK/$name.mount.out" 2>&1 &
    HOST_PIDS+=($!)
    HOST_DIRS+=("$dir")
    for ((i = 0; i < 300; i++)); do
        if grep -q ready "$WORK/$name.mount.out" 2>/dev/null; then
            sed 's/^/   /' "$WORK/$name.mount.out"
            show_host "$name"
            return 0
        fi
        if ! kill -0 "${HOST_PIDS[-1]}" 2>/dev/null; then break; fi
        sleep 0.05
    done
    echo "host '$name' did not come up:" >&2
    cat "$WORK/$name.mount.out" >&2
    exit 1
}

# start_migration_hosts TITLE [TARGET-TOPOLOGY]: under the heading TITLE,
# the two hosts of the migration demos: src (migration-source.yaml) and dst
# (TARGET-TOPOLOGY, default migration-target.yaml); sets $SRC and $DST to
# their mount points.
start_migration_hosts() {
    say "$1"
    start_host src "$TOPOLOGIES/migration-source.yaml"
    start_host dst "$TOPOLOGIES/${2:-migration-target.yaml}"
    SRC="$WORK/src" DST="$WORK/dst"
}

# migrate_capture SRC DST GUEST: run the live migration, show what it printed.
migrate_capture() {
    printf '$ vfio-ap-sim migrate --from %s --to %s --guest %s\n' "$1" "$2" "$3"
    MIGRATE_RC=0
    "$VFIO_AP_SIM" migrate --from "$1" --to "$2" --guest "$3" >"$WORK/migrate.out" 2>"$WORK/migrate.err" || MIGRATE_RC=$?
    sed 's/^/   stdout| /' "$WORK/migrate.out"
    sed 's/^/   stderr| /' "$WORK/migrate.err"
    printf '   (exit status %s)\n' "$MIGRATE_RC"
    show_host "$1"
    show_host "$2"
}

# section TITLE-PREFIX: the lines of one `== ...` section of migrate's stdout,
# kernel-log timestamps ("[%5lu.%06lu] ") removed.
section() {
    awk -v want="== $1" '
        index($0, "== ") == 1 { on = (index($0, want) == 1); next }
        on { print }' "$WORK/migrate.out" | sed -E 's/^\[ *[0-9]+\.[0-9]{6}\] //'
}

pass() { printf '   ok: %s\n' "$1"; PASSES=$((PASSES + 1)); }
fail() { printf '   FAILED: %s\n' "$1"; FAILURES=$((FAILURES + 1)); }

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
    if [[ "$2" == "$3" ]]; then pass "$1"; else
        fail "$1"; printf '     expected: %s\n     actual:   %s\n' "$2" "$3"
    fi
}

# check_line WHAT EXPECTED-LINE TEXT: the text has a line equal to EXPECTED-LINE.
check_line() {
    if grep -qxF -- "$2" <<<"$3"; then pass "$1: $2"; else
        fail "$1: missing line: $2"; printf '%s\n' "$3" | sed 's/^/     | /'
    fi
}

# check_regex WHAT EXTENDED-REGEX TEXT: some line matches ^REGEX$.
check_regex() {
    if grep -qxE -- "$2" <<<"$3"; then pass "$1: /$2/"; else
        fail "$1: no line matches /$2/"; printf '%s\n' "$3" | sed 's/^/     | /'
    fi
}

# check_no_line WHAT FIXED-STRING TEXT: no line contains FIXED-STRING.
check_no_line() {
    if grep -qF -- "$2" <<<"$3"; then fail "$1: unexpected: $2"; else pass "$1"; fi
}

# The checks every failure row of the vfio-ap.rst table shares: exit status 1,
# virsh's console line, and the guest still running on the source with its
# mdev and not on the destination.
check_failed_migration() {
    local src=$1 dst=$2 guest=$3 console=$4
    check_eq "migrate exit status" 1 "$MIGRATE_RC"
    check_eq "console line (stderr)" "$console" "$(cat "$WORK/migrate.err")"
    check_line "guest still runs on the source" "$guest running $UUID" "$("$VFIO_AP_SIM" guest list --host "$src")"
    check_no_line "no guest left on the destination" "$guest " "$("$VFIO_AP_SIM" guest list --host "$dst")"
}

# The QEMU log lines of the table's "Sibling indicated error 1" rows, on both
# sides, in migrate's output and in the guests' QEMU logs.
check_qemu_logs() {
    local src=$1 dst=$2 guest=$3 out
    out=$(section "source host '$src' QEMU log")
    check_line "source QEMU log" "initiating migration" "$out"
    check_line "source QEMU log" "qemu-system-s390x: Sibling indicated error 1" "$out"
    out=$("$VFIO_AP_SIM" guest log --host "$src" "$guest")
    check_line "source guest's QEMU log (guest log)" "qemu-system-s390x: Sibling indicated error 1" "$out"
    out=$(section "destination host '$dst' QEMU log")
    check_line "destination QEMU log" "initiating migration" "$out"
    check_regex "destination QEMU log" 'qemu-system-s390x: error while loading state section id [0-9]+\(vfio\)' "$out"
    check_line "destination QEMU log" "shutting down, reason=failed" "$out"
    check_regex "destination QEMU log" 'terminating on signal 15 from pid [0-9]+ \(/usr/sbin/virtqemud\)' "$out"
}

# migrate_with_fewer_apqns_on SIDE TITLE REASON KERNEL-NOTE KERNEL-LINE QUEUE:
# the two vfio-ap.rst rows where the mdevs differ in their number of APQNs.
# SIDE (SRC or DST) gives up domain 0xab before g1 starts on src; migrating
# g1 to dst must then fail in the destination's load with REASON (strerror)
# on the console, the QEMU logs of those rows, KERNEL-LINE in the destination
# kernel log (KERNEL-NOTE: the table's wording of it), and the source's QUEUE
# still in use.
migrate_with_fewer_apqns_on() {
    local side=$1 title=$2 reason=$3 kernel_note=$4 kernel_line=$5 queue=$6
    local console="error: operation failed: job 'migration in' failed: load of migration failed: $reason"
    start_migration_hosts "$title"
    run "echo 0xab > \$$side/devices/vfio_ap/matrix/\$UUID/unassign_domain"
    run cat "\$$side/devices/vfio_ap/matrix/\$UUID/matrix"
    run vfio-ap-sim guest start --host src g1 '$UUID'
    show_host src
    # src's 05.00ab: back to vfio_ap unassigned when src gave 0xab up, else g1's.
    check_eq "picture: src 05.00ab" "$([[ $side == SRC ]] && echo vfio || echo 'A*')" "$(show_cell src 05.00ab)"
    run vfio-ap-sim migration data-size --host src '$UUID'

    say "Migrate"
    note "vfio-ap.rst, source host console log:"
    note "$console"
    note "destination kernel log: $kernel_note"
    migrate_capture src dst g1
    check_failed_migration src dst g1 "$console"
    check_qemu_logs src dst g1
    kernel=$(section "destination host 'dst' kernel log")
    check_line "destination kernel log" "vfio_ap_mdev $UUID: $kernel_line" "$kernel"
    check_eq "source queue $queue still in use" "in use" "$(cat "$SRC/devices/ap/card${queue%%.*}/$queue/status")"
}

finish() {
    echo
    if ((FAILURES == 0)); then
        echo "PASS: $(basename "$0"): all $PASSES checks passed"
    else
        echo "FAIL: $(basename "$0"): $FAILURES of $((PASSES + FAILURES)) checks failed"
        exit 1
    fi
}
